package main

import (
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/starling-analytics/starling/broker"
	"github.com/starling-analytics/starling/internal/cli"
)

// brokerFlags registers the built-in broker's settings.
func brokerFlags(fs *flag.FlagSet, c *broker.Config) {
	d := broker.Config{}.WithDefaults()
	fs.StringVar(&c.Addr, "broker-addr", d.Addr, "address the broker listens on for Kafka clients")
	fs.StringVar(&c.AdvertisedAddr, "broker-advertised-addr", "", "host:port clients are told to connect to (default: the listen address, 127.0.0.1 for an unspecified host)")
	fs.StringVar(&c.DataDir, "broker-data-dir", "data/broker", "directory for topic logs, topic metadata and group offsets")
	c.DefaultPartitions = d.DefaultPartitions
	fs.Var((*cli.Int32)(&c.DefaultPartitions), "broker-partitions", "partition count of auto-created topics")
	fs.DurationVar(&c.Retention, "broker-retention", d.Retention, "default retention.ms of topics: older segments are deleted (negative keeps forever)")
	fs.Int64Var(&c.RetentionBytes, "broker-retention-bytes", 0, "default retention.bytes per partition (0 = no size limit)")
	c.MaxMessageBytes = d.MaxMessageBytes
	fs.Var((*cli.Int32)(&c.MaxMessageBytes), "broker-max-message-bytes", "default max.message.bytes of topics: the largest record batch a producer may send")
	fs.Int64Var(&c.SegmentBytes, "broker-segment-bytes", d.SegmentBytes, "roll a partition's segment file at this size")
	fs.BoolVar(&c.SyncWrites, "broker-sync-writes", false, "fsync every produce before acknowledging it (survives power loss; slower)")
	fs.DurationVar(&c.FlushInterval, "broker-flush-interval", d.FlushInterval, "how often unsynced writes are fsynced when --broker-sync-writes is off")
	fs.IntVar(&c.MaxConnections, "broker-max-connections", d.MaxConnections, "open client connections at most; more are closed when accepted")
	fs.IntVar(&c.MaxConnectionsPerIP, "broker-max-connections-per-ip", d.MaxConnectionsPerIP, "open client connections at most from one IP address")
	fs.DurationVar(&c.IdleTimeout, "broker-idle-timeout", d.IdleTimeout, "close a connection that sends no request for this long")
	fs.DurationVar(&c.RequestTimeout, "broker-request-timeout", d.RequestTimeout, "a request must arrive, and its response be taken, within this long")
}

// brokerSecurityFlags are the listener's TLS and SASL settings.
type brokerSecurityFlags struct {
	certFile, keyFile, usersFile string
}

func (s *brokerSecurityFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&s.certFile, "broker-tls-cert", "", "PEM certificate: the broker listens with TLS (needs --broker-tls-key)")
	fs.StringVar(&s.keyFile, "broker-tls-key", "", "PEM private key of --broker-tls-cert")
	fs.StringVar(&s.usersFile, "broker-users-file", "", "file of name:password lines: clients must authenticate with SASL PLAIN or SCRAM-SHA-256/512")
}

// apply loads the files into the broker's Config.
func (s *brokerSecurityFlags) apply(c *broker.Config) error {
	if (s.certFile == "") != (s.keyFile == "") {
		return errors.New("--broker-tls-cert and --broker-tls-key go together")
	}
	if s.certFile != "" {
		cert, err := tls.LoadX509KeyPair(s.certFile, s.keyFile)
		if err != nil {
			return fmt.Errorf("broker TLS: %w", err)
		}
		c.TLS = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	}
	if s.usersFile != "" {
		users, err := broker.LoadUsers(s.usersFile)
		if err != nil {
			return err
		}
		c.Users = users
	}
	return nil
}

func runBroker(ctx context.Context, args []string, _, stderr io.Writer) error {
	fs := cli.NewFlagSet("starling broker", "Runs the built-in Kafka-compatible broker until interrupted.", stderr)
	var cfg broker.Config
	var lf cli.Log
	brokerFlags(fs, &cfg)
	var sec brokerSecurityFlags
	sec.register(fs)
	metricsAddr := fs.String("broker-metrics-addr", ":9308", "HTTP address serving the broker's Prometheus metrics at /metrics (empty: off)")
	logger, err := lf.Parse(fs, args, stderr)
	if err != nil {
		return err
	}
	cfg.Logger = logger.With("service", "broker")
	if err := sec.apply(&cfg); err != nil {
		return err
	}
	b, err := broker.New(cfg)
	if err != nil {
		return err
	}
	defer b.Close()
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return b.Serve(gctx, ln) })
	if *metricsAddr != "" {
		g.Go(func() error { return serveMetrics(gctx, *metricsAddr, b.MetricsHandler(), cfg.Logger) })
	}
	return g.Wait()
}

// serveMetrics serves a Prometheus handler at /metrics until ctx is done.
func serveMetrics(ctx context.Context, addr string, h http.Handler, log *slog.Logger) error {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", h)
	srv := &http.Server{Addr: addr, Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("metrics: listen: %w", err)
	}
	log.Info("metrics listening", "addr", ln.Addr().String())
	go func() {
		<-ctx.Done()
		srv.Close()
	}()
	if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("metrics: %w", err)
	}
	return nil
}
