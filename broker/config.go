// Package broker is Starling's built-in message broker: a single-node server that speaks the
// Kafka wire protocol, so the pipeline's kafka-go clients (and kcat, franz-go, sarama, Kafka's
// own tools) use it exactly as they would use Kafka or Amazon MSK.
//
// Topics are split into partitions; each partition is an ordered, append-only log of record
// batches kept in segment files on disk, exactly as producers sent them. Consumer groups are
// coordinated by the broker and their committed offsets survive restarts. Retention deletes
// whole old segments by time and size.
//
// Request and response codecs come from franz-go's kmsg; each Kafka API the broker answers has
// its own file, named after the API key, that states the versions it supports.
package broker

import (
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"time"
)

// Config configures a Broker. The zero value of each field means the documented default.
type Config struct {
	// Addr is the TCP address to listen on. Default ":9092".
	Addr string
	// AdvertisedAddr is the host:port clients are told to connect to in Metadata and
	// FindCoordinator answers. Default: Addr's host and the listening port, with an unspecified
	// host ("", "0.0.0.0", "::") replaced by "127.0.0.1".
	AdvertisedAddr string
	// DataDir holds the topics' logs, topic metadata and committed group offsets. Required.
	DataDir string
	// NodeID is the broker id reported to clients. Default 1.
	NodeID int32
	// DefaultPartitions is the partition count of auto-created topics. Default 3.
	DefaultPartitions int32
	// DisableAutoCreate refuses Metadata and Produce requests for unknown topics instead of
	// creating them.
	DisableAutoCreate bool
	// SegmentBytes rolls a partition's active segment when it would grow past this size.
	// Default 256 MiB.
	SegmentBytes int64
	// SegmentAge rolls a partition's active segment once it is this old (so that retention by
	// time can delete it). Default 24h.
	SegmentAge time.Duration
	// Retention is the default retention.ms of topics: segments whose newest record is older
	// are deleted. Default 7 days; negative means keep forever.
	Retention time.Duration
	// RetentionBytes is the default retention.bytes of each partition; negative or zero means
	// no size limit (the default).
	RetentionBytes int64
	// RetentionCheckInterval is how often the cleaner enforces retention. Default 5 minutes.
	RetentionCheckInterval time.Duration
	// SyncWrites fsyncs every produce before it is acknowledged (acks=1 and acks=all): an
	// acknowledged record then survives power loss. Without it, writes reach the OS page
	// cache before the acknowledgement (so survive a crash of the broker process) and are
	// fsynced every FlushInterval.
	SyncWrites bool
	// FlushInterval is how often unsynced writes are fsynced when SyncWrites is off.
	// Default 1s.
	FlushInterval time.Duration
	// MaxMessageBytes is the default max.message.bytes of topics: the largest record batch
	// (after compression) a producer may send; larger ones get MESSAGE_TOO_LARGE. Default
	// 1048588, as in Kafka.
	MaxMessageBytes int32
	// MaxRequestBytes caps one request's size; larger frames close the connection
	// (Kafka's socket.request.max.bytes). Default 100 MiB. A request's buffer grows as its
	// bytes arrive, not by the size it declares.
	MaxRequestBytes int32
	// MaxUnauthenticatedRequestBytes caps a request received before SASL authentication
	// (Kafka's sasl.server.max.receive.size), when Users is set. Default 512 KiB.
	MaxUnauthenticatedRequestBytes int32
	// MaxConnections bounds the open client connections; a connection past it is closed
	// as soon as it is accepted (Kafka's max.connections). Default 10000.
	MaxConnections int
	// MaxConnectionsPerIP bounds the open connections from one IP address (Kafka's
	// max.connections.per.ip). Default 1000.
	MaxConnectionsPerIP int
	// IdleTimeout closes a connection that sends no request for this long (Kafka's
	// connections.max.idle.ms); clients reconnect when they need to. Default 10 minutes.
	IdleTimeout time.Duration
	// RequestTimeout bounds the time from a request's first byte to its last, and the
	// time a response may take to be written: a client slower than that is disconnected
	// (a connection that trickles a byte at a time holds nothing for long). Default 30s.
	RequestTimeout time.Duration
	// TLS, when set, makes the listener speak TLS (clients use security.protocol SSL or
	// SASL_SSL).
	TLS *tls.Config
	// Users turns on SASL authentication (PLAIN, SCRAM-SHA-256, SCRAM-SHA-512) with these
	// user names and passwords (see LoadUsers); connections must authenticate before any
	// request but ApiVersions. Nil leaves the listener open.
	Users map[string]string
	// Now is the clock used for retention and segment age; nil means time.Now.
	Now func() time.Time
	// Logger receives the broker's logs; nil discards them.
	Logger *slog.Logger
}

// WithDefaults returns c with every zero field set to its default; the commands' flags
// show these defaults.
func (c Config) WithDefaults() Config {
	if c.Addr == "" {
		c.Addr = ":9092"
	}
	if c.NodeID == 0 {
		c.NodeID = 1
	}
	if c.DefaultPartitions == 0 {
		c.DefaultPartitions = 3
	}
	if c.SegmentBytes == 0 {
		c.SegmentBytes = 256 << 20
	}
	if c.SegmentAge == 0 {
		c.SegmentAge = 24 * time.Hour
	}
	if c.Retention == 0 {
		c.Retention = 7 * 24 * time.Hour
	}
	if c.RetentionCheckInterval == 0 {
		c.RetentionCheckInterval = 5 * time.Minute
	}
	if c.FlushInterval == 0 {
		c.FlushInterval = time.Second
	}
	if c.MaxMessageBytes == 0 {
		c.MaxMessageBytes = defaultMaxMessageBytes
	}
	if c.MaxRequestBytes == 0 {
		c.MaxRequestBytes = 100 << 20
	}
	if c.MaxUnauthenticatedRequestBytes == 0 {
		c.MaxUnauthenticatedRequestBytes = 512 << 10
	}
	if c.MaxConnections == 0 {
		c.MaxConnections = 10000
	}
	if c.MaxConnectionsPerIP == 0 {
		c.MaxConnectionsPerIP = 1000
	}
	if c.IdleTimeout == 0 {
		c.IdleTimeout = 10 * time.Minute
	}
	if c.RequestTimeout == 0 {
		c.RequestTimeout = 30 * time.Second
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c
}

// Validate reports the first setting that cannot work.
func (c Config) Validate() error {
	c = c.WithDefaults()
	if c.DataDir == "" {
		return errors.New("broker: a data directory is required")
	}
	if _, _, err := net.SplitHostPort(c.Addr); err != nil {
		return fmt.Errorf("broker: listen address %q: %w", c.Addr, err)
	}
	if c.AdvertisedAddr != "" {
		if _, port, err := net.SplitHostPort(c.AdvertisedAddr); err != nil {
			return fmt.Errorf("broker: advertised address %q: %w", c.AdvertisedAddr, err)
		} else if _, err := strconv.ParseUint(port, 10, 16); err != nil {
			return fmt.Errorf("broker: advertised address %q: bad port", c.AdvertisedAddr)
		}
	}
	if c.DefaultPartitions < 1 {
		return fmt.Errorf("broker: default partitions must be at least 1, not %d", c.DefaultPartitions)
	}
	if c.MaxConnections < 1 || c.MaxConnectionsPerIP < 1 {
		return fmt.Errorf("broker: connection limits must be at least 1 (total %d, per IP %d)", c.MaxConnections, c.MaxConnectionsPerIP)
	}
	if c.IdleTimeout < 0 || c.RequestTimeout < 0 {
		return errors.New("broker: idle and request timeouts cannot be negative")
	}
	if c.SegmentBytes < 1<<10 {
		return fmt.Errorf("broker: segment size %d is below 1 KiB", c.SegmentBytes)
	}
	return nil
}
