package warehouse

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// goSteps are the parts of migrations that statements cannot do safely twice, by version,
// run after the migration's statements. Each must be safe to run again after it was cut
// short; the schema lock keeps it to one process at a time.
var goSteps = map[uint32]func(ctx context.Context, db *DB) error{
	3: migrateMinuteStats,
}

// aggregateViews are the tables of version 2's aggregates as views of minute_stats, with
// the columns they had, so queries written for them keep working. ClickHouse reads a view's
// rows through minute_stats' primary key when it pushes a query's conditions into the view
// (enable_optimize_predicate_expression, the default of current releases; Open sets it on
// 18.16).
var aggregateViews = []struct{ name, create string }{
	{"hashtag_minute", "CREATE VIEW IF NOT EXISTS hashtag_minute AS SELECT minute, key AS hashtag, tweets, sentiment_sum FROM minute_stats WHERE kind = 'hashtag'"},
	{"word_minute", "CREATE VIEW IF NOT EXISTS word_minute AS SELECT minute, key AS word, tweets, sentiment_sum FROM minute_stats WHERE kind = 'word'"},
	{"sentiment_minute", "CREATE VIEW IF NOT EXISTS sentiment_minute AS SELECT minute, label AS sentiment_label, key AS lang, tweets, sentiment_sum FROM minute_stats WHERE kind = 'sentiment'"},
}

// copyMarkKey is the key of the mark that says version 2's aggregates were copied whole.
const copyMarkKey = "schema migration 3: aggregates copied"

// migrateMinuteStats copies version 2's aggregate tables into minute_stats (with partition
// -1), turns the loaded offsets of tweet topics into batch marks, and replaces the tables
// by views. The copy is several INSERTs and not atomic, so its end is marked; a copy cut
// short is deleted and made again.
func migrateMinuteStats(ctx context.Context, db *DB) error {
	names := make([]string, len(aggregateViews))
	for i, v := range aggregateViews {
		names[i] = v.name
	}
	engines, err := db.tableEngines(ctx, names)
	if err != nil {
		return err
	}
	var old []string
	for _, n := range names {
		if e, ok := engines[n]; ok && e != "View" {
			old = append(old, n)
		}
	}
	if len(old) > 0 {
		if err := db.copyAggregatesOnce(ctx, old); err != nil {
			return err
		}
		for _, n := range old {
			if err := db.conn.Exec(ctx, "DROP TABLE IF EXISTS "+n); err != nil {
				return fmt.Errorf("drop %s: %w", n, err)
			}
		}
	}
	for _, v := range aggregateViews {
		if err := db.conn.Exec(ctx, v.create); err != nil {
			return fmt.Errorf("create view %s: %w", v.name, err)
		}
	}
	return nil
}

// oldCopyLock is the lock earlier releases took for the copy alone; one left behind by a
// process that died is dropped (the schema lock covers the copy now).
const oldCopyLock = "schema_migration_3_lock"

// copyAggregatesOnce makes the copy unless it is marked done. The schema lock keeps it to
// one process at a time.
func (db *DB) copyAggregatesOnce(ctx context.Context, tables []string) error {
	var done uint64
	if err := db.conn.QueryRow(ctx, "SELECT count() FROM minute_stats WHERE kind = 'batch' AND minute = ? AND key = ?", markMinute, copyMarkKey).Scan(&done); err != nil {
		return fmt.Errorf("read the copy's mark: %w", err)
	}
	if done == 0 {
		if err := db.copyAggregates(ctx, tables); err != nil {
			return err
		}
	}
	if err := db.conn.Exec(ctx, "DROP TABLE IF EXISTS "+oldCopyLock); err != nil {
		return fmt.Errorf("drop %s: %w", oldCopyLock, err)
	}
	return nil
}

// copyAggregates copies the named tables of version 2 and the loaded offsets, then marks
// the copy done.
func (db *DB) copyAggregates(ctx context.Context, tables []string) error {
	var partial uint64
	if err := db.conn.QueryRow(ctx, "SELECT count() FROM minute_stats WHERE partition = -1").Scan(&partial); err != nil {
		return fmt.Errorf("look for a partial copy: %w", err)
	}
	if partial > 0 {
		if err := db.conn.Exec(ctx, "ALTER TABLE minute_stats DELETE WHERE partition = -1"); err != nil {
			return fmt.Errorf("delete a partial copy: %w", err)
		}
		if err := db.waitMutations(ctx, "minute_stats"); err != nil {
			return err
		}
	}
	const into = "INSERT INTO minute_stats (kind, minute, key, label, partition, first_offset, last_offset, tweets, sentiment_sum) "
	copies := map[string]string{
		"hashtag_minute":   into + "SELECT 'hashtag', minute, hashtag, 'neutral', -1, 0, 0, toInt64(tweets), sentiment_sum FROM hashtag_minute",
		"word_minute":      into + "SELECT 'word', minute, word, 'neutral', -1, 0, 0, toInt64(tweets), sentiment_sum FROM word_minute",
		"sentiment_minute": into + "SELECT 'sentiment', minute, lang, sentiment_label, -1, 0, 0, toInt64(tweets), sentiment_sum FROM sentiment_minute",
	}
	for _, t := range tables {
		if err := db.conn.Exec(ctx, copies[t]); err != nil {
			return fmt.Errorf("copy %s: %w", t, err)
		}
	}
	// The loaded offsets of tweet topics become marks (the entities group keeps its own in
	// loaded_offsets). Marks are keys of their own: written twice, they merge into one. A
	// mark's tweets is 1 (markTweets).
	if err := db.conn.Exec(ctx, into+`SELECT 'batch', toDateTime(0), topic, 'neutral', partition, max(offset), max(offset), 1, 0
		FROM loaded_offsets WHERE NOT startsWith(topic, 'entities:') GROUP BY topic, partition`); err != nil {
		return fmt.Errorf("copy loaded offsets: %w", err)
	}
	if err := db.conn.Exec(ctx, into+"SELECT 'batch', toDateTime(0), ?, 'neutral', -1, 0, 0, 1, 0", copyMarkKey); err != nil {
		return fmt.Errorf("mark the copy: %w", err)
	}
	return nil
}

// tableEngines returns the engine of each named table of the database that exists.
func (db *DB) tableEngines(ctx context.Context, names []string) (map[string]string, error) {
	rows, err := db.conn.Query(ctx, "SELECT name, engine FROM system.tables WHERE database = currentDatabase() AND name IN ('"+strings.Join(names, "', '")+"')")
	if err != nil {
		return nil, fmt.Errorf("read table engines: %w", err)
	}
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var n, e string
		if err := rows.Scan(&n, &e); err != nil {
			return nil, err
		}
		out[n] = e
	}
	return out, rows.Err()
}

// waitMutations waits until ClickHouse has applied every mutation of table (they run in
// the background).
func (db *DB) waitMutations(ctx context.Context, table string) error {
	t := time.NewTicker(100 * time.Millisecond)
	defer t.Stop()
	for {
		var pending uint64
		if err := db.conn.QueryRow(ctx, "SELECT count() FROM system.mutations WHERE database = currentDatabase() AND table = ? AND is_done = 0", table).Scan(&pending); err != nil {
			return fmt.Errorf("read mutations of %s: %w", table, err)
		}
		if pending == 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
}
