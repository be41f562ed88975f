package warehouse_test

import (
	"context"
	"strings"
	"testing"

	"github.com/starling-analytics/starling/warehouse"
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
	cluster, err := warehouse.Open(ctx, warehousetest.Cluster(t))
	if err != nil {
		t.Fatal(err)
	}
	defer cluster.Close()

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
	cfg := warehousetest.Cluster(t)
	db, err := warehouse.Open(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
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
