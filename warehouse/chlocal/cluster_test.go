package chlocal

import (
	"context"
	"strconv"
	"testing"
)

// TestClusterReplicatesAndShards starts ZooKeeper and 2 shards × 2 replicas, creates a
// replicated table and a Distributed table in front of it ON CLUSTER, inserts through the
// Distributed table, kills one replica, inserts more, brings it back, and checks that every
// replica of a shard holds the same rows, that the shards split them, and that the
// Distributed table reads them all.
func TestClusterReplicatesAndShards(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	c, err := StartCluster(ctx, ClusterConfig{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	first := c.Servers[0][0]
	query(t, first, "CREATE TABLE default.t ON CLUSTER starling (id UInt64) ENGINE = ReplicatedMergeTree('/clickhouse/tables/{shard}/t', '{replica}') ORDER BY id")
	query(t, first, "CREATE TABLE default.t_all ON CLUSTER starling AS default.t ENGINE = Distributed(starling, default, t, id)")
	insert := func(from, n int) {
		query(t, first, "INSERT INTO default.t_all SELECT number FROM system.numbers WHERE number >= "+strconv.Itoa(from)+" LIMIT "+strconv.Itoa(n)+" SETTINGS insert_distributed_sync = 1")
	}
	insert(0, 1000)
	c.Servers[1][1].Kill()
	insert(1000, 1000)
	if err := c.Restart(ctx, 1, 1); err != nil {
		t.Fatal(err)
	}
	// The restarted replica fetches what it missed from its peer, and its peer what the
	// restarted one stored before it was killed: once each has synced (every part
	// ZooKeeper lists is on it), both hold the same rows.
	total := 0
	for s, shard := range c.Servers {
		for _, srv := range shard {
			query(t, srv, "SYSTEM SYNC REPLICA default.t")
		}
		want := query(t, shard[0], "SELECT count() FROM default.t")
		for r, srv := range shard {
			if got := query(t, srv, "SELECT count() FROM default.t"); got != want {
				t.Errorf("shard %d replica %d holds %s rows, its peer %s", s+1, r+1, got, want)
			}
		}
		n, _ := strconv.Atoi(want)
		if n == 0 || n == 2000 {
			t.Errorf("shard %d holds %d of 2000 rows: the rows are not split", s+1, n)
		}
		total += n
	}
	if total != 2000 {
		t.Errorf("the shards hold %d rows, want 2000", total)
	}
	for _, srv := range []*Server{first, c.Servers[1][1]} {
		if got := query(t, srv, "SELECT count(), uniqExact(id) FROM default.t_all"); got != "2000\t2000" {
			t.Errorf("the Distributed table on %s reads %q, want 2000 distinct rows", srv.Addr(), got)
		}
	}
}
