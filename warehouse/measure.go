package warehouse

// What the benchmarks and operators ask of the warehouse about itself: how many rows a
// table holds, what the server keeps on disk, whether merges are running, and how fresh
// the newest tweets are.

import (
	"context"
	"fmt"
	"regexp"
	"strings"
)

var identifier = regexp.MustCompile(`^[a-z_][a-z0-9_]*$`)

// Rows is the number of rows of a table of the warehouse (of the whole cluster on one).
// A tweet stored twice counts twice: this is ClickHouse's count, not the tweets'.
func (db *DB) Rows(ctx context.Context, table string) (uint64, error) {
	if !identifier.MatchString(table) {
		return 0, fmt.Errorf("warehouse: %q is not a table name", table)
	}
	var n uint64
	if err := db.conn.QueryRow(ctx, "SELECT count() FROM "+table).Scan(&n); err != nil {
		return 0, fmt.Errorf("warehouse: count %s: %w", table, err)
	}
	return n, nil
}

// Storage is what the server db is connected to holds on disk, every database together.
type Storage struct {
	ActiveBytes      uint64 // the bytes of the active parts: the data, without merged-away parts
	MostPartsInTable uint64 // the most active parts of one table
}

// Storage measures the server db is connected to (on a cluster, open one per server).
func (db *DB) Storage(ctx context.Context) (Storage, error) {
	var s Storage
	if err := db.conn.QueryRow(ctx, "SELECT sum(bytes_on_disk) FROM system.parts WHERE active").Scan(&s.ActiveBytes); err != nil {
		return s, fmt.Errorf("warehouse: active parts: %w", err)
	}
	if err := db.conn.QueryRow(ctx, "SELECT max(n) FROM (SELECT count() AS n FROM system.parts WHERE active GROUP BY database, table)").Scan(&s.MostPartsInTable); err != nil {
		return s, fmt.Errorf("warehouse: active parts per table: %w", err)
	}
	return s, nil
}

// MergesRunning is the number of merges the server db is connected to runs now.
func (db *DB) MergesRunning(ctx context.Context) (uint64, error) {
	var n uint64
	if err := db.conn.QueryRow(ctx, "SELECT count() FROM system.merges").Scan(&n); err != nil {
		return 0, fmt.Errorf("warehouse: merges: %w", err)
	}
	return n, nil
}

// DropDatabase drops the warehouse's database and everything in it (ON CLUSTER on a
// cluster). For throwaway warehouses: benchmarks, tests.
func (db *DB) DropDatabase(ctx context.Context) error {
	q := "DROP DATABASE IF EXISTS " + db.cfg.Database
	if db.cfg.Cluster != "" {
		q += " ON CLUSTER " + db.cfg.Cluster
	}
	if err := db.conn.Exec(ctx, q); err != nil {
		return fmt.Errorf("warehouse: drop database %s: %w", db.cfg.Database, err)
	}
	return nil
}

// A FreshSampler reads the ids of the tweets that reached the server db is connected to
// since it last looked, one tweet in every Every (by a hash of the id, so that every
// server samples alike): the tweets of the parts of the tweets table (its local table on a
// cluster) that are new since the last Next. A tweet id says when it was made (a Twitter
// snowflake), so the caller knows how long each sampled tweet took to become queryable.
// Parts merged away before Next sees them are missed, and so are their tweets.
type FreshSampler struct {
	db    *DB
	every int
	seen  map[string]bool // the parts seen, still active at the last look
}

// NewFreshSampler returns a sampler of one tweet in every (1 = all).
func (db *DB) NewFreshSampler(every int) *FreshSampler {
	return &FreshSampler{db: db, every: max(every, 1), seen: map[string]bool{}}
}

// Next returns the sampled ids of the tweets in parts that are new since the last call
// (on the first call, in every part not merged yet).
func (f *FreshSampler) Next(ctx context.Context) ([]uint64, error) {
	table := f.db.table("tweets")
	local := strings.TrimPrefix(table, f.db.cfg.Database+".")
	parts, err := f.db.conn.Query(ctx, "SELECT name FROM system.parts WHERE database = ? AND table = ? AND active AND level = 0", f.db.cfg.Database, local)
	if err != nil {
		return nil, fmt.Errorf("warehouse: parts of %s: %w", local, err)
	}
	var fresh []string
	live := map[string]bool{}
	for parts.Next() {
		var name string
		if err := parts.Scan(&name); err != nil {
			parts.Close()
			return nil, err
		}
		live[name] = true
		if !f.seen[name] {
			fresh = append(fresh, name)
		}
	}
	parts.Close()
	for name := range f.seen { // merged away: forget
		if !live[name] {
			delete(f.seen, name)
		}
	}
	if len(fresh) == 0 {
		return nil, nil
	}
	// Part names are letters, digits and underscores (ClickHouse names them).
	rows, err := f.db.conn.Query(ctx, fmt.Sprintf("SELECT id FROM %s WHERE _part IN ('%s') AND intHash64(id) %% %d = 0", table, strings.Join(fresh, "', '"), f.every))
	if err != nil {
		return nil, fmt.Errorf("warehouse: fresh tweets: %w", err)
	}
	defer rows.Close()
	var ids []uint64
	for rows.Next() {
		var id uint64
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	for _, name := range fresh {
		f.seen[name] = true
	}
	return ids, nil
}
