package warehouse

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
)

// The warehouse on a ClickHouse cluster (Config.Cluster): shards of replicated servers,
// coordinated by ZooKeeper, as remote_servers names them.
//
// Every table the ETL writes per tweet (tweets, tweet_ids, tweet_deletions, entities) is
// a Replicated table <name>_local on each server, holding its shard's rows, behind a
// Distributed table <name> that spreads rows over the shards by cityHash64 of the tweet
// id: a tweet, its id and its withdrawal live on one shard, so a duplicate or deletion
// check stays on the shard, and so does an IN subquery of one of these tables inside a
// query of another: it names the local table (db.table), which each shard reads its own
// rows of. minute_stats (the aggregates and the batch marks), loaded_offsets and
// schema_migrations are small, written a block per flush, and read by every panel: each
// is one Replicated table with a replica on every server, so a server answers the
// dashboard's panels from its own disk.
//
// Loading exactly once (load.go) holds on the cluster with one change: what the ETL reads
// to find out where it stands after a failure (marks, rows an attempt may have stored,
// the ids loaded) must be everything committed, and a replica may not have fetched yet
// what its peer stored just before it died. ZooKeeper's list of a table's parts is the
// truth (a part is committed to it, or the INSERT failed and the part is dropped when its
// server comes back), so those reads go to one replica of each shard (of every server, for
// minute_stats) after SYSTEM SYNC REPLICA, which waits until the replica holds every part
// the list names. While the only server holding a part is down, that wait does not end
// (each attempt gives up after syncTimeout and the ETL retries): the ETL's recovery waits
// for it, rather than guess. The INSERTs themselves go through the Distributed tables
// synchronously (insert_distributed_sync), so a batch's rows are stored on their shards
// before its commit is sent.

// syncTimeout bounds one SYSTEM SYNC REPLICA, in seconds (its receive_timeout).
const syncTimeout = 30

// clusterName is what a cluster name in remote_servers may be, as written in DDL.
var clusterName = databaseName

// shardedTables are the tables whose rows are spread over the shards by tweet id; the
// others are whole on every server.
var shardedTables = map[string]bool{"tweets": true, "tweet_ids": true, "tweet_deletions": true, "entities": true, "tweet_scores": true}

// replica is one server of the cluster.
type replica struct {
	addr string
	mu   sync.Mutex
	conn driver.Conn // opened on first use
}

// topology is the cluster's servers by shard, as its remote_servers lists them.
type topology struct {
	shards [][]*replica
}

// readTopology reads the cluster's servers from system.clusters.
func readTopology(ctx context.Context, conn driver.Conn, addrs []string, cluster string) (*topology, error) {
	rows, err := conn.Query(ctx, "SELECT shard_num, host_name, port FROM system.clusters WHERE cluster = ? ORDER BY shard_num, replica_num", cluster)
	if err != nil {
		return nil, fmt.Errorf("warehouse: read cluster %s: %w", cluster, err)
	}
	defer rows.Close()
	t := &topology{}
	last := uint32(0)
	for rows.Next() {
		var shard uint32
		var host string
		var port uint16
		if err := rows.Scan(&shard, &host, &port); err != nil {
			return nil, fmt.Errorf("warehouse: read cluster %s: %w", cluster, err)
		}
		if shard != last {
			t.shards = append(t.shards, nil)
			last = shard
		}
		r := &replica{addr: net.JoinHostPort(host, strconv.Itoa(int(port)))}
		t.shards[len(t.shards)-1] = append(t.shards[len(t.shards)-1], r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("warehouse: read cluster %s: %w", cluster, err)
	}
	if len(t.shards) == 0 {
		return nil, fmt.Errorf("warehouse: ClickHouse at %v has no cluster %q in its remote_servers (system.clusters)", addrs, cluster)
	}
	return t, nil
}

// all is every server, as the one "shard" of the tables replicated on all of them.
func (t *topology) all() [][]*replica {
	var all []*replica
	for _, s := range t.shards {
		all = append(all, s...)
	}
	return [][]*replica{all}
}

// table is the name of the table holding a server's own rows of name: name itself on one
// server, database.name_local for the sharded tables of a cluster (qualified: a shard runs
// the subqueries of a distributed query in the user's default database).
func (db *DB) table(name string) string {
	if db.topo != nil && shardedTables[name] {
		return db.cfg.Database + "." + name + "_local"
	}
	return name
}

// connTo returns the connection pool to one server of the cluster.
func (db *DB) connTo(r *replica) (driver.Conn, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.conn != nil {
		return r.conn, nil
	}
	conn, err := clickhouse.Open(db.options([]string{r.addr}, db.cfg.Database, db.settings, 8))
	if err != nil {
		return nil, err
	}
	r.conn = conn
	return conn, nil
}

// synced calls fn once per shard of the tables named (all of them sharded, or none), on
// a replica that holds every part ZooKeeper lists for those tables: fn sees everything
// committed. fn reads the server's own rows: name tables with db.table. On one server,
// fn runs once, on it.
func (db *DB) synced(ctx context.Context, tables []string, fn func(ctx context.Context, conn driver.Conn) error) error {
	if db.topo == nil {
		return fn(ctx, db.conn)
	}
	groups := db.topo.shards
	if !shardedTables[tables[0]] {
		groups = db.topo.all()
	}
	for _, t := range tables[1:] {
		if shardedTables[t] != shardedTables[tables[0]] {
			return fmt.Errorf("warehouse: %s and %s are not spread alike: read them apart", tables[0], t)
		}
	}
	for _, group := range groups {
		var errs []error
		done := false
		for _, r := range group {
			conn, err := db.connTo(r)
			if err == nil {
				err = syncReplicas(ctx, conn, db.cfg.Database, tables, db.table)
			}
			if err == nil {
				err = fn(ctx, conn)
				if err == nil {
					done = true
					break
				}
			}
			errs = append(errs, fmt.Errorf("%s: %w", r.addr, err))
			if ctx.Err() != nil {
				break
			}
		}
		if !done {
			return fmt.Errorf("warehouse: no replica answered with everything committed: %w", errors.Join(errs...))
		}
	}
	return nil
}

// mergeMax raises out's offset of each partition to shard's.
func mergeMax(out, shard map[int32]int64) {
	for p, o := range shard {
		if prev, ok := out[p]; !ok || o > prev {
			out[p] = o
		}
	}
}

// syncReplicas waits until the server's replicas of tables hold every committed part.
func syncReplicas(ctx context.Context, conn driver.Conn, database string, tables []string, local func(string) string) error {
	ctx = clickhouse.Context(ctx, clickhouse.WithSettings(clickhouse.Settings{"receive_timeout": syncTimeout}))
	for _, t := range tables {
		if err := conn.Exec(ctx, "SYSTEM SYNC REPLICA "+database+"."+strings.TrimPrefix(local(t), database+".")); err != nil {
			return fmt.Errorf("sync replica %s: %w", local(t), err)
		}
	}
	return nil
}

// close closes the connections to the cluster's servers.
func (t *topology) close() {
	for _, s := range t.shards {
		for _, r := range s {
			r.mu.Lock()
			if r.conn != nil {
				r.conn.Close()
			}
			r.mu.Unlock()
		}
	}
}

//go:embed cluster/schema.sql
var clusterSchema string

// clusterSchemaVersion is the last migration cluster/schema.sql stands for.
const clusterSchemaVersion = 5

// migrateCluster creates the schema ON CLUSTER (cluster/schema.sql) and records the
// migrations it stands for. A database that holds the single-server schema is refused:
// its tables are not replicated, and the cluster's must be created empty and filled
// (INSERT INTO tweets SELECT ... FROM remote(...)).
func (db *DB) migrateCluster(ctx context.Context, ms []migration) error {
	// Every run takes the lock: the upgrade steps look before they act, and two processes
	// upgrading at once would both find a column missing and both add it.
	return db.holdingSchemaLock(ctx, func(lock *schemaLockHeld) error { return db.migrateClusterLocked(ctx, ms, lock) })
}

// migrateClusterLocked is migrateCluster under the schema lock.
func (db *DB) migrateClusterLocked(ctx context.Context, ms []migration, lock *schemaLockHeld) error {
	engines, err := db.tableEngines(ctx, []string{"tweets", "minute_stats"})
	if err != nil {
		return err
	}
	if e, ok := engines["tweets"]; ok && e != "Distributed" {
		return fmt.Errorf("warehouse: database %s holds the single-server schema (tweets is %s); a cluster's schema needs a database of its own", db.cfg.Database, e)
	}
	if e, ok := engines["minute_stats"]; ok && !strings.HasPrefix(e, "Replicated") {
		return fmt.Errorf("warehouse: database %s holds the single-server schema (minute_stats is %s); a cluster's schema needs a database of its own", db.cfg.Database, e)
	}
	for _, m := range ms {
		if m.version > clusterSchemaVersion {
			return fmt.Errorf("warehouse: migration %04d_%s has no cluster form (cluster/schema.sql stands for migrations up to %d)", m.version, m.name, clusterSchemaVersion)
		}
	}
	fill := strings.NewReplacer("${cluster}", db.cfg.Cluster, "${database}", db.cfg.Database)
	if _, made := engines["minute_stats"]; made {
		applied, err := db.AppliedMigrations(ctx)
		if err != nil {
			return err
		}
		if err := lock.check(ctx); err != nil {
			return err
		}
		if applied[3] && !applied[4] {
			// A cluster made by an earlier release: its tables lack version 4's columns
			// (which the new views read), and the view version 4 replaces is there.
			if err := db.upgradeClusterTo4(ctx, fill); err != nil {
				return err
			}
		}
		if !applied[5] {
			if err := db.upgradeClusterTo5(ctx, fill); err != nil {
				return err
			}
		}
	}
	if err := lock.check(ctx); err != nil {
		return err
	}
	for i, stmt := range splitStatements(fill.Replace(clusterSchema)) {
		if err := db.conn.Exec(ctx, stmt); err != nil {
			return fmt.Errorf("warehouse: cluster schema statement %d: %w", i+1, err)
		}
	}
	applied, err := db.AppliedMigrations(ctx)
	if err != nil {
		return err
	}
	for _, m := range ms {
		if !applied[m.version] {
			if err := db.recordMigration(ctx, m); err != nil {
				return fmt.Errorf("warehouse: record migration %d: %w", m.version, err)
			}
		}
	}
	db.cfg.Logger.Info("cluster schema in place", "cluster", db.cfg.Cluster, "version", clusterSchemaVersion)
	return nil
}

// upgradeClusterTo4 adds version 4's columns to a cluster's existing tables. Each step
// looks first, so a cut upgrade runs again.
func (db *DB) upgradeClusterTo4(ctx context.Context, fill *strings.Replacer) error {
	steps := []struct{ table, column, stmt string }{
		// Replicated: ON CLUSTER runs it on one replica of each shard, ZooKeeper on the rest.
		{"tweets_local", "sentiment_model", "ALTER TABLE ${database}.tweets_local ON CLUSTER ${cluster} ADD COLUMN sentiment_model String DEFAULT 'vader'"},
		{"tweet_deletions_local", "sentiment_model", "ALTER TABLE ${database}.tweet_deletions_local ON CLUSTER ${cluster} ADD COLUMN sentiment_model String DEFAULT 'vader'"},
		// 18.16 runs no MODIFY ORDER BY ON CLUSTER; minute_stats is one replicated table on
		// every server, so the ALTER on this one reaches all through ZooKeeper.
		{"minute_stats", "model", "ALTER TABLE ${database}.minute_stats ADD COLUMN model String, MODIFY ORDER BY (kind, minute, key, label, partition, first_offset, last_offset, model)"},
	}
	for _, st := range steps {
		done, err := db.hasColumn(ctx, db.conn, st.table, st.column)
		if err != nil {
			return fmt.Errorf("warehouse: cluster upgrade to version 4: %w", err)
		}
		if done {
			continue
		}
		if err := db.conn.Exec(ctx, fill.Replace(st.stmt)); err != nil {
			return fmt.Errorf("warehouse: cluster upgrade to version 4: %s.%s: %w", st.table, st.column, err)
		}
	}
	for _, table := range []string{"tweets", "tweet_deletions"} {
		if err := db.addColumnOnEachServer(ctx, table, "sentiment_model", "String DEFAULT 'vader'"); err != nil {
			return fmt.Errorf("warehouse: cluster upgrade to version 4: %w", err)
		}
	}
	if err := db.conn.Exec(ctx, fill.Replace("DROP TABLE IF EXISTS ${database}.sentiment_minute ON CLUSTER ${cluster}")); err != nil {
		return fmt.Errorf("warehouse: cluster upgrade to version 4: replace sentiment_minute: %w", err)
	}
	return nil
}

// hasColumn reports whether the server of conn has column in table of the database.
func (db *DB) hasColumn(ctx context.Context, conn driver.Conn, table, column string) (bool, error) {
	var n uint64
	err := conn.QueryRow(ctx, "SELECT count() FROM system.columns WHERE database = ? AND table = ? AND name = ?", db.cfg.Database, table, column).Scan(&n)
	return n > 0, err
}

// entityTerms are the columns version 5 adds to the entities tables, in order.
var entityTerms = []struct{ name, typ string }{{"hashtags", "Array(String)"}, {"words", "Array(String)"}, {"with_terms", "UInt8"}}

// upgradeClusterTo5 adds version 5's columns to a cluster's entities tables: the replicated
// one ON CLUSTER, then each server's Distributed one. Each step looks first, so a cut
// upgrade runs again.
func (db *DB) upgradeClusterTo5(ctx context.Context, fill *strings.Replacer) error {
	for _, c := range entityTerms {
		done, err := db.hasColumn(ctx, db.conn, "entities_local", c.name)
		if err == nil && !done {
			err = db.conn.Exec(ctx, fill.Replace("ALTER TABLE ${database}.entities_local ON CLUSTER ${cluster} ADD COLUMN "+c.name+" "+c.typ))
		}
		if err != nil {
			return fmt.Errorf("warehouse: cluster upgrade to version 5: entities_local.%s: %w", c.name, err)
		}
	}
	for _, c := range entityTerms {
		if err := db.addColumnOnEachServer(ctx, "entities", c.name, c.typ); err != nil {
			return fmt.Errorf("warehouse: cluster upgrade to version 5: %w", err)
		}
	}
	return nil
}

// addColumnOnEachServer adds column (of type spec) to a Distributed table, on every server
// where it lacks it: the Distributed tables are each server's own (18.16 refuses ALTER ON
// CLUSTER of a table that is not replicated on a cluster whose shards are).
func (db *DB) addColumnOnEachServer(ctx context.Context, table, column, spec string) error {
	for _, r := range db.topo.all()[0] {
		conn, err := db.connTo(r)
		if err != nil {
			return fmt.Errorf("%s: %w", r.addr, err)
		}
		done, err := db.hasColumn(ctx, conn, table, column)
		if err == nil && !done {
			err = conn.Exec(ctx, "ALTER TABLE "+db.cfg.Database+"."+table+" ADD COLUMN "+column+" "+spec)
		}
		if err != nil {
			return fmt.Errorf("%s.%s on %s: %w", table, column, r.addr, err)
		}
	}
	return nil
}
