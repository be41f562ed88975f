// Package warehouse is Starling's ClickHouse warehouse: the schema and its migrations, the
// batch writer the ETL loads tweets with, and the named queries the dashboard runs. The ETL
// is the only writer; per-minute aggregates are filled by materialized views.
//
// The schema (migrations/) runs on ClickHouse 18.16, Debian's package, and on current
// releases: it sticks to their common subset (no DateTime64, Map, TTL, LowCardinality or
// window functions) and every INSERT names its columns, which 18.16 needs for the native
// batch protocol. clickhouse-go v2 speaks to 18.16 without special settings: the handshake
// settles on the server's protocol revision (54412 for 18.16.1) and the client leaves out
// what that revision lacks.
package warehouse

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
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
	// DialTimeout bounds connecting. Default 5s.
	DialTimeout time.Duration
	// Logger receives warehouse logs; nil discards them.
	Logger *slog.Logger
}

var databaseName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,63}$`)

func (c Config) withDefaults() Config {
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
	c = c.withDefaults()
	for _, a := range c.Addr {
		if _, port, err := net.SplitHostPort(a); err != nil || port == "" {
			return fmt.Errorf("warehouse: ClickHouse address %q is not host:port", a)
		}
	}
	if !databaseName.MatchString(c.Database) {
		return fmt.Errorf("warehouse: database name %q must be letters, digits and underscores", c.Database)
	}
	if c.DialTimeout < 0 {
		return fmt.Errorf("warehouse: dial timeout %s is negative", c.DialTimeout)
	}
	return nil
}

// DB is an open warehouse connection pool.
type DB struct {
	cfg  Config
	conn driver.Conn
}

// Open connects to ClickHouse and creates the database if it is missing. It does not
// migrate; call Migrate.
func Open(ctx context.Context, cfg Config) (*DB, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	// Blocks travel LZ4-compressed to a server across a network; to one on this machine,
	// compressing them would only cost both sides CPU (a twentieth of the ETL's time).
	var compression *clickhouse.Compression
	if !allLoopback(cfg.Addr) {
		compression = &clickhouse.Compression{Method: clickhouse.CompressionLZ4}
	}
	opts := func(db string, settings clickhouse.Settings) *clickhouse.Options {
		return &clickhouse.Options{
			Addr:         cfg.Addr,
			Auth:         clickhouse.Auth{Database: db, Username: cfg.Username, Password: cfg.Password},
			DialTimeout:  cfg.DialTimeout,
			MaxOpenConns: 8,
			MaxIdleConns: 4,
			Compression:  compression,
			Settings:     settings,
		}
	}
	boot, err := clickhouse.Open(opts("default", nil))
	if err != nil {
		return nil, fmt.Errorf("warehouse: open %v: %w", cfg.Addr, err)
	}
	err = boot.Exec(ctx, "CREATE DATABASE IF NOT EXISTS "+cfg.Database)
	if err != nil {
		boot.Close()
		return nil, fmt.Errorf("warehouse: create database %s on %v: %w", cfg.Database, cfg.Addr, err)
	}
	settings, err := sessionSettings(ctx, boot)
	boot.Close()
	if err != nil {
		return nil, fmt.Errorf("warehouse: read settings on %v: %w", cfg.Addr, err)
	}
	conn, err := clickhouse.Open(opts(cfg.Database, settings))
	if err != nil {
		return nil, fmt.Errorf("warehouse: open %v: %w", cfg.Addr, err)
	}
	if err := conn.Ping(ctx); err != nil {
		conn.Close()
		return nil, fmt.Errorf("warehouse: ping %v: %w", cfg.Addr, err)
	}
	return &DB{cfg: cfg, conn: conn}, nil
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
// It is on by default from ClickHouse 19; 18.16 has it off.
func sessionSettings(ctx context.Context, conn driver.Conn) (clickhouse.Settings, error) {
	var known uint64
	if err := conn.QueryRow(ctx, "SELECT count() FROM system.settings WHERE name = 'enable_optimize_predicate_expression'").Scan(&known); err != nil {
		return nil, err
	}
	if known == 0 {
		return nil, nil
	}
	return clickhouse.Settings{"enable_optimize_predicate_expression": 1}, nil
}

// Close closes the connections.
func (db *DB) Close() error { return db.conn.Close() }

// Ping checks that the warehouse answers.
func (db *DB) Ping(ctx context.Context) error { return db.conn.Ping(ctx) }

// Conn is the underlying clickhouse-go connection pool, for queries this package does not
// name (tests, the SQL console).
func (db *DB) Conn() driver.Conn { return db.conn }

// Database is the database name in use.
func (db *DB) Database() string { return db.cfg.Database }

//go:embed migrations/*.sql
var migrationFiles embed.FS

// migration is one numbered schema change.
type migration struct {
	version    uint32
	name       string
	statements []string
}

func loadMigrations() ([]migration, error) {
	entries, err := migrationFiles.ReadDir("migrations")
	if err != nil {
		return nil, err
	}
	var ms []migration
	seen := map[uint32]string{}
	for _, e := range entries {
		num, name, ok := strings.Cut(strings.TrimSuffix(e.Name(), ".sql"), "_")
		v, err := strconv.ParseUint(num, 10, 32)
		if !ok || err != nil {
			return nil, fmt.Errorf("warehouse: migration file %q is not named NNNN_name.sql", e.Name())
		}
		if prev, dup := seen[uint32(v)]; dup {
			return nil, fmt.Errorf("warehouse: migrations %q and %q share version %d", prev, e.Name(), v)
		}
		seen[uint32(v)] = e.Name()
		body, err := migrationFiles.ReadFile("migrations/" + e.Name())
		if err != nil {
			return nil, err
		}
		ms = append(ms, migration{version: uint32(v), name: name, statements: splitStatements(string(body))})
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].version < ms[j].version })
	return ms, nil
}

// splitStatements splits a migration file at semicolons that end a line, dropping comments.
func splitStatements(sql string) []string {
	var out []string
	var cur strings.Builder
	for _, line := range strings.Split(sql, "\n") {
		trimmed := strings.TrimSpace(line)
		if strings.HasPrefix(trimmed, "--") || trimmed == "" {
			continue
		}
		cur.WriteString(line)
		cur.WriteByte('\n')
		if strings.HasSuffix(trimmed, ";") {
			out = append(out, strings.TrimSuffix(strings.TrimSpace(cur.String()), ";"))
			cur.Reset()
		}
	}
	if s := strings.TrimSpace(cur.String()); s != "" {
		out = append(out, s)
	}
	return out
}

// Migrate applies the embedded migrations that have not been applied yet, in order, and
// records each in schema_migrations. Every statement is idempotent (IF NOT EXISTS), so
// several processes may migrate at once: each may run a statement another has run, and a
// version may then be recorded twice, which AppliedMigrations folds. ClickHouse serialises
// DDL on one table name, so concurrent CREATE ... IF NOT EXISTS do not collide (the tests
// run several Migrate calls on an empty database at once).
func (db *DB) Migrate(ctx context.Context) error {
	return db.migrateTo(ctx, ^uint32(0))
}

// migrateTo applies the migrations up to version last.
func (db *DB) migrateTo(ctx context.Context, last uint32) error {
	ms, err := loadMigrations()
	if err != nil {
		return err
	}
	if err := db.conn.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version UInt32, name String, applied_at DateTime DEFAULT now()
	) ENGINE = MergeTree ORDER BY version`); err != nil {
		return fmt.Errorf("warehouse: create schema_migrations: %w", err)
	}
	applied, err := db.AppliedMigrations(ctx)
	if err != nil {
		return err
	}
	for _, m := range ms {
		if applied[m.version] || m.version > last {
			continue
		}
		for i, stmt := range m.statements {
			if err := db.conn.Exec(ctx, stmt); err != nil && !alreadyDone(stmt, err) {
				return fmt.Errorf("warehouse: migration %04d_%s statement %d: %w", m.version, m.name, i+1, err)
			}
		}
		if step := goSteps[m.version]; step != nil {
			if err := step(ctx, db); err != nil {
				return fmt.Errorf("warehouse: migration %04d_%s: %w", m.version, m.name, err)
			}
		}
		if err := db.recordMigration(ctx, m); err != nil {
			return fmt.Errorf("warehouse: record migration %d: %w", m.version, err)
		}
		db.cfg.Logger.Info("applied migration", "version", m.version, "name", m.name)
	}
	return nil
}

// codeDuplicateColumn is ClickHouse's ILLEGAL_COLUMN / "column already exists" error.
const codeDuplicateColumn = 44

// alreadyDone reports whether a failed statement failed because another Migrate, or an
// earlier attempt of this one, did it: ADD COLUMN of a column that exists (ClickHouse 18.16
// has no ADD COLUMN IF NOT EXISTS).
func alreadyDone(stmt string, err error) bool {
	var ex *clickhouse.Exception
	return errors.As(err, &ex) && ex.Code == codeDuplicateColumn &&
		strings.Contains(strings.ToUpper(stmt), "ADD COLUMN") && strings.Contains(ex.Message, "already exists")
}

// recordMigration notes m as applied. It uses a batch: on ClickHouse 18.16 an INSERT must
// go through the native insert protocol with an explicit column list.
func (db *DB) recordMigration(ctx context.Context, m migration) error {
	batch, err := db.conn.PrepareBatch(ctx, "INSERT INTO schema_migrations (version, name)")
	if err != nil {
		return err
	}
	if err := batch.Append(m.version, m.name); err != nil {
		batch.Abort()
		return err
	}
	return batch.Send()
}

// AppliedMigrations returns the versions recorded in schema_migrations.
func (db *DB) AppliedMigrations(ctx context.Context) (map[uint32]bool, error) {
	rows, err := db.conn.Query(ctx, "SELECT DISTINCT version FROM schema_migrations")
	if err != nil {
		return nil, fmt.Errorf("warehouse: read schema_migrations: %w", err)
	}
	defer rows.Close()
	out := map[uint32]bool{}
	for rows.Next() {
		var v uint32
		if err := rows.Scan(&v); err != nil {
			return nil, err
		}
		out[v] = true
	}
	return out, rows.Err()
}
