package etl_test

import (
	"context"
	"net"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/starling-analytics/starling/etl"
	"github.com/starling-analytics/starling/ingest"
	"github.com/starling-analytics/starling/internal/tweet"
	"github.com/starling-analytics/starling/sample-data/generator"
	"github.com/starling-analytics/starling/warehouse"
	"github.com/starling-analytics/starling/warehouse/warehousetest"
)

// conns remembers the connections each listener of a kfake cluster accepted, so that a
// broker's "restart" can cut them as a real restart would.
type conns struct {
	mu     sync.Mutex
	byAddr map[string][]net.Conn
}

type trackedListener struct {
	net.Listener
	c *conns
}

func (l trackedListener) Accept() (net.Conn, error) {
	conn, err := l.Listener.Accept()
	if err == nil {
		l.c.mu.Lock()
		l.c.byAddr[l.Addr().String()] = append(l.c.byAddr[l.Addr().String()], conn)
		l.c.mu.Unlock()
	}
	return conn, err
}

func (c *conns) listen(network, address string) (net.Listener, error) {
	ln, err := net.Listen(network, address)
	if err != nil {
		return nil, err
	}
	return trackedListener{ln, c}, nil
}

// cut closes every connection accepted at addr.
func (c *conns) cut(addr string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, conn := range c.byAddr[addr] {
		conn.Close()
	}
	delete(c.byAddr, addr)
}

// TestThreeBrokerClusterThroughLeaderMovesAndARestart runs the ingester and the ETL
// against a three-broker Kafka cluster (kfake) while every partition's leader moves again
// and again, the group coordinator moves, and one broker restarts (its listener closed, its
// connections cut, then back on the same port): every generated tweet is loaded once, and
// the aggregates equal a recount of the tweets table.
func TestThreeBrokerClusterThroughLeaderMovesAndARestart(t *testing.T) {
	t.Parallel()
	const partitions, tweets = 6, 30000
	tracked := &conns{byAddr: map[string][]net.Conn{}}
	c, err := kfake.NewCluster(kfake.NumBrokers(3), kfake.SeedTopics(partitions, tweet.TopicTweets, tweet.TopicDLQ), kfake.ListenFn(tracked.listen))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	addrs := c.ListenAddrs()
	restarted := addrs[1] // node 1: kfake numbers its first brokers in listening order
	_, port, _ := net.SplitHostPort(restarted)

	whCfg := warehousetest.Start(t)
	db := openDB(t, whCfg)
	_, stop := runETL(t, etl.Config{Brokers: addrs, Warehouse: whCfg, BatchSize: 1000, FlushInterval: 50 * time.Millisecond, Logger: testLogger(t)})

	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	started := time.Now()
	ingested := make(chan error, 1)
	go func() {
		ingested <- ingest.Run(ctx, ingest.Config{Brokers: addrs, Generate: tweets, Rate: 6000, Logger: testLogger(t)})
	}()

	// The cluster's weather while the feed runs: leaders move every 300 ms, the group's
	// coordinator moves once, and node 1 goes away for a second and comes back.
	var done error
	tick := time.NewTicker(300 * time.Millisecond)
	defer tick.Stop()
	for round := 0; ; round++ {
		select {
		case done = <-ingested:
		case <-tick.C:
			c.ShufflePartitionLeaders()
			switch round {
			case 4:
				c.RehashCoordinators()
			case 8:
				if err := c.RemoveNode(1); err != nil {
					t.Fatal(err)
				}
				tracked.cut(restarted)
				time.Sleep(time.Second)
				p, _ := strconv.Atoi(port)
				if _, _, err := c.AddNode(1, p); err != nil {
					t.Fatalf("restart node 1 on port %d: %v", p, err)
				}
			}
			continue
		}
		break
	}
	if done != nil {
		t.Fatalf("ingest: %v", done)
	}
	ends := endOffsets(t, addrs[0], tweet.TopicTweets, partitions)
	fed := time.Now()
	waitFor(t, 2*time.Minute, "everything loaded", func() bool { return allLoaded(t, db, ends) })
	t.Logf("the feed took %s; the ETL loaded the rest %s after it", fed.Sub(started).Round(time.Millisecond), time.Since(fed).Round(time.Millisecond))
	stop()

	// warehouse == feed: the generator's ids, each once.
	want := map[uint64]bool{}
	g := generator.New(generator.Config{Count: tweets})
	for {
		tw, ok := g.Next()
		if !ok {
			break
		}
		id, err := strconv.ParseUint(tw.IDStr, 10, 64)
		if err != nil {
			t.Fatal(err)
		}
		want[id] = true
	}
	rows, err := db.Conn().Query(context.Background(), "SELECT id, count() FROM tweets GROUP BY id")
	if err != nil {
		t.Fatal(err)
	}
	got := 0
	for rows.Next() {
		var id, n uint64
		if err := rows.Scan(&id, &n); err != nil {
			t.Fatal(err)
		}
		got++
		if !want[id] || n != 1 {
			t.Errorf("tweet %d: %d rows, in the feed: %v", id, n, want[id])
		}
	}
	rows.Close()
	if got != len(want) {
		t.Errorf("the warehouse holds %d distinct tweets of the feed's %d", got, len(want))
	}
	checkAggregatesRecount(t, db)
}

// checkAggregatesRecount compares every per-minute aggregate the dashboard reads with a
// recount from the tweets table.
func checkAggregatesRecount(t *testing.T, db *warehouse.DB) {
	t.Helper()
	const m = "toString(toStartOfMinute(created_at))"
	for _, c := range []struct{ name, aggregate, recount string }{
		{"hashtag_minute",
			"SELECT concat(toString(minute), ' ', hashtag), toInt64(sum(tweets)) AS n FROM hashtag_minute GROUP BY minute, hashtag HAVING n != 0",
			"SELECT concat(" + m + ", ' ', h), toInt64(count()) FROM tweets ARRAY JOIN hashtags AS h GROUP BY " + m + ", h"},
		{"word_minute",
			"SELECT concat(toString(minute), ' ', word), toInt64(sum(tweets)) AS n FROM word_minute GROUP BY minute, word HAVING n != 0",
			"SELECT concat(" + m + ", ' ', w), toInt64(count()) FROM tweets ARRAY JOIN words AS w GROUP BY " + m + ", w"},
		{"sentiment_minute",
			"SELECT concat(toString(minute), ' ', toString(sentiment_label), ' ', lang), toInt64(sum(tweets)) AS n FROM sentiment_minute GROUP BY minute, sentiment_label, lang HAVING n != 0",
			"SELECT concat(" + m + ", ' ', toString(sentiment_label), ' ', lang), toInt64(count()) FROM tweets GROUP BY " + m + ", sentiment_label, lang"},
	} {
		agg, re := warehousetest.Counts(t, db, c.aggregate), warehousetest.Counts(t, db, c.recount)
		bad := 0
		for k, n := range re {
			if agg[k] != n {
				if bad++; bad <= 5 {
					t.Errorf("%s %q = %d, a recount says %d", c.name, k, agg[k], n)
				}
			}
		}
		if len(agg) != len(re) {
			t.Errorf("%s has %d keys, a recount %d", c.name, len(agg), len(re))
		}
	}
}
