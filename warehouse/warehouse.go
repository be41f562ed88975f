// Package warehouse is Starling's ClickHouse warehouse. The ETL is its only writer; the
// dashboard and people writing SQL read it. Its files are grouped by who uses them:
//
//   - warehouse.go: the connection (Config, Open, DB), shared by all.
//   - schema*.go and migrations/: the schema and its migrations (starling migrate).
//   - load*.go: the write side, the ETL's: the tables it writes, each defined once
//     (load_tables.go), loading a batch exactly once (load.go), the duplicate check and
//     withdrawals (load_once.go), the rows (load_rows.go) and the entities.
//   - dashboard*.go: the dashboard's read model, its panels over a window and a filter.
//   - console*.go: the dashboard's SQL console, under a read-only user.
//
// The schema runs on ClickHouse 18.16, Debian's package, and on current releases: it
// sticks to their common subset (no DateTime64, Map, TTL, LowCardinality or window
// functions) and every INSERT names its columns, which 18.16 needs for the native batch
// protocol. clickhouse-go v2 speaks to 18.16 without special settings: the handshake
// settles on the server's protocol revision (54412 for 18.16.1) and the client leaves out
// what that revision lacks.
package warehouse

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"regexp"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/starling-analytics/starling/internal/retry"
	"github.com/starling-analytics/starling/warehouse/internal/chnative"
)

// Config says how to reach ClickHouse. Zero values are the documented defaults.
type Config struct {
	// Addr lists native-protocol addresses, host:port. Default ["127.0.0.1:9000"].
	Addr []string
	// Database holds Starling's tables; created when missing. Default "starling".
	Database string
	// Username and Password authenticate. Default user "default", empty password.
	Username string
	Password string
	// Cluster names a ClickHouse cluster (remote_servers) holding the warehouse on
	// replicated shards (cluster.go); Migrate creates the schema ON CLUSTER. Addr then
	// lists any of its servers. Empty: one server.
	Cluster string
	// DialTimeout bounds connecting. Default 5s.
	DialTimeout time.Duration
	// Logger receives warehouse logs; nil discards them.
	Logger *slog.Logger
}

var databaseName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,63}$`)

// WithDefaults returns c with every zero field set to its default; the commands' flags
// show these defaults.
func (c Config) WithDefaults() Config {
	if len(c.Addr) == 0 {
		c.Addr = []string{"127.0.0.1:9000"}
	}
	if c.Database == "" {
		c.Database = "starling"
	}
	if c.Username == "" {
		c.Username = "default"
	}
	if c.DialTimeout == 0 {
		c.DialTimeout = 5 * time.Second
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c
}

// Validate reports the first setting that cannot work.
func (c Config) Validate() error {
	c = c.WithDefaults()
	for _, a := range c.Addr {
		if _, port, err := net.SplitHostPort(a); err != nil || port == "" {
			return fmt.Errorf("warehouse: ClickHouse address %q is not host:port", a)
		}
	}
	if !databaseName.MatchString(c.Database) {
		return fmt.Errorf("warehouse: database name %q must be letters, digits and underscores", c.Database)
	}
	if c.Cluster != "" && !clusterName.MatchString(c.Cluster) {
		return fmt.Errorf("warehouse: cluster name %q must be letters, digits and underscores", c.Cluster)
	}
	if c.DialTimeout < 0 {
		return fmt.Errorf("warehouse: dial timeout %s is negative", c.DialTimeout)
	}
	return nil
}

// DB is an open warehouse connection pool.
type DB struct {
	cfg      Config
	conn     driver.Conn
	settings clickhouse.Settings // of every connection
	topo     *topology           // the cluster's servers; nil on one server
	native   *nativeWriter       // the INSERT path on one server; nil on a cluster
	blocks   blockClock          // the tweets table's block numbers over time (Throughput)
}

// OpenWaiting is Open, tried again with back-off (up to maxWait between attempts) until
// ClickHouse answers or ctx ends: for services that may start before the warehouse, or
// outlive its restarts. Each failure is logged as a warning.
func OpenWaiting(ctx context.Context, cfg Config, maxWait time.Duration) (*DB, error) {
	b := retry.Backoff{Max: maxWait}
	for {
		db, err := Open(ctx, cfg)
		if err == nil {
			return db, nil
		}
		if cfg.Logger != nil {
			cfg.Logger.Warn("warehouse not reachable; retrying", "err", err, "retry_in", b.Next())
		}
		if !b.Wait(ctx) {
			return nil, err
		}
	}
}

// MigrateWaiting waits up to within for ClickHouse (it may still be starting, or
// restarting) and applies the migrations. A migration cut short by a lost connection is
// applied again (they are idempotent); one ClickHouse refuses is an error.
func MigrateWaiting(ctx context.Context, cfg Config, within time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, within)
	defer cancel()
	b := retry.Backoff{First: 200 * time.Millisecond}
	for {
		db, err := OpenWaiting(ctx, cfg, 5*time.Second)
		if err != nil {
			return err
		}
		err = db.Migrate(ctx)
		db.Close()
		var ex *clickhouse.Exception
		if err == nil || errors.As(err, &ex) || ctx.Err() != nil {
			return err
		}
		if cfg.Logger != nil {
			cfg.Logger.Warn("migration cut short; trying again", "err", err, "retry_in", b.Next())
		}
		if !b.Wait(ctx) {
			return err
		}
	}
}

// Open connects to ClickHouse and creates the database if it is missing (on a cluster, ON
// CLUSTER: on every server). It does not migrate; call Migrate.
func Open(ctx context.Context, cfg Config) (*DB, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	db := &DB{cfg: cfg.WithDefaults()}
	cfg = db.cfg
	boot, err := clickhouse.Open(db.options(cfg.Addr, "default", nil, 8))
	if err != nil {
		return nil, fmt.Errorf("warehouse: open %v: %w", cfg.Addr, err)
	}
	defer boot.Close()
	if cfg.Cluster == "" {
		if err := boot.Exec(ctx, "CREATE DATABASE IF NOT EXISTS "+cfg.Database); err != nil {
			return nil, fmt.Errorf("warehouse: create database %s on %v: %w", cfg.Database, cfg.Addr, err)
		}
	} else {
		if db.topo, err = readTopology(ctx, boot, cfg.Addr, cfg.Cluster); err != nil {
			return nil, err
		}
		// ON CLUSTER waits for every server: only when the database is missing, so that a
		// process opening it while a server is down does not wait.
		var exists uint64
		if err := boot.QueryRow(ctx, "SELECT count() FROM system.databases WHERE name = ?", cfg.Database).Scan(&exists); err != nil {
			return nil, fmt.Errorf("warehouse: look for database %s on %v: %w", cfg.Database, cfg.Addr, err)
		}
		if exists == 0 {
			if err := boot.Exec(ctx, "CREATE DATABASE IF NOT EXISTS "+cfg.Database+" ON CLUSTER "+cfg.Cluster); err != nil {
				return nil, fmt.Errorf("warehouse: create database %s on cluster %s: %w", cfg.Database, cfg.Cluster, err)
			}
		}
	}
	if db.settings, err = sessionSettings(ctx, boot, cfg.Cluster != ""); err != nil {
		return nil, fmt.Errorf("warehouse: read settings on %v: %w", cfg.Addr, err)
	}
	if db.conn, err = clickhouse.Open(db.options(cfg.Addr, cfg.Database, db.settings, 8)); err != nil {
		return nil, fmt.Errorf("warehouse: open %v: %w", cfg.Addr, err)
	}
	if err := db.conn.Ping(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("warehouse: ping %v: %w", cfg.Addr, err)
	}
	if db.topo == nil {
		db.native = newNativeWriter(cfg.Addr, chnative.Options{
			Database:    cfg.Database,
			User:        cfg.Username,
			Password:    cfg.Password,
			Compress:    !allLoopback(cfg.Addr),
			DialTimeout: cfg.DialTimeout,
		}, cfg.Logger)
	}
	return db, nil
}

// options are the connection options of a pool to addrs.
func (db *DB) options(addrs []string, database string, settings clickhouse.Settings, conns int) *clickhouse.Options {
	// Blocks travel LZ4-compressed to a server across a network; to one on this machine,
	// compressing them would only cost both sides CPU (a twentieth of the ETL's time).
	var compression *clickhouse.Compression
	if !allLoopback(addrs) {
		compression = &clickhouse.Compression{Method: clickhouse.CompressionLZ4}
	}
	return &clickhouse.Options{
		Addr:         addrs,
		Auth:         clickhouse.Auth{Database: database, Username: db.cfg.Username, Password: db.cfg.Password},
		DialTimeout:  db.cfg.DialTimeout,
		MaxOpenConns: conns,
		MaxIdleConns: max(conns/2, 1),
		Compression:  compression,
		Settings:     settings,
	}
}

// allLoopback reports whether every address is on this machine.
func allLoopback(addrs []string) bool {
	for _, a := range addrs {
		host, _, _ := net.SplitHostPort(a)
		if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
			return false
		}
	}
	return true
}

// sessionSettings are the settings the warehouse's connections set, among those the server
// knows: enable_optimize_predicate_expression pushes a query's conditions into the views
// of minute_stats (hashtag_minute, ...), so they read its rows through its primary key.
// It is on by default from ClickHouse 19; 18.16 has it off. On a cluster, an INSERT into a
// Distributed table returns once every shard has stored its rows (not when they are
// queued on the server to send later).
func sessionSettings(ctx context.Context, conn driver.Conn, cluster bool) (clickhouse.Settings, error) {
	var known uint64
	if err := conn.QueryRow(ctx, "SELECT count() FROM system.settings WHERE name = 'enable_optimize_predicate_expression'").Scan(&known); err != nil {
		return nil, err
	}
	s := clickhouse.Settings{}
	if known > 0 {
		s["enable_optimize_predicate_expression"] = 1
	}
	if cluster {
		s["insert_distributed_sync"] = 1
	}
	return s, nil
}

// Close closes the connections.
func (db *DB) Close() error {
	if db.topo != nil {
		db.topo.close()
	}
	if db.native != nil {
		db.native.close()
	}
	if db.conn == nil {
		return nil
	}
	return db.conn.Close()
}

// Cluster is the name of the ClickHouse cluster holding the warehouse; empty on one server.
func (db *DB) Cluster() string { return db.cfg.Cluster }

// Ping checks that the warehouse answers.
func (db *DB) Ping(ctx context.Context) error { return db.conn.Ping(ctx) }

// Conn is the underlying clickhouse-go connection pool, for queries this package does not
// name (tests, the SQL console).
func (db *DB) Conn() driver.Conn { return db.conn }

// Database is the database name in use.
func (db *DB) Database() string { return db.cfg.Database }
