package warehouse_test

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/starling-analytics/starling/warehouse"
	"github.com/starling-analytics/starling/warehouse/chlocal"
	"github.com/starling-analytics/starling/warehouse/warehousetest"
)

// TestClusterSchemaMatchesMigrations migrates a database on one server (the migrations,
// one by one) and one on a cluster (cluster/schema.sql), and compares them: every table and
// view of the one has, on the cluster, the same columns with the same types and defaults,
// the same keys and the engine's Replicated form; each sharded table has a Distributed
// table of its name in front of it.
func TestClusterSchemaMatchesMigrations(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	single := warehousetest.Open(t)
	cluster := warehousetest.OpenCluster(t)

	type table struct{ engine, partition, sorting, columns string }
	read := func(db *warehouse.DB) map[string]table {
		out := map[string]table{}
		rows, err := db.Conn().Query(ctx, "SELECT name, engine, partition_key, sorting_key FROM system.tables WHERE database = currentDatabase()")
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var name string
			var tb table
			if err := rows.Scan(&name, &tb.engine, &tb.partition, &tb.sorting); err != nil {
				t.Fatal(err)
			}
			out[name] = tb
		}
		rows.Close()
		rows, err = db.Conn().Query(ctx, "SELECT table, arrayStringConcat(groupArray(concat(name, ' ', type, ' ', default_kind, ' ', default_expression)), ', ') FROM (SELECT * FROM system.columns WHERE database = currentDatabase()) GROUP BY table")
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		for rows.Next() {
			var name, cols string
			if err := rows.Scan(&name, &cols); err != nil {
				t.Fatal(err)
			}
			tb := out[name]
			tb.columns = cols
			out[name] = tb
		}
		return out
	}
	one, many := read(single), read(cluster)
	if len(one) < 10 {
		t.Fatalf("the migrated database has %d tables: %v", len(one), one)
	}
	for name, want := range one {
		got, ok := many[name]
		local, sharded := many[name+"_local"]
		switch {
		case !ok:
			t.Errorf("the cluster has no %s", name)
			continue
		case sharded:
			if got.engine != "Distributed" {
				t.Errorf("%s on the cluster is %s, want Distributed in front of %s_local", name, got.engine, name)
			}
			if got.columns != want.columns {
				t.Errorf("the Distributed %s's columns are\n%s\nwant\n%s", name, got.columns, want.columns)
			}
			got = local
		}
		wantEngine := want.engine
		if strings.HasSuffix(wantEngine, "MergeTree") {
			wantEngine = "Replicated" + wantEngine
		}
		if got.engine != wantEngine || got.partition != want.partition || got.sorting != want.sorting {
			t.Errorf("%s on the cluster: engine %s, partition %q, order %q; on one server %s, %q, %q", name, got.engine, got.partition, got.sorting, want.engine, want.partition, want.sorting)
		}
		if got.columns != want.columns {
			t.Errorf("%s's columns on the cluster are\n%s\non one server\n%s", name, got.columns, want.columns)
		}
	}
	for name := range many {
		if _, ok := one[strings.TrimSuffix(name, "_local")]; !ok {
			t.Errorf("the cluster has %s, one server has not", name)
		}
	}
}

// TestClusterMigrateRefusesTheSingleServerSchema points a cluster migration at a database
// that holds the single-server schema: it is refused with a clear error.
func TestClusterMigrateRefusesTheSingleServerSchema(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := warehousetest.OpenCluster(t)
	if err := db.Migrate(ctx); err != nil {
		t.Fatalf("a second migration of the cluster: %v", err)
	}
	if err := db.Conn().Exec(ctx, "CREATE TABLE single_minute_stats (x UInt8) ENGINE = MergeTree ORDER BY x"); err != nil {
		t.Fatal(err)
	}
	if err := db.Conn().Exec(ctx, "RENAME TABLE minute_stats TO cluster_minute_stats, single_minute_stats TO minute_stats"); err != nil {
		t.Fatal(err)
	}
	if err := db.Migrate(ctx); err == nil || !strings.Contains(err.Error(), "single-server schema") {
		t.Errorf("Migrate over a single-server table = %v, want the single-server schema refused", err)
	}
}

// TestRecoveryReadsWaitForAReplicaThatAloneHoldsAPart stores tweets through one replica of
// shard 1 while its peer does not fetch, then kills it: the peer does not hold those
// rows, so a lookup of what the warehouse holds must not answer from it (an ETL would
// load the tweets again). It fails while the only holder is down and answers in full once
// it is back.
func TestRecoveryReadsWaitForAReplicaThatAloneHoldsAPart(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	c, err := chlocal.StartCluster(ctx, chlocal.ClusterConfig{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() }) // after the database is dropped
	cfg := warehousetest.OnCluster(t, c)
	holder, peer := c.Servers[0][0], c.Servers[0][1]
	open := func(addr string) *warehouse.DB {
		one := cfg
		one.Addr = []string{addr}
		db, err := warehouse.Open(ctx, one)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		return db
	}
	atPeer := open(peer.Addr())
	if err := atPeer.Conn().Exec(ctx, "SYSTEM STOP FETCHES tweet_ids_local"); err != nil {
		t.Fatal(err)
	}
	var rows []warehouse.TweetRow
	ids := make([]uint64, 200)
	for i := range ids {
		ids[i] = uint64(5000 + i)
		rows = append(rows, warehouse.TweetRow{SentimentModel: "vader", ID: ids[i], CreatedAt: time.Date(2026, 5, 1, 10, 0, i, 0, time.UTC), Lang: "en",
			KafkaTopic: "tweets", KafkaPartition: 7, KafkaOffset: int64(i)})
	}
	atHolder := open(holder.Addr())
	if err := atHolder.InsertTweets(ctx, rows); err != nil {
		t.Fatal(err)
	}
	onShard1 := count(t, atHolder, "SELECT count() FROM tweet_ids_local")
	if onShard1 == 0 || onShard1 == 200 {
		t.Fatalf("shard 1 holds %d of the 200 tweets; the test needs them split", onShard1)
	}
	if n := count(t, atPeer, "SELECT count() FROM tweet_ids_local"); n != 0 {
		t.Fatalf("the peer holds %d tweet ids although it does not fetch", n)
	}
	holder.Kill()

	short, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if got, err := atPeer.LookupIDs(short, ids, nil); err == nil {
		t.Fatalf("with the only holder of shard 1's ids down, LookupIDs answered %d of 200 ids; want an error", len(got))
	}
	if err := c.Restart(ctx, 0, 0); err != nil {
		t.Fatal(err)
	}
	if err := atPeer.Conn().Exec(ctx, "SYSTEM START FETCHES tweet_ids_local"); err != nil {
		t.Fatal(err)
	}
	got, err := atPeer.LookupIDs(ctx, ids, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(ids) {
		t.Errorf("LookupIDs knows %d of the 200 stored ids", len(got))
	}
}

func count(t *testing.T, db *warehouse.DB, q string) uint64 {
	t.Helper()
	var n uint64
	if err := db.Conn().QueryRow(context.Background(), q).Scan(&n); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return n
}

// TestConsoleOnCluster runs the SQL console's examples as the read-only user on a cluster:
// they read the Distributed tables, whose shards the servers query on the user's behalf.
func TestConsoleOnCluster(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	cfg := warehousetest.Cluster(t)
	db, err := warehouse.Open(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	m := loadDashboardModelInto(t, db)
	cfg.Username = chlocal.ConsoleUser
	c, err := warehouse.OpenConsole(ctx, cfg, warehouse.ConsoleLimits{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for _, ex := range warehouse.ConsoleExamples {
		if _, err := c.Query(ctx, ex.SQL); err != nil {
			t.Errorf("%s: %v", ex.Title, err)
		}
	}
	res, err := c.Query(ctx, "SELECT count() FROM tweets")
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Rows) != 1 || len(res.Rows[0]) != 1 || res.Rows[0][0] == nil || *res.Rows[0][0] != fmt.Sprint(len(m.rows)) {
		t.Errorf("the console counts %v through the Distributed table, want %d tweets", res.Rows, len(m.rows))
	}
	if _, err := c.Query(ctx, "INSERT INTO tweets (id) VALUES (1)"); err == nil {
		t.Error("the console wrote into the Distributed table")
	}
}

// TestClusterMigrateTakesTheSchemaLock holds the schema lock on the server every process
// asks for it (the cluster's first) as another live process would: Migrate waits and
// creates nothing; once the lock is gone it migrates.
func TestClusterMigrateTakesTheSchemaLock(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, cfg := openClusterDatabase(t, "_locked")
	first, err := db.LockServer()
	if err != nil {
		t.Fatal(err)
	}
	holdSchemaLock(t, first)
	waitsForTheLock(t, db)
	// On every server: nothing but the lock, on the first.
	var tables []string
	var servers string // every server, each a shard of remote()
	if err := db.Conn().QueryRow(ctx, "SELECT arrayStringConcat(groupArray(concat(host_address, ':', toString(port))), ',') FROM system.clusters WHERE cluster = ?",
		cfg.Cluster).Scan(&servers); err != nil {
		t.Fatal(err)
	}
	rows, err := db.Conn().Query(ctx, "SELECT name FROM remote('"+servers+"', system.tables) WHERE database = ?", cfg.Database)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			t.Fatal(err)
		}
		tables = append(tables, name)
	}
	rows.Close()
	if len(tables) != 1 || tables[0] != warehouse.SchemaLock {
		t.Fatalf("tables made under another's lock: %v", tables)
	}
	if err := first.Exec(ctx, "DROP TABLE "+warehouse.SchemaLock); err != nil {
		t.Fatal(err)
	}
	if errs := migrateAtOnce(ctx, cfg, 3); errors.Join(errs...) != nil {
		t.Fatalf("Migrate once the lock is gone: %v", errs)
	}
	applied, err := db.AppliedMigrations(ctx)
	if err != nil || len(applied) != 5 {
		t.Errorf("applied %v, %v; want versions 1 to 5", applied, err)
	}
}

// openClusterDatabase opens a database of the test cluster of its own, the test database's
// name and suffix, dropped on every server when the test ends.
func openClusterDatabase(t *testing.T, suffix string) (*warehouse.DB, warehouse.Config) {
	t.Helper()
	cfg := warehousetest.Cluster(t)
	cfg.Database += suffix
	db, err := warehouse.Open(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		db.Conn().Exec(context.Background(), "DROP DATABASE IF EXISTS "+cfg.Database+" ON CLUSTER "+cfg.Cluster)
		db.Close()
	})
	return db, cfg
}

//go:embed testdata/cluster-schema-v3.sql
var clusterSchemaV3 string

// TestClusterUpgradeFromVersion3 migrates a cluster made by the release of schema version 3
// (its cluster schema, kept in testdata) with tweets and aggregates in it, from three
// processes at once (the schema lock lets one at a time through): the tables end
// as a new cluster's, and what was there reads as the lexicon engine's scores.
func TestClusterUpgradeFromVersion3(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, cfg := openClusterDatabase(t, "_v3")
	fresh := cfg
	fresh.Database = strings.TrimSuffix(cfg.Database, "_v3")
	if err := db.ApplyClusterSchema(ctx, clusterSchemaV3, 3); err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{
		`INSERT INTO tweets (id, created_at, text, lang, sentiment, sentiment_label, kafka_topic, kafka_partition, kafka_offset)
			SELECT number + 1, toDateTime('2026-03-01 12:00:00') + number * 10, 'old', 'en', 0.5, 'positive', 'tweets', 0, number FROM system.numbers LIMIT 20`,
		`INSERT INTO minute_stats (kind, minute, key, label, partition, first_offset, last_offset, tweets, sentiment_sum)
			SELECT 'sentiment', toStartOfMinute(toDateTime('2026-03-01 12:00:00') + number * 10) AS m, 'en', 'positive', 0, 0, 0, count(), sum(0.5)
			FROM (SELECT number FROM system.numbers LIMIT 20) GROUP BY m`,
	} {
		if err := db.Conn().Exec(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	if errs := migrateAtOnce(ctx, cfg, 3); errors.Join(errs...) != nil { // three processes starting together
		t.Fatal(errs)
	}
	if err := db.Migrate(ctx); err != nil { // and again: nothing left to do
		t.Fatal(err)
	}
	schema := func(database string) string {
		t.Helper()
		rows, err := db.Conn().Query(ctx, `SELECT concat(table, '.', name, ' ', type, ' ', default_expression) FROM system.columns WHERE database = ?
			UNION ALL SELECT concat(name, ' ', engine, ' ', sorting_key) FROM system.tables WHERE database = ?`, database, database)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		var out []string
		for rows.Next() {
			var s string
			if err := rows.Scan(&s); err != nil {
				t.Fatal(err)
			}
			out = append(out, s)
		}
		slices.Sort(out)
		return strings.Join(out, "\n")
	}
	if got, want := schema(cfg.Database), schema(fresh.Database); got != want {
		t.Errorf("the upgraded cluster's schema differs from a new one's:\n got %s\nwant %s", got, want)
	}
	// A replica may not have fetched its peer's part yet: wait for it.
	var got map[string]int64
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		if got = warehousetest.Counts(t, db, "SELECT sentiment_model, toInt64(count()) FROM tweets GROUP BY sentiment_model"); len(got) == 1 && got["vader"] == 20 {
			break
		}
	}
	if len(got) != 1 || got["vader"] != 20 {
		t.Errorf("tweets by model = %v, want vader 20", got)
	}
	if got := warehousetest.Counts(t, db, "SELECT sentiment_model, sum(tweets) FROM sentiment_minute GROUP BY sentiment_model"); len(got) != 1 || got["vader"] != 20 {
		t.Errorf("sentiment_minute by model = %v, want vader 20", got)
	}
}
