package main

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/starling-analytics/starling/broker"
	"github.com/starling-analytics/starling/dashboard"
	"github.com/starling-analytics/starling/etl"
	"github.com/starling-analytics/starling/ingest"
	"github.com/starling-analytics/starling/internal/cli"
	"github.com/starling-analytics/starling/internal/tweet"
	"github.com/starling-analytics/starling/warehouse"
	"github.com/starling-analytics/starling/warehouse/chlocal"
)

// runUp runs the whole pipeline in one process: the built-in broker, a local ClickHouse
// server (unless an address is given), the ETL, the ingester replaying the sample feed, and
// the dashboard. Ctrl-C stops everything.
func runUp(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := cli.NewFlagSet("starling up", "Runs the whole pipeline in one process on the sample feed: broker, ClickHouse (local server unless --clickhouse-addr is given), ETL, ingest and dashboard.", stderr)
	var bcfg broker.Config
	var icfg ingest.Config
	var ecfg etl.Config
	var dcfg dashboard.Config
	var inputs, addrs cli.List
	var lf cli.Log
	brokerFlags(fs, &bcfg)
	ingestFlags(fs, &icfg, &inputs)
	etlFlags(fs, &ecfg)
	dashboardFlags(fs, &dcfg, "127.0.0.1:8080")
	fs.Lookup("console-user").Usage += " (up: the local ClickHouse server's " + chlocal.ConsoleUser + " unless --clickhouse-addr is given)"
	fs.Var(&addrs, "clickhouse-addr", "ClickHouse native-protocol addresses; empty starts a local server from the clickhouse-server binary on PATH")
	whDefaults := warehouse.Config{}.WithDefaults()
	fs.StringVar(&ecfg.Warehouse.Database, "clickhouse-database", whDefaults.Database, "ClickHouse database holding Starling's tables")
	fs.StringVar(&ecfg.Warehouse.Username, "clickhouse-user", whDefaults.Username, "ClickHouse user")
	fs.StringVar(&ecfg.Warehouse.Password, "clickhouse-password", "", "ClickHouse password")
	clusterFlag(fs, &ecfg.Warehouse)
	chDir := fs.String("clickhouse-dir", "data/clickhouse", "data folder of the local ClickHouse server")
	chPort := fs.Int("clickhouse-port", 19000, "native-protocol port of the local ClickHouse server (0: a free one); clickhouse-client --port PORT reaches it")
	chHTTPPort := fs.Int("clickhouse-http-port", 18123, "HTTP port of the local ClickHouse server (0: a free one)")
	metricsAddr := fs.String("broker-metrics-addr", ":9308", "HTTP address serving the broker's Prometheus metrics at /metrics (empty: off)")
	etlMetricsAddr := fs.String("etl-metrics-addr", ":9310", "HTTP address serving the ETL's Prometheus metrics at /metrics (empty: off)")
	// up replays the feed continuously at a minute of feed time per second by default, and
	// a restarted up resumes the replay (the warehouse holds the tweets sent before: sent
	// again, they would only be recognised as duplicates).
	icfg.Speed, icfg.Loop = 60, true
	fs.Lookup("speed").DefValue, fs.Lookup("loop").DefValue = "60", "true"
	fs.Lookup("checkpoint").Usage += " (up: beside the broker's data folder, one per set of inputs, unless given)"
	logger, err := lf.Parse(fs, args, stderr)
	if err != nil {
		return err
	}
	rateReplacesSpeed(fs, &icfg)

	// The broker listens first, so that every client finds it.
	bcfg.Logger = logger.With("service", "broker")
	b, err := broker.New(bcfg)
	if err != nil {
		return err
	}
	defer b.Close()
	ln, err := net.Listen("tcp", bcfg.Addr)
	if err != nil {
		return fmt.Errorf("broker: listen: %w", err)
	}
	brokerAddr := ln.Addr().String()
	if host, port, _ := net.SplitHostPort(brokerAddr); net.ParseIP(host).IsUnspecified() {
		brokerAddr = net.JoinHostPort("127.0.0.1", port)
	}

	whCfg := ecfg.Warehouse
	whCfg.Addr = addrs
	if len(whCfg.Addr) == 0 && whCfg.Cluster != "" {
		ln.Close()
		return errors.New("up: --clickhouse-cluster needs --clickhouse-addr (up starts one local server, not a cluster)")
	}
	if len(whCfg.Addr) == 0 {
		if err := os.MkdirAll(*chDir, 0o755); err != nil {
			ln.Close()
			return err
		}
		for _, p := range []struct {
			flag string
			port int
		}{{"--clickhouse-port", *chPort}, {"--clickhouse-http-port", *chHTTPPort}} {
			if p.port == 0 {
				continue
			}
			taken, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(p.port)))
			if err != nil {
				ln.Close()
				return fmt.Errorf("up: port %d of the local ClickHouse is taken (another `starling up`, or a ClickHouse server?): give another with %s, or 0 for a free one", p.port, p.flag)
			}
			taken.Close()
		}
		srv, err := chlocal.Start(ctx, chlocal.Config{Dir: *chDir, TCPPort: *chPort, HTTPPort: *chHTTPPort, Logger: logger.With("service", "clickhouse")})
		if err != nil {
			ln.Close()
			if errors.Is(err, chlocal.ErrNotInstalled) {
				return fmt.Errorf("%w\n(or run `make run`, which installs it on Debian/Ubuntu)", err)
			}
			return err
		}
		defer srv.Close()
		whCfg.Addr = []string{srv.Addr()}
		if dcfg.ConsoleUser == "" {
			dcfg.ConsoleUser = chlocal.ConsoleUser
		}
		abs, _ := filepath.Abs(*chDir)
		logger.Info("local ClickHouse started", "addr", srv.Addr(), "data", abs)
	}
	whCfg.Logger = logger.With("service", "warehouse")
	if err := warehouse.MigrateWaiting(ctx, whCfg, 2*time.Minute); err != nil {
		ln.Close()
		return err
	}

	ecfg.Brokers, ecfg.Warehouse, ecfg.Logger = []string{brokerAddr}, whCfg, logger.With("service", "etl")
	icfg.Brokers, icfg.Inputs, icfg.Logger = []string{brokerAddr}, ingestInputs(&icfg, inputs), logger.With("service", "ingest")
	if icfg.Checkpoint == "" {
		icfg.Checkpoint = upCheckpoint(bcfg.DataDir, icfg)
	}
	dcfg.Warehouse, dcfg.Brokers, dcfg.Logger = whCfg, []string{brokerAddr}, logger.With("service", "dashboard")
	dcfg.Names = tweet.Names{Topic: ecfg.Topic, DLQTopic: ecfg.DLQTopic, Group: ecfg.GroupID, EntitiesGroup: ecfg.EntitiesGroup}
	e, err := etl.New(ecfg)
	if err != nil {
		ln.Close()
		return err
	}
	icfg.Topic, icfg.DLQTopic = ecfg.Topic, ecfg.DLQTopic // the ETL's
	in, err := ingest.New(icfg)
	if err != nil {
		ln.Close()
		return err
	}

	// The broker stops last, once its clients have stopped: the ETL's last flush and the
	// ingester's last acknowledgements need it.
	brokerCtx, stopBroker := context.WithCancel(context.WithoutCancel(ctx))
	brokerDone := make(chan error, 1)
	go func() { brokerDone <- b.Serve(brokerCtx, ln) }()
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error {
		select { // a broker that fails ends the pipeline
		case err := <-brokerDone:
			brokerDone <- err
			if err == nil {
				err = errors.New("the broker stopped")
			}
			return fmt.Errorf("broker: %w", err)
		case <-gctx.Done():
			return nil
		}
	})
	if *metricsAddr != "" {
		g.Go(func() error { return serveMetrics(gctx, *metricsAddr, b.MetricsHandler(), bcfg.Logger) })
	}
	if *etlMetricsAddr != "" {
		g.Go(func() error { return serveMetrics(gctx, *etlMetricsAddr, e.MetricsHandler(), ecfg.Logger) })
	}
	g.Go(func() error { return e.Run(gctx) })
	g.Go(func() error { return dashboard.Run(gctx, dcfg) })
	g.Go(func() error { return in.Run(gctx) })
	g.Go(func() error { reportLoad(gctx, logger.With("service", "up"), e); return nil })
	fmt.Fprintf(stdout, "Starling is up: dashboard http://localhost%s  broker %s  ClickHouse %v (database %s)\n",
		portOf(dcfg.Addr), brokerAddr, whCfg.Addr, whCfg.Database)
	if len(addrs) == 0 {
		_, port, _ := net.SplitHostPort(whCfg.Addr[0])
		fmt.Fprintf(stdout, "SQL: clickhouse-client --port %s -d %s   (tabs: http://localhost%s/?tab=models, ?tab=pipeline, ?tab=console)\n",
			port, whCfg.Database, portOf(dcfg.Addr))
	}
	fmt.Fprintln(stdout, "Press Ctrl-C to stop.")
	err = g.Wait()
	stopBroker()
	if berr := <-brokerDone; err == nil && berr != nil && !errors.Is(berr, context.Canceled) {
		err = berr
	}
	fmt.Fprintln(stdout, "Starling stopped.")
	return err
}

// upCheckpoint is where up keeps the replay's checkpoint: beside the broker's data folder,
// since it says what that broker was sent (a fresh broker folder starts the replay over),
// and named after the inputs, so that other inputs start their own.
func upCheckpoint(brokerDir string, c ingest.Config) string {
	h := fnv.New64a()
	fmt.Fprintf(h, "%q %d", c.Inputs, c.Generate)
	return filepath.Join(filepath.Dir(filepath.Clean(brokerDir)), fmt.Sprintf("ingest-%016x.checkpoint", h.Sum64()))
}

// reportLoad logs the ETL's loading rate every ten seconds.
func reportLoad(ctx context.Context, log interface{ Info(string, ...any) }, e *etl.ETL) {
	t := time.NewTicker(10 * time.Second)
	defer t.Stop()
	start, last := time.Now(), e.Stats()
	for {
		select {
		case <-ctx.Done():
			s := e.Stats()
			log.Info("pipeline totals", "loaded", s.Loaded, "dead_lettered", s.DeadLettered, "seconds", time.Since(start).Seconds(),
				"loaded_per_s", float64(s.Loaded)/time.Since(start).Seconds())
			return
		case <-t.C:
			s := e.Stats()
			log.Info("pipeline", "loaded", s.Loaded, "loaded_per_s", float64(s.Loaded-last.Loaded)/10, "duplicates", s.Duplicates,
				"withdrawn", s.Withdrawn, "dead_lettered", s.DeadLettered, "insert_errors", s.InsertErrors)
			last = s
		}
	}
}

func portOf(addr string) string {
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return addr
	}
	return ":" + port
}
