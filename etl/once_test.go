package etl_test

import (
	"context"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/starling-analytics/starling/etl"
	"github.com/starling-analytics/starling/internal/tweet"
	"github.com/starling-analytics/starling/warehouse"
	"github.com/starling-analytics/starling/warehouse/warehousetest"
)

// checkRows waits for the tweets table to hold exactly the feed's tweets: withdrawn
// tweets leave it by an asynchronous mutation, some time after their counts left the
// aggregates.
func checkRows(t *testing.T, db *warehouse.DB, f *feed) {
	t.Helper()
	waitFor(t, time.Minute, "withdrawn tweets purged from tweets", func() bool {
		return count(t, db, "SELECT count() FROM tweets") == uint64(len(f.ids))
	})
	rows, err := db.Conn().Query(context.Background(), "SELECT id FROM tweets")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var id uint64
		if err := rows.Scan(&id); err != nil {
			t.Fatal(err)
		}
		if !f.ids[id] {
			t.Errorf("tweet %d is in the warehouse but was withdrawn", id)
		}
	}
}

// TestDuplicatesLoadOnce produces every tweet twice and some three times, at other
// offsets, as an ingester restarted from an old checkpoint does, and again after the ETL
// loaded the first copies and restarted: each tweet is one row and one count.
func TestDuplicatesLoadOnce(t *testing.T) {
	t.Parallel()
	const partitions, n = 3, 3000
	addr := cluster(t, partitions)
	whCfg := warehousetest.Start(t)
	db := openDB(t, whCfg)
	f := newFeed()
	first := f.tweets(t, 1, n)
	again := func(recs []*kgo.Record) []*kgo.Record { // fresh records: kgo keeps state in them
		out := make([]*kgo.Record, len(recs))
		for i, r := range recs {
			out[i] = &kgo.Record{Topic: r.Topic, Key: r.Key, Value: r.Value}
		}
		return out
	}
	produce(t, addr, first)
	produce(t, addr, again(first)) // again, in other batches
	cfg := etl.Config{Brokers: []string{addr}, Warehouse: whCfg, BatchSize: 400, FlushInterval: 20 * time.Millisecond, Logger: testLogger(t)}
	e, stop := runETL(t, cfg)
	ends := endOffsets(t, addr, tweet.TopicTweets, partitions)
	waitFor(t, time.Minute, "both copies handled", func() bool { return allLoaded(t, db, ends) })
	stop()
	checkExactlyOnce(t, db, f)
	if s := e.Stats(); s.Loaded != n || s.Duplicates != n {
		t.Errorf("stats %+v, want %d loaded and %d duplicates", s, n, n)
	}

	// A third copy of a part, read by a new ETL process with a new group: only the
	// warehouse knows these tweets are there.
	produce(t, addr, again(first[:500]))
	cfg.GroupID = "etl-again"
	e2, stop2 := runETL(t, cfg)
	ends = endOffsets(t, addr, tweet.TopicTweets, partitions)
	waitFor(t, time.Minute, "the third copies handled", func() bool { return allLoaded(t, db, ends) })
	stop2()
	checkExactlyOnce(t, db, f)
	if s := e2.Stats(); s.Loaded != 0 || s.Duplicates != 500 {
		t.Errorf("second ETL's stats %+v, want nothing loaded and 500 duplicates", s)
	}
}

// tombstoneOf is the record withdrawing tweet id (or, with id 0, every tweet of user).
func tombstoneOf(t testing.TB, id, user uint64, why string) *kgo.Record {
	t.Helper()
	r := tweet.Record{Kind: tweet.KindDelete, Reason: why, CreatedAt: feedBase.Add(48 * time.Hour), SourceFormat: tweet.FormatV2}
	if id != 0 {
		r.ID = strconv.FormatUint(id, 10)
	}
	if user != 0 {
		r.User.ID = strconv.FormatUint(user, 10)
	}
	return record(t, r)
}

// TestTombstonesWithdrawTweets sends tombstones of loaded tweets, of tweets in the same
// batch (before and after them), of a tweet that arrives only later, and of a whole
// account: the aggregates lose exactly those tweets and the tweets table lets them go.
func TestTombstonesWithdrawTweets(t *testing.T) {
	t.Parallel()
	const partitions = 3
	addr := cluster(t, partitions)
	whCfg := warehousetest.Start(t)
	db := openDB(t, whCfg)
	f := newFeed()
	produce(t, addr, f.tweets(t, 1, 1000))
	cfg := etl.Config{Brokers: []string{addr}, Warehouse: whCfg, BatchSize: 300, FlushInterval: 20 * time.Millisecond, Logger: testLogger(t)}
	e, stop := runETL(t, cfg)
	waitFor(t, time.Minute, "the tweets loaded", func() bool { return e.Stats().Loaded == 1000 })

	var recs []*kgo.Record
	for id := uint64(1); id <= 100; id++ { // loaded tweets
		recs = append(recs, tombstoneOf(t, id, 0, "deleted"))
		f.withdraw(id)
	}
	recs = append(recs, tombstoneOf(t, 50, 0, "deleted")) // twice
	recs = append(recs, tombstoneOf(t, 5000, 0, "protected"))
	// The account of user 1003 (ids 3, 53, 103, …): its tweets so far go, a later one stays.
	recs = append(recs, tombstoneOf(t, 0, 1003, "suspended"))
	for id := uint64(3); id <= 1000; id += 50 {
		f.withdraw(id)
	}
	produce(t, addr, recs)
	// A tweet and its tombstone share a key, so a partition, and likely a batch: tweet 2000
	// then its tombstone; the tombstone of 2001 then tweet 2001; tweet 5000, withdrawn
	// before it came. And a tweet of user 1003 written after the account's suspension,
	// which stays.
	later := f.tweets(t, 2000, 2)
	f5000 := f.tweets(t, 5000, 1)
	after := tweet.Record{ID: "2053", CreatedAt: feedBase.Add(72 * time.Hour), Text: "back #again", User: tweet.User{ID: "1003"},
		Hashtags: []string{"again"}, SourceFormat: tweet.FormatGenerator}
	f.add(after)
	produce(t, addr, []*kgo.Record{later[0], tombstoneOf(t, 2000, 0, "deleted"), tombstoneOf(t, 2001, 0, "deleted"), later[1], f5000[0], record(t, after)})
	for _, id := range []uint64{2000, 2001, 5000} {
		f.withdraw(id)
	}
	ends := endOffsets(t, addr, tweet.TopicTweets, partitions)
	waitFor(t, time.Minute, "the tombstones handled", func() bool { return allLoaded(t, db, ends) })
	// The account's tombstone has been fanned out by now: wait for those too.
	ends = endOffsets(t, addr, tweet.TopicTweets, partitions)
	waitFor(t, time.Minute, "the account's tweets' tombstones handled", func() bool { return allLoaded(t, db, ends) })
	checkExactlyOnce(t, db, f)
	checkRows(t, db, f)
	stop()

	// Read again from the start by a new group: nothing comes back, nothing is withdrawn twice.
	before := count(t, db, "SELECT count() FROM tweet_deletions")
	cfg.GroupID = "etl-replay"
	if err := db.Conn().Exec(context.Background(), "ALTER TABLE loaded_offsets DELETE WHERE 1"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, time.Minute, "loaded offsets forgotten", func() bool { return count(t, db, "SELECT count() FROM loaded_offsets") == 0 })
	e2, stop2 := runETL(t, cfg)
	waitFor(t, time.Minute, "the topic read again", func() bool { return allLoaded(t, db, ends) })
	stop2()
	checkExactlyOnce(t, db, f)
	checkRows(t, db, f)
	if s := e2.Stats(); s.Loaded != 0 || s.Withdrawn != 0 {
		t.Errorf("the replay loaded %d and withdrew %d, want nothing", s.Loaded, s.Withdrawn)
	}
	if after := count(t, db, "SELECT count() FROM tweet_deletions"); after != before {
		t.Errorf("tweet_deletions grew from %d to %d on the replay", before, after)
	}
}

// edited returns version id of an edited tweet whose versions are history.
func edited(t testing.TB, f *feed, id uint64, history ...uint64) *kgo.Record {
	t.Helper()
	r := tweet.Record{ID: strconv.FormatUint(id, 10), CreatedAt: feedBase.Add(time.Duration(id) * time.Second), Text: "version " + strconv.FormatUint(id, 10) + " #edit",
		User: tweet.User{ID: "77", ScreenName: "editor"}, Hashtags: []string{"edit"}, SourceFormat: tweet.FormatV2}
	for _, h := range history {
		r.EditHistory = append(r.EditHistory, strconv.FormatUint(h, 10))
	}
	f.add(r)
	return record(t, r)
}

// TestEditsKeepTheNewestVersion loads edited tweets in every order: the newest version
// known is the one tweet that counts.
func TestEditsKeepTheNewestVersion(t *testing.T) {
	t.Parallel()
	addr := cluster(t, 3)
	whCfg := warehousetest.Start(t)
	db := openDB(t, whCfg)
	f := newFeed()
	cfg := etl.Config{Brokers: []string{addr}, Warehouse: whCfg, BatchSize: 100, FlushInterval: 20 * time.Millisecond, Logger: testLogger(t)}
	_, stop := runETL(t, cfg)
	// 10 before its edit 11, in two batches; 21 (newest) before 20; 30 and 31 in one batch;
	// 40 → 41 → 42, each in its own batch.
	produce(t, addr, []*kgo.Record{edited(t, f, 10, 10), edited(t, f, 21, 20, 21), edited(t, f, 40, 40)})
	ends := endOffsets(t, addr, tweet.TopicTweets, 3)
	waitFor(t, time.Minute, "the first versions loaded", func() bool { return allLoaded(t, db, ends) })
	produce(t, addr, []*kgo.Record{edited(t, f, 11, 10, 11), edited(t, f, 20, 20, 21), edited(t, f, 30, 30, 31), edited(t, f, 31, 30, 31), edited(t, f, 41, 40, 41)})
	ends = endOffsets(t, addr, tweet.TopicTweets, 3)
	waitFor(t, time.Minute, "the edits loaded", func() bool { return allLoaded(t, db, ends) })
	produce(t, addr, []*kgo.Record{edited(t, f, 42, 40, 41, 42)})
	for _, id := range []uint64{10, 20, 30, 40, 41} {
		f.withdraw(id)
	}
	ends = endOffsets(t, addr, tweet.TopicTweets, 3)
	waitFor(t, time.Minute, "the last edit loaded", func() bool { return allLoaded(t, db, ends) })
	stop()
	checkExactlyOnce(t, db, f)
	checkRows(t, db, f)
}

// TestThreeReplicasJoinAndLeaveUnderProduction runs three ETL processes of one group while
// tweets keep coming: members join, leave and come back; every tweet loads once.
func TestThreeReplicasJoinAndLeaveUnderProduction(t *testing.T) {
	t.Parallel()
	const partitions, chunks, per = 6, 30, 500
	addr := cluster(t, partitions)
	whCfg := warehousetest.Start(t)
	db := openDB(t, whCfg)
	f := newFeed()
	cfg := etl.Config{Brokers: []string{addr}, Warehouse: whCfg, BatchSize: 200, FlushInterval: 20 * time.Millisecond, Logger: testLogger(t)}

	var batches [][]*kgo.Record
	for i := range chunks {
		batches = append(batches, f.tweets(t, 1+i*per, per))
	}
	var wg sync.WaitGroup
	next := make(chan struct{})
	wg.Add(1)
	go func() { // the producer: a chunk each time the test says so
		defer wg.Done()
		for _, b := range batches {
			if _, ok := <-next; !ok {
				return
			}
			produce(t, addr, b)
		}
	}()
	step := func(k int) {
		for range k {
			next <- struct{}{}
		}
	}
	loadedAtLeast := func(n int) {
		waitFor(t, time.Minute, strconv.Itoa(n)+" tweets loaded", func() bool { return count(t, db, "SELECT count() FROM tweets") >= uint64(n) })
	}
	_, stopA := runETL(t, cfg)
	step(5)
	loadedAtLeast(5 * per)
	_, stopB := runETL(t, cfg)
	step(5)
	_, stopC := runETL(t, cfg)
	step(5)
	loadedAtLeast(15 * per)
	stopA() // leaves
	step(5)
	_, stopA2 := runETL(t, cfg) // comes back
	stopB()
	step(5)
	loadedAtLeast(25 * per)
	stopC()
	step(5)
	close(next)
	wg.Wait()
	ends := endOffsets(t, addr, tweet.TopicTweets, partitions)
	waitFor(t, 2*time.Minute, "everything loaded", func() bool { return allLoaded(t, db, ends) })
	stopA2()
	checkExactlyOnce(t, db, f)
}

// TestBuiltInBrokerRestartMidLoad loads from Starling's own broker, which restarts while
// the ETL reads: the ETL reconnects by itself, and every tweet loads once.
func TestBuiltInBrokerRestartMidLoad(t *testing.T) {
	t.Parallel()
	b := builtInBroker(t)
	whCfg := warehousetest.Start(t)
	db := openDB(t, whCfg)
	f := newFeed()
	produce(t, b.Addr, f.tweets(t, 1, 5000))
	_, stop := runETL(t, etl.Config{Brokers: []string{b.Addr}, Warehouse: whCfg, BatchSize: 300, FlushInterval: 20 * time.Millisecond, Logger: testLogger(t)})
	waitFor(t, time.Minute, "loading under way", func() bool { return count(t, db, "SELECT count() FROM tweets") > 500 })
	b.Restart(t)
	produce(t, b.Addr, f.tweets(t, 5001, 5000))
	ends := endOffsets(t, b.Addr, tweet.TopicTweets, 3)
	waitFor(t, 2*time.Minute, "everything loaded after the restart", func() bool { return allLoaded(t, db, ends) })
	stop()
	checkExactlyOnce(t, db, f)
}
