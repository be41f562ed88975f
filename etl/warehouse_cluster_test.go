package etl_test

import (
	"context"
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/starling-analytics/starling/etl"
	"github.com/starling-analytics/starling/internal/tweet"
	"github.com/starling-analytics/starling/warehouse"
	"github.com/starling-analytics/starling/warehouse/chlocal"
	"github.com/starling-analytics/starling/warehouse/warehousetest"
)

// TestClusterWarehouseThroughAReplicaKill loads a feed (with every tenth tweet sent twice,
// some withdrawn by tombstones, and some naming people and places for the entities group) into a warehouse on a ClickHouse cluster of 2 shards ×
// 2 replicas, SIGKILLs the server the ETL writes through (a replica of shard 1) mid-load
// and brings it back a few seconds later. At the end, read through the Distributed
// tables on every server and from each server's own replicas: every tweet of the feed is
// stored once, each replica of a shard holds the same rows, and every server's aggregates
// equal the feed and a recount.
func TestClusterWarehouseThroughAReplicaKill(t *testing.T) {
	t.Parallel()
	const partitions, n = 4, 20000
	ctx := context.Background()
	c, err := chlocal.StartCluster(ctx, chlocal.ClusterConfig{Dir: t.TempDir(), Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() }) // after the database is dropped
	whCfg := warehousetest.OnCluster(t, c)
	addr := cluster(t, partitions)

	f := newFeed()
	recs := f.tweets(t, 1, n)
	for i := 0; i < n; i += 10 { // sent twice, the second time a little later
		recs = append(recs, &kgo.Record{Topic: recs[i].Topic, Key: recs[i].Key, Value: recs[i].Value})
	}
	// Tweets naming people and places, for the entities group, among the others.
	names := []string{"Barack Obama spoke in Chicago today", "Angela Merkel met Emmanuel Macron in Berlin", "Great game by Tom Brady tonight"}
	for id := n + 1; id <= n+600; id++ {
		r := tweet.Record{ID: strconv.Itoa(id), CreatedAt: feedBase.Add(time.Duration(id%n) * 700 * time.Millisecond), Lang: "en", Text: names[id%len(names)],
			User: tweet.User{ID: "5"}, Hashtags: []string{"named"}, SourceFormat: tweet.FormatGenerator}
		f.add(r)
		i := (id - n) * 30 // spread through the feed
		recs = append(recs[:i], append([]*kgo.Record{record(t, r)}, recs[i:]...)...)
	}
	for id := uint64(100); id <= n; id += 97 {
		recs = append(recs, tombstoneOf(t, id, 0, "deleted"))
		f.withdraw(id)
	}

	e, stop := runETL(t, etl.Config{Brokers: []string{addr}, Warehouse: whCfg, BatchSize: 500, FlushInterval: 20 * time.Millisecond, Entities: true, Logger: testLogger(t)})
	waitForStart(t, addr, "entities", partitions) // it starts at the end of the topic
	// The server the ETL's connections use (the first of its addresses) is killed when a
	// third of the feed is loaded, and restarted three seconds later.
	killed := c.Servers[0][0]
	restarted := make(chan error, 1)
	go func() {
		for e.Stats().Loaded < n/3 {
			time.Sleep(10 * time.Millisecond)
		}
		t.Logf("killing %s with %d tweets loaded", killed.Addr(), e.Stats().Loaded)
		killed.Kill()
		time.Sleep(3 * time.Second)
		err := c.Restart(ctx, 0, 0)
		t.Logf("restarted it with %d tweets loaded", e.Stats().Loaded)
		restarted <- err
	}()
	for i := 0; i < len(recs); i += 1000 { // in slices, so that the load lasts while the server is down
		produce(t, addr, recs[i:min(i+1000, len(recs))])
		time.Sleep(150 * time.Millisecond)
	}
	select {
	case err := <-restarted:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(2 * time.Minute):
		t.Fatal("the server was not killed and restarted within two minutes")
	}
	db := openDB(t, whCfg)
	ends := endOffsets(t, addr, tweet.TopicTweets, partitions)
	waitFor(t, 2*time.Minute, "everything loaded", func() bool { return allLoaded(t, db, ends) })
	waitFor(t, 2*time.Minute, "the entities group through the feed", func() bool {
		done, err := db.LoadedOffsets(ctx, "entities:"+tweet.TopicTweets)
		if err != nil {
			t.Fatal(err)
		}
		for p, end := range ends {
			if end > 0 && done[int32(p)] < end-1 {
				return false
			}
		}
		return true
	})
	stop()
	// The entities group's rows: each found once, all on the shard of their tweet.
	if n, u := count(t, db, "SELECT count() FROM entities"), count(t, db, "SELECT uniqExact(tweet_id, entity, kind) FROM entities"); n == 0 || n != u {
		t.Errorf("entities: %d rows, %d distinct (tweet, entity, kind); want as many, and some", n, u)
	}
	if n := count(t, db, "SELECT count() FROM entities WHERE tweet_id NOT IN (SELECT id FROM "+whCfg.Database+".tweet_ids_local)"); n != 0 {
		t.Errorf("%d entities are not on the shard of their tweet", n)
	}
	if s := e.Stats(); s.Loaded < uint64(len(f.ids)) {
		t.Errorf("stats %+v: fewer loaded than the feed's %d tweets", s, len(f.ids))
	}

	// Every server, through its Distributed tables and from its own replicas.
	var shardRows uint64
	for s, shard := range c.Servers {
		var first string
		for r, srv := range shard {
			name := fmt.Sprintf("shard %d replica %d", s+1, r+1)
			cfg := whCfg
			cfg.Addr = []string{srv.Addr()}
			one := openDB(t, cfg)
			for _, table := range []string{"tweets_local", "tweet_ids_local", "tweet_deletions_local", "minute_stats"} {
				if err := one.Conn().Exec(ctx, "SYSTEM SYNC REPLICA "+table); err != nil {
					t.Fatalf("%s: sync %s: %v", name, table, err)
				}
			}
			checkClusterWarehouse(t, one, f, name)
			checkAggregatesRecount(t, one)
			// Each replica of a shard holds the same rows (once the purge's mutation ran
			// on it too).
			var sum string
			waitFor(t, time.Minute, name+": withdrawn tweets purged", func() bool {
				return count(t, one, "SELECT count() FROM tweets_local WHERE id IN (SELECT id FROM tweet_deletions_local WHERE retracted = 1)") == 0
			})
			if err := one.Conn().QueryRow(ctx, "SELECT concat(toString(count()), ' ', toString(sum(cityHash64(id, kafka_offset)))) FROM tweets_local").Scan(&sum); err != nil {
				t.Fatal(err)
			}
			if r == 0 {
				first = sum
				shardRows += count(t, one, "SELECT count() FROM tweets_local")
			} else if sum != first {
				t.Errorf("%s holds %s (rows, checksum), its peer %s", name, sum, first)
			}
		}
	}
	if shardRows != uint64(len(f.ids)) {
		t.Errorf("the shards hold %d tweets, the feed %d", shardRows, len(f.ids))
	}
}

// checkClusterWarehouse checks, on one server of a cluster, the tweets read through the
// Distributed table (every tweet of the feed once, none withdrawn) and the server's replica
// of the aggregates (the feed's hashtag counts and its tweet count).
func checkClusterWarehouse(t *testing.T, db *warehouse.DB, f *feed, name string) {
	t.Helper()
	waitFor(t, time.Minute, name+": withdrawn tweets purged from tweets", func() bool {
		return count(t, db, "SELECT count() FROM tweets") == uint64(len(f.ids))
	})
	if n, u := count(t, db, "SELECT count() FROM tweets"), count(t, db, "SELECT uniqExact(id) FROM tweets"); n != uint64(len(f.ids)) || u != n {
		t.Errorf("%s: tweets has %d rows, %d distinct ids; want %d of each", name, n, u, len(f.ids))
	}
	rows, err := db.Conn().Query(context.Background(), "SELECT id FROM tweets")
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var id uint64
		if err := rows.Scan(&id); err != nil {
			t.Fatal(err)
		}
		if !f.ids[id] {
			t.Errorf("%s: tweet %d is in the warehouse, not in the feed (or withdrawn)", name, id)
		}
	}
	rows.Close()
	got := warehousetest.Counts(t, db, "SELECT concat(toString(minute), ' ', hashtag), toInt64(sum(tweets)) AS n FROM hashtag_minute GROUP BY minute, hashtag HAVING n != 0")
	bad := 0
	for k, want := range f.hashtags {
		if got[k] != int64(want) {
			if bad++; bad <= 5 {
				t.Errorf("%s: hashtag_minute %s = %d, want %d", name, k, got[k], want)
			}
		}
	}
	if len(got) != len(f.hashtags) {
		t.Errorf("%s: hashtag_minute has %d (minute, hashtag) pairs, want %d", name, len(got), len(f.hashtags))
	}
	if n := count(t, db, "SELECT toUInt64(sum(tweets)) FROM sentiment_minute"); n != uint64(len(f.ids)) {
		t.Errorf("%s: sentiment_minute counts %d tweets, want %d", name, n, len(f.ids))
	}
}
