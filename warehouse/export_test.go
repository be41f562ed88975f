package warehouse

import (
	"context"
	"strings"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
)

// MigrateTo applies the migrations up to a version, for the upgrade tests.
var MigrateTo = (*DB).migrateTo

// TableSchemas are the tables the warehouse writes, as its definitions state them: table name
// → (column name, type) in INSERT order.
func TableSchemas() map[string][][2]string {
	out := map[string][][2]string{}
	for _, s := range []interface{ schema() (string, [][2]string) }{tweetsTable, tweetIDsTable, deletionsTable, statsTable, entitiesTable, tweetScoresTable, scoreMinuteTable} {
		name, cols := s.schema()
		out[name] = cols
	}
	return out
}

// WriteRows stores what an attempt to load b that was cut short stores: its rows in the
// named tables (tweets, tweet_ids, tweet_deletions), without the commit.
func (db *DB) WriteRows(ctx context.Context, b LoadBatch, tables ...string) error {
	for _, t := range tables {
		var err error
		switch t {
		case "tweets":
			err = tweetsTable.write(ctx, db, b.Tweets)
		case "tweet_ids":
			err = tweetIDsTable.write(ctx, db, b.Tweets)
		case "tweet_deletions":
			err = deletionsTable.write(ctx, db, b.Deletions)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// SchemaLock, OldCopyLock and ProcessToken are the lock of migrations, the copy lock of
// earlier releases and this process's token.
const (
	SchemaLock  = schemaLock
	OldCopyLock = oldCopyLock
)

var ProcessToken = processToken

// WriteScoresOnly stores what an attempt to load b that was cut short stores: its scores,
// without the commit.
func (db *DB) WriteScoresOnly(ctx context.Context, b ScoreBatch) error {
	rows := make([]scoreRow, len(b.Scores))
	for i, s := range b.Scores {
		rows[i] = scoreRow{ScoreRow: s, model: b.Model}
	}
	return tweetScoresTable.write(ctx, db, rows)
}

// ApplyClusterSchema runs an earlier release's cluster schema and records the migrations it
// stood for, for the upgrade test.
func (db *DB) ApplyClusterSchema(ctx context.Context, schema string, upTo uint32) error {
	fill := strings.NewReplacer("${cluster}", db.cfg.Cluster, "${database}", db.cfg.Database)
	for _, stmt := range splitStatements(fill.Replace(schema)) {
		if err := db.conn.Exec(ctx, stmt); err != nil {
			return err
		}
	}
	ms, err := loadMigrations()
	if err != nil {
		return err
	}
	for _, m := range ms {
		if m.version <= upTo {
			if err := db.recordMigration(ctx, m); err != nil {
				return err
			}
		}
	}
	return nil
}

// PointNativeAt sends the native writer's INSERTs to addr.
func (db *DB) PointNativeAt(addr string) { db.native.addrs = []string{addr} }

// NativeOn reports whether INSERTs go through the native writer.
func (db *DB) NativeOn() bool { return db.native != nil && db.native.on() }

// LockServer is the connection to the server that holds the schema lock.
func (db *DB) LockServer() (driver.Conn, error) { return db.lockServer() }

// SetBlockSlack sets how much further back than its span Throughput reads from.
func (db *DB) SetBlockSlack(d time.Duration) { db.blocks.slack = d }
