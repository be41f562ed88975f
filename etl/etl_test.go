package etl_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/starling-analytics/starling/broker/brokertest"
	"github.com/starling-analytics/starling/etl"
	"github.com/starling-analytics/starling/internal/recordbatch"
	"github.com/starling-analytics/starling/internal/recordbatch/batchtest"
	"github.com/starling-analytics/starling/internal/tweet"
	"github.com/starling-analytics/starling/warehouse"
	"github.com/starling-analytics/starling/warehouse/chlocal"
	"github.com/starling-analytics/starling/warehouse/warehousetest"
)

// The tests run the ETL against franz-go's in-memory Kafka (kfake), spoken to with real
// clients (kafka-go in the ETL, franz-go's kgo to produce and inspect), and a real
// ClickHouse server.

// cluster starts a kfake cluster with the tweet and dead-letter topics.
func cluster(t testing.TB, partitions int32) string {
	t.Helper()
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(partitions, tweet.TopicTweets, tweet.TopicDLQ))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c.ListenAddrs()[0]
}

// feed describes produced tweets and what the warehouse must hold after loading them.
type feed struct {
	ids      map[uint64]bool
	hashtags map[string]uint64   // "minute hashtag" → tweets
	keys     map[uint64][]string // id → its "minute hashtag" keys, to withdraw it
	recs     map[uint64]tweet.Record
}

func newFeed() *feed {
	return &feed{ids: map[uint64]bool{}, hashtags: map[string]uint64{}, keys: map[uint64][]string{}, recs: map[uint64]tweet.Record{}}
}

// withdraw notes that tweet id must not be in the warehouse (a tombstone or edit took it).
func (f *feed) withdraw(id uint64) {
	if !f.ids[id] {
		return
	}
	delete(f.ids, id)
	for _, k := range f.keys[id] {
		if f.hashtags[k]--; f.hashtags[k] == 0 {
			delete(f.hashtags, k)
		}
	}
	delete(f.keys, id)
}

// add notes one record the warehouse must hold.
func (f *feed) add(r tweet.Record) {
	id, _ := strconv.ParseUint(r.ID, 10, 64)
	f.ids[id] = true
	f.recs[id] = r
	seen := map[string]bool{}
	minute := r.CreatedAt.UTC().Truncate(time.Minute).Format("2006-01-02 15:04:05")
	for _, h := range r.Hashtags {
		h = strings.ToLower(h)
		if !seen[h] {
			seen[h] = true
			f.hashtags[minute+" "+h]++
			f.keys[id] = append(f.keys[id], minute+" "+h)
		}
	}
}

// record encodes r as the Kafka record the ingester would produce.
func record(t testing.TB, r tweet.Record) *kgo.Record {
	t.Helper()
	v, err := tweet.Encode(r)
	if err != nil {
		t.Fatal(err)
	}
	return &kgo.Record{Topic: tweet.TopicTweets, Key: []byte(r.Key()), Value: v}
}

var feedBase = time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)

// tweets returns n canonical records with ids from first on, spread over minutes, with
// hashtags in mixed case (some repeated within a tweet), and notes what they should load.
func (f *feed) tweets(t testing.TB, first, n int) []*kgo.Record {
	t.Helper()
	words := []string{"love", "great", "terrible", "weather", "match", "coffee", "not", "good"}
	recs := make([]*kgo.Record, 0, n)
	for id := first; id < first+n; id++ {
		at := feedBase.Add(time.Duration(id) * 700 * time.Millisecond)
		tags := []string{"Go", "tag" + strconv.Itoa(id%7)}
		if id%5 == 0 {
			tags = append(tags, "go", "GoLang") // "go" twice: counted once
		}
		r := tweet.Record{
			ID: strconv.Itoa(id), CreatedAt: at, Lang: []string{"en", "es", "fr"}[id%3],
			Text:     fmt.Sprintf("tweet %d: %s %s #%s", id, words[id%len(words)], words[(id/3)%len(words)], tags[0]),
			User:     tweet.User{ID: strconv.Itoa(1000 + id%50), ScreenName: "user" + strconv.Itoa(id%50), Followers: int64(id % 1000)},
			Hashtags: tags, Mentions: []string{"Someone"}, SourceFormat: tweet.FormatGenerator,
		}
		recs = append(recs, record(t, r))
		f.add(r)
	}
	return recs
}

// produce writes records synchronously, partitioned by key.
func produce(t testing.TB, addr string, recs []*kgo.Record) {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.RecordPartitioner(kgo.StickyKeyPartitioner(nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		t.Fatalf("produce: %v", err)
	}
}

// runETL runs an ETL until the returned stop is called (or the test ends).
func runETL(t testing.TB, cfg etl.Config) (e *etl.ETL, stop func()) {
	t.Helper()
	e, err := etl.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- e.Run(ctx) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("etl.Run: %v", err)
			}
		})
	}
	t.Cleanup(stop)
	return e, stop
}

// testLogger returns the test's logger (one a test, however often asked): Info and above,
// kept in memory and printed when the test fails, streamed to stderr as well with -v.
func testLogger(t testing.TB) *slog.Logger {
	if l, ok := testLogs.Load(t); ok {
		return l.(*testLog).logger
	}
	l := &testLog{}
	var w io.Writer = l
	if testing.Verbose() {
		w = io.MultiWriter(os.Stderr, l)
	}
	l.logger = slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelInfo}))
	if prev, loaded := testLogs.LoadOrStore(t, l); loaded {
		return prev.(*testLog).logger
	}
	t.Cleanup(func() {
		testLogs.Delete(t)
		if t.Failed() && !testing.Verbose() {
			t.Logf("the test's last log lines:\n%s", l.tail())
		}
	})
	return l.logger
}

// testLogs holds each running test's log (testing.TB to *testLog).
var testLogs sync.Map

// testLog keeps the last testLogLines lines a test logged. The tests provoke warnings on
// purpose, so a passing test's log is noise; a failing or hung one's is its cause.
type testLog struct {
	logger *slog.Logger
	mu     sync.Mutex
	lines  []string // a ring, next is the oldest once full
	next   int
}

const testLogLines = 300

// Write takes one record (slog's handlers write each record at once).
func (l *testLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.lines) < testLogLines {
		l.lines = append(l.lines, string(p))
	} else {
		l.lines[l.next] = string(p)
		l.next = (l.next + 1) % testLogLines
	}
	return len(p), nil
}

// tail returns the kept lines, oldest first.
func (l *testLog) tail() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(append(slices.Clone(l.lines[l.next:]), l.lines[:l.next]...), "")
}

// within returns ctx bounded by d for a step that may hang. Should the step not have ended
// by then, the test's log and every goroutine's stack go to stderr at once, while the step
// is still stuck: a test hung until go test's own timeout would print neither.
func within(t testing.TB, ctx context.Context, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(ctx, d)
	stop := context.AfterFunc(ctx, func() {
		if !errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return
		}
		var stacks bytes.Buffer
		pprof.Lookup("goroutine").WriteTo(&stacks, 2)
		fmt.Fprintf(os.Stderr, "--- %s: a step ran past %s; its log:\n%s\n--- goroutines:\n%s\n", t.Name(), d, testLogOf(t), stacks.Bytes())
	})
	t.Cleanup(func() {
		stop()
		cancel()
	})
	return ctx
}

// testLogOf returns the last lines the test logged.
func testLogOf(t testing.TB) string {
	if l, ok := testLogs.Load(t); ok {
		return l.(*testLog).tail()
	}
	return "(none)\n"
}

// waitFor polls cond every 50ms until it holds, failing the test after timeout.
func waitFor(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		<-tick.C
	}
}

// count runs a query returning one UInt64.
func count(t testing.TB, db *warehouse.DB, q string, args ...any) uint64 {
	t.Helper()
	var n uint64
	if err := db.Conn().QueryRow(context.Background(), q, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return n
}

func openDB(t testing.TB, cfg warehouse.Config) *warehouse.DB {
	t.Helper()
	db, err := warehouse.Open(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// checkExactlyOnce verifies that the warehouse holds each tweet of f once and that the
// hashtag aggregate counts each tweet once per hashtag.
func checkExactlyOnce(t testing.TB, db *warehouse.DB, f *feed) {
	t.Helper()
	// Withdrawn tweets leave the table by an asynchronous mutation: count those not withdrawn.
	const live = " FROM tweets WHERE id NOT IN (SELECT id FROM tweet_deletions WHERE retracted = 1)"
	if n, u := count(t, db, "SELECT count()"+live), count(t, db, "SELECT uniqExact(id)"+live); n != uint64(len(f.ids)) || u != n {
		t.Errorf("tweets: %d rows, %d distinct ids; want %d of each", n, u, len(f.ids))
	}
	rows, err := db.Conn().Query(context.Background(),
		"SELECT toString(minute), hashtag, toUInt64(sum(tweets)) AS n FROM hashtag_minute GROUP BY minute, hashtag HAVING n != 0")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	got := map[string]uint64{}
	for rows.Next() {
		var minute, h string
		var n uint64
		if err := rows.Scan(&minute, &h, &n); err != nil {
			t.Fatal(err)
		}
		got[minute+" "+h] = n
	}
	bad := 0
	for k, want := range f.hashtags {
		if got[k] != want {
			if bad++; bad <= 5 {
				t.Errorf("hashtag_minute %s = %d, want %d", k, got[k], want)
			}
		}
	}
	if len(got) != len(f.hashtags) {
		t.Errorf("hashtag_minute has %d (minute, hashtag) pairs, want %d", len(got), len(f.hashtags))
	}
	if n := count(t, db, "SELECT toUInt64(sum(tweets)) FROM sentiment_minute"); n != uint64(len(f.ids)) {
		t.Errorf("sentiment_minute counts %d tweets, want %d", n, len(f.ids))
	}
}

// endOffsets returns the high watermark of each partition of topic.
func endOffsets(t testing.TB, addr, topic string, partitions int) map[int]int64 {
	t.Helper()
	c := &kafka.Client{Addr: kafka.TCP(addr)}
	req := &kafka.ListOffsetsRequest{Topics: map[string][]kafka.OffsetRequest{}}
	for p := range partitions {
		req.Topics[topic] = append(req.Topics[topic], kafka.LastOffsetOf(p))
	}
	resp, err := c.ListOffsets(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	out := map[int]int64{}
	for _, p := range resp.Topics[topic] {
		if p.Error != nil {
			t.Fatal(p.Error)
		}
		out[p.Partition] = p.LastOffset
	}
	return out
}

// committed returns the group's committed offsets of topic (-1 when none).
func committed(t testing.TB, addr, group, topic string, partitions int) map[int]int64 {
	t.Helper()
	c := &kafka.Client{Addr: kafka.TCP(addr)}
	ps := make([]int, partitions)
	for i := range ps {
		ps[i] = i
	}
	resp, err := c.OffsetFetch(context.Background(), &kafka.OffsetFetchRequest{GroupID: group, Topics: map[string][]int{topic: ps}})
	if err != nil {
		t.Fatal(err)
	}
	out := map[int]int64{}
	for _, p := range resp.Topics[topic] {
		out[p.Partition] = p.CommittedOffset
	}
	return out
}

// waitCommitted waits until group etl has committed the ends of the tweet topic's
// partitions.
func waitCommitted(t testing.TB, addr string, ends map[int]int64) {
	t.Helper()
	waitFor(t, 30*time.Second, "group offsets committed", func() bool {
		c := committed(t, addr, "etl", tweet.TopicTweets, len(ends))
		for p, end := range ends {
			if c[p] != end {
				return false
			}
		}
		return true
	})
}

// builtInBroker starts Starling's own broker with the tweet and dead-letter topics, three
// partitions each.
func builtInBroker(t testing.TB) *brokertest.Broker {
	t.Helper()
	b := brokertest.Start(t, nil)
	for _, topic := range []string{tweet.TopicTweets, tweet.TopicDLQ} {
		if err := b.CreateTopic(topic, 3, nil); err != nil {
			t.Fatal(err)
		}
	}
	return b
}

// allLoaded reports whether the warehouse's loaded offsets reached ends, the ends of the
// tweet topic's partitions read earlier.
func allLoaded(t testing.TB, db *warehouse.DB, ends map[int]int64) bool {
	t.Helper()
	loaded, err := db.LoadedOffsets(context.Background(), tweet.TopicTweets)
	if err != nil {
		t.Fatal(err)
	}
	for p, end := range ends {
		// Beyond is fine: the ETL itself may have appended (tombstones of an account's tweets).
		if end > 0 && loaded[int32(p)] < end-1 {
			return false
		}
	}
	return true
}

func TestLoadsEveryTweetOnceWithAggregatesAndCommits(t *testing.T) {
	t.Parallel()
	const partitions, n = 4, 3000
	addr := cluster(t, partitions)
	whCfg := warehousetest.Start(t)
	db := openDB(t, whCfg)
	f := newFeed()
	produce(t, addr, f.tweets(t, 1, n))

	e, stop := runETL(t, etl.Config{Brokers: []string{addr}, Warehouse: whCfg, BatchSize: 500, FlushInterval: 50 * time.Millisecond, Logger: testLogger(t)})
	waitFor(t, time.Minute, "all tweets loaded", func() bool { return count(t, db, "SELECT count() FROM tweets") >= n })
	ends := endOffsets(t, addr, tweet.TopicTweets, partitions)
	waitCommitted(t, addr, ends)
	stop()

	checkExactlyOnce(t, db, f)
	if !allLoaded(t, db, ends) {
		t.Errorf("loaded offsets do not reach the partitions' ends %v", ends)
	}
	// The row carries the transformed record.
	var text, lang, label string
	var hashtags, mentions, words []string
	var user uint64
	var sentiment float32
	if err := db.Conn().QueryRow(context.Background(),
		"SELECT text, lang, hashtags, mentions, words, user_id, sentiment, toString(sentiment_label) FROM tweets WHERE id = 10",
	).Scan(&text, &lang, &hashtags, &mentions, &words, &user, &sentiment, &label); err != nil {
		t.Fatal(err)
	}
	if text != "tweet 10: terrible weather #Go" || lang != "es" || user != 1010 ||
		fmt.Sprint(hashtags) != "[go tag3 golang]" || fmt.Sprint(mentions) != "[someone]" ||
		fmt.Sprint(words) != "[tweet terrible weather]" || sentiment >= 0 || label != "negative" {
		t.Errorf("row 10 = %q %q %v %v %v user %d sentiment %v %s", text, lang, hashtags, mentions, words, user, sentiment, label)
	}
	if s := e.Stats(); s.Loaded != n || s.Consumed < n || s.DeadLettered != 0 || s.Batches == 0 {
		t.Errorf("stats = %+v", s)
	}
}

// TestBacklogLoadsInFullBatches: records waiting in the broker are loaded in full batches,
// however short the flush interval, because each INSERT costs ClickHouse new parts
// whatever its size; a partition that has caught up flushes by the interval.
func TestBacklogLoadsInFullBatches(t *testing.T) {
	t.Parallel()
	const partitions, n, batch = 4, 40000, 2000
	addr := cluster(t, partitions)
	whCfg := warehousetest.Start(t)
	db := openDB(t, whCfg)
	f := newFeed()
	produce(t, addr, f.tweets(t, 1, n))

	e, stop := runETL(t, etl.Config{Brokers: []string{addr}, Warehouse: whCfg, BatchSize: batch, FlushInterval: time.Millisecond, Logger: testLogger(t)})
	defer stop()
	waitFor(t, time.Minute, "all tweets loaded", func() bool { return count(t, db, "SELECT count() FROM tweets") >= n })
	ends := endOffsets(t, addr, tweet.TopicTweets, partitions)
	waitCommitted(t, addr, ends)
	// Every batch of a partition is full but its last; flushed by the interval instead, a
	// third of them were not. Batches cut short otherwise (the partition handed over as the
	// group forms, or its reader stalled on a loaded machine) each cost at most one full
	// batch of the partition.
	full := 0
	for _, end := range ends {
		full += int(end / batch)
	}
	s := e.Stats()
	t.Logf("batches: %d full, %d by the interval, %d after a stalled reader, %d handed over", s.FullBatches, s.IntervalBatches, s.StalledBatches, s.HandoverBatches)
	if s.IntervalBatches > partitions || s.FullBatches+s.StalledBatches+s.HandoverBatches < uint64(full) {
		t.Errorf("the backlog took %d full batches (%d records) and %d by the flush interval, want %d full ones and at most %d by the interval",
			s.FullBatches, batch, s.IntervalBatches, full, partitions)
	}
	// Caught up, a new tweet is flushed by the interval, not held for a full batch.
	produce(t, addr, f.tweets(t, n+1, 1))
	waitFor(t, 30*time.Second, "a tweet after the backlog", func() bool { return count(t, db, "SELECT count() FROM tweets") >= n+1 })
	stop()
	checkExactlyOnce(t, db, f)
}

func TestPoisonRecordsAreDeadLetteredWithoutStalling(t *testing.T) {
	t.Parallel()
	addr := cluster(t, 1)
	whCfg := warehousetest.Start(t)
	db := openDB(t, whCfg)
	f := newFeed()
	good := f.tweets(t, 1, 4)
	poison := map[string]*kgo.Record{
		"not json":     {Topic: tweet.TopicTweets, Key: []byte("p1"), Value: []byte("{not json")},
		"bad id":       {Topic: tweet.TopicTweets, Key: []byte("p2"), Value: []byte(`{"schema":1,"id":"abc","created_at":"2026-05-01T10:00:00Z"}`)},
		"1900":         {Topic: tweet.TopicTweets, Key: []byte("p3"), Value: []byte(`{"schema":1,"id":"77","created_at":"1900-05-01T10:00:00Z"}`)},
		"empty":        {Topic: tweet.TopicTweets, Key: []byte("p4"), Headers: []kgo.RecordHeader{{Key: "trace", Value: []byte("x")}}},
		"future":       {Topic: tweet.TopicTweets, Key: []byte("p5"), Value: []byte(`{"schema":9,"id":"78","created_at":"2026-05-01T10:00:00Z"}`)},
		"user id text": {Topic: tweet.TopicTweets, Key: []byte("p6"), Value: []byte(`{"schema":1,"id":"79","created_at":"2026-05-01T10:00:00Z","user":{"id":"bob"}}`)},
	}
	// good, poison, good, poison, ... and the stream ends with two poison records, so the
	// last batch is recorded through RecordOffsets.
	order := []string{"not json", "bad id", "1900", "empty", "future", "user id text"}
	var recs []*kgo.Record
	for i, name := range order {
		if i < len(good) {
			recs = append(recs, good[i])
		}
		recs = append(recs, poison[name])
	}
	produce(t, addr, recs)

	cfg := etl.Config{Brokers: []string{addr}, Warehouse: whCfg, BatchSize: 3, FlushInterval: 20 * time.Millisecond, Logger: testLogger(t)}
	e, stop := runETL(t, cfg)
	ends := endOffsets(t, addr, tweet.TopicTweets, 1)
	waitFor(t, time.Minute, "the whole partition handled", func() bool { return allLoaded(t, db, ends) })
	stop()
	checkExactlyOnce(t, db, f)
	if s := e.Stats(); s.DeadLettered != uint64(len(poison)) || s.Loaded != uint64(len(good)) {
		t.Errorf("stats = %+v, want %d dead-lettered and %d loaded", s, len(poison), len(good))
	}

	// The dead letters: value, key and headers unchanged, reason and origin added.
	dlq := readAll(t, addr, tweet.TopicDLQ)
	if len(dlq) != len(poison) {
		t.Fatalf("dead-letter topic holds %d records, want %d", len(dlq), len(poison))
	}
	offsets := map[string]int64{}
	for i, r := range recs {
		offsets[string(r.Key)] = int64(i)
	}
	for _, r := range dlq {
		h := map[string]string{}
		for _, x := range r.Headers {
			h[x.Key] = string(x.Value)
		}
		var orig *kgo.Record
		for _, p := range poison {
			if string(p.Key) == string(r.Key) {
				orig = p
			}
		}
		if orig == nil || string(r.Value) != string(orig.Value) {
			t.Errorf("dead letter %q: value %q is not an original poison record", r.Key, r.Value)
			continue
		}
		if h[tweet.HeaderReason] == "" || h[tweet.HeaderTopic] != tweet.TopicTweets || h[tweet.HeaderPartition] != "0" ||
			h[tweet.HeaderOffset] != strconv.FormatInt(offsets[string(r.Key)], 10) {
			t.Errorf("dead letter %q headers = %v, want reason and origin %s/0/%d", r.Key, h, tweet.TopicTweets, offsets[string(r.Key)])
		}
		if string(r.Key) == "p4" && h["trace"] != "x" {
			t.Errorf("dead letter p4 lost its own header: %v", h)
		}
	}

	// A new group starts without committed offsets: the warehouse's loaded offsets (which
	// cover the trailing dead letters too) keep it from loading or dead-lettering again.
	extra := f.tweets(t, 100, 1)
	produce(t, addr, extra)
	cfg.GroupID = "etl-new"
	e2, stop2 := runETL(t, cfg)
	waitFor(t, time.Minute, "the extra tweet loaded", func() bool { return count(t, db, "SELECT count() FROM tweets WHERE id = 100") == 1 })
	stop2()
	checkExactlyOnce(t, db, f)
	if s := e2.Stats(); s.DeadLettered != 0 || s.Consumed != 1 {
		t.Errorf("second group's stats = %+v, want 1 consumed and nothing dead-lettered", s)
	}
	if n := len(readAll(t, addr, tweet.TopicDLQ)); n != len(poison) {
		t.Errorf("dead-letter topic holds %d records after the restart, want %d", n, len(poison))
	}
}

// readAll reads every record of partition 0 of topic up to its current end.
func readAll(t testing.TB, addr, topic string) []*kgo.Record {
	t.Helper()
	end := endOffsets(t, addr, topic, 1)[0]
	if end == 0 {
		return nil
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr),
		kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{topic: {0: kgo.NewOffset().AtStart()}}))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var out []*kgo.Record
	for int64(len(out)) < end {
		fs := cl.PollFetches(ctx)
		if err := ctx.Err(); err != nil {
			t.Fatalf("read %s: %v (have %d of %d)", topic, err, len(out), end)
		}
		fs.EachRecord(func(r *kgo.Record) { out = append(out, r) })
	}
	return out
}

func TestStopMidStreamAndRestartLoadsExactlyOnce(t *testing.T) {
	t.Parallel()
	const partitions, n = 4, 20000
	addr := cluster(t, partitions)
	whCfg := warehousetest.Start(t)
	db := openDB(t, whCfg)
	f := newFeed()
	produce(t, addr, f.tweets(t, 1, n))
	cfg := etl.Config{Brokers: []string{addr}, Warehouse: whCfg, BatchSize: 250, FlushInterval: 20 * time.Millisecond, Logger: testLogger(t)}

	// Stop three times part-way, at growing fill levels; the third restart uses a new
	// group, which has no committed offsets and must rely on the warehouse's.
	for i, group := range []string{"etl", "etl", "etl-other"} {
		cfg.GroupID = group
		before := count(t, db, "SELECT count() FROM tweets")
		_, stop := runETL(t, cfg)
		waitFor(t, time.Minute, "loading to progress", func() bool {
			return count(t, db, "SELECT count() FROM tweets") > before+uint64(n/10)
		})
		stop()
		t.Logf("run %d (group %s) stopped with %d of %d tweets loaded", i+1, group, count(t, db, "SELECT count() FROM tweets"), n)
	}
	cfg.GroupID = "etl"
	_, stop := runETL(t, cfg)
	ends := endOffsets(t, addr, tweet.TopicTweets, partitions)
	waitFor(t, 2*time.Minute, "all tweets loaded", func() bool { return allLoaded(t, db, ends) })
	stop()
	checkExactlyOnce(t, db, f)
}

func TestReplicasShareAndTakeOverPartitions(t *testing.T) {
	t.Parallel()
	const partitions, n = 4, 8000
	addr := cluster(t, partitions)
	whCfg := warehousetest.Start(t)
	db := openDB(t, whCfg)
	f := newFeed()
	cfg := etl.Config{Brokers: []string{addr}, Warehouse: whCfg, BatchSize: 200, FlushInterval: 20 * time.Millisecond, Logger: testLogger(t)}
	a, stopA := runETL(t, cfg)
	b, stopB := runETL(t, cfg)
	// Produce only once both replicas hold partitions, or the first could load everything.
	adm, err := kgo.NewClient(kgo.SeedBrokers(addr))
	if err != nil {
		t.Fatal(err)
	}
	defer adm.Close()
	waitFor(t, time.Minute, "both replicas in the group", func() bool {
		groups, err := kadm.NewClient(adm).DescribeGroups(context.Background(), "etl")
		g := groups["etl"]
		return err == nil && g.State == "Stable" && len(g.Members) == 2
	})
	produce(t, addr, f.tweets(t, 1, n/2))
	waitFor(t, time.Minute, "the first half loaded", func() bool { return count(t, db, "SELECT count() FROM tweets") >= n/2 })
	if a.Stats().Loaded == 0 || b.Stats().Loaded == 0 {
		// Both members got partitions only if the group balanced them; kafka-go's range
		// assignor gives each two of four.
		t.Errorf("loaded by replica a %d, b %d: want both to take part", a.Stats().Loaded, b.Stats().Loaded)
	}
	// One replica leaves mid-stream; the other takes over its partitions.
	produce(t, addr, f.tweets(t, n/2+1, n/2))
	stopA()
	ends := endOffsets(t, addr, tweet.TopicTweets, partitions)
	waitFor(t, 2*time.Minute, "all tweets loaded by the remaining replica", func() bool { return allLoaded(t, db, ends) })
	stopB()
	checkExactlyOnce(t, db, f)
}

func TestWarehouseOutageHoldsCommitsAndResumes(t *testing.T) {
	t.Parallel()
	addr := cluster(t, 2)
	ch, err := chlocal.Start(context.Background(), chlocal.Config{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ch.Close() })
	whCfg := warehouse.Config{Addr: []string{ch.Addr()}, Database: "outage", DialTimeout: time.Second}
	db := openDB(t, whCfg)
	if err := db.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	f := newFeed()
	produce(t, addr, f.tweets(t, 1, 1000))
	e, stop := runETL(t, etl.Config{Brokers: []string{addr}, Warehouse: whCfg, BatchSize: 100, FlushInterval: 20 * time.Millisecond, Logger: testLogger(t)})
	waitFor(t, time.Minute, "the first tweets loaded", func() bool { return e.Stats().Loaded == 1000 })
	ends := endOffsets(t, addr, tweet.TopicTweets, 2)
	waitFor(t, 30*time.Second, "their offsets committed", func() bool {
		c := committed(t, addr, "etl", tweet.TopicTweets, 2)
		return c[0] == ends[0] && c[1] == ends[1]
	})

	// ClickHouse goes away; the ETL keeps consuming into its batches but cannot load.
	if err := ch.Close(); err != nil {
		t.Fatal(err)
	}
	produce(t, addr, f.tweets(t, 1001, 1000))
	waitFor(t, time.Minute, "failed inserts", func() bool { return e.Stats().InsertErrors >= 2 })
	if c := committed(t, addr, "etl", tweet.TopicTweets, 2); c[0] != ends[0] || c[1] != ends[1] {
		t.Errorf("offsets committed while the warehouse was down: %v, want %v", c, ends)
	}
	if s := e.Stats(); s.Loaded != 1000 {
		t.Errorf("loaded %d while the warehouse was down", s.Loaded)
	}

	// Back on the same data and port: the held batches load, once.
	ch2, err := chlocal.Start(context.Background(), chlocal.Config{Dir: ch.Dir(), TCPPort: portOf(t, ch.Addr()), HTTPPort: portOf(t, ch.HTTPAddr())})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ch2.Close() })
	ends = endOffsets(t, addr, tweet.TopicTweets, 2)
	waitFor(t, 2*time.Minute, "everything loaded after the outage", func() bool {
		// The pool's connections died with the first server: errors mean "not yet".
		loaded, err := db.LoadedOffsets(context.Background(), tweet.TopicTweets)
		return err == nil && loaded[0] == ends[0]-1 && loaded[1] == ends[1]-1
	})
	stop()
	checkExactlyOnce(t, db, f)
}

func portOf(t testing.TB, addr string) int {
	t.Helper()
	_, p, _ := strings.Cut(addr, ":")
	n, err := strconv.Atoi(p)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestConfigValidate(t *testing.T) {
	t.Parallel()
	if err := (etl.Config{}).Validate(); err != nil {
		t.Errorf("zero Config: %v", err)
	}
	for _, c := range []etl.Config{
		{Brokers: []string{"no-port"}},
		{BatchSize: -1},
		{FlushInterval: time.Microsecond},
		{Topic: "x", DLQTopic: "x"},
		{Warehouse: warehouse.Config{Database: "bad name"}},
	} {
		if err := c.Validate(); err == nil {
			t.Errorf("Validate(%+v) = nil, want an error", c)
		}
	}
}

// BenchmarkLoad measures end-to-end loading: b.N canonical tweets produced to 4 partitions
// beforehand, then the time for one ETL to load them all. Run with -benchtime=100000x.
func BenchmarkLoad(b *testing.B) {
	const partitions = 4
	addr := cluster(b, partitions)
	whCfg := warehousetest.Start(b)
	db := openDB(b, whCfg)
	f := newFeed()
	recs := f.tweets(b, 1, b.N)
	for i := 0; i < len(recs); i += 50000 {
		produce(b, addr, recs[i:min(i+50000, len(recs))])
	}
	bytes := 0
	for _, r := range recs {
		bytes += len(r.Value)
	}
	b.SetBytes(int64(bytes / max(len(recs), 1)))
	b.ReportAllocs()
	b.ResetTimer()
	_, stop := runETL(b, etl.Config{Brokers: []string{addr}, Warehouse: whCfg, Logger: testLogger(b)})
	ends := endOffsets(b, addr, tweet.TopicTweets, partitions)
	waitFor(b, 10*time.Minute, "all loaded", func() bool { return allLoaded(b, db, ends) })
	b.StopTimer()
	stop()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "tweets/s")
}

// TestDamagedBatchesInTheLogAreDeadLettered writes batches that no broker should have
// accepted (2^31 records declared, a header count of 2^40, a gzip bomb, garbage under each
// codec, ...) straight into a partition's log file, between tweets, bypassing Produce:
// kafka-go alone would run out of memory on some of them or stop reading. The ETL
// dead-letters each with the reason, loads every tweet around them once, and stays up.
func TestDamagedBatchesInTheLogAreDeadLettered(t *testing.T) {
	t.Parallel()
	b := brokertest.Start(t, nil)
	for topic, n := range map[string]int32{tweet.TopicTweets: 2, tweet.TopicDLQ: 1} {
		if err := b.CreateTopic(topic, n, nil); err != nil {
			t.Fatal(err)
		}
	}
	whCfg := warehousetest.Start(t)
	db := openDB(t, whCfg)
	f := newFeed()
	produce(t, b.Addr, f.tweets(t, 1, 2000))
	damaged := batchtest.AllDamaged(t)
	var batches [][]byte
	for _, d := range damaged {
		batches = append(batches, d.Batch)
	}
	bases := b.WriteToLog(t, tweet.TopicTweets, 0, batches...)
	produce(t, b.Addr, f.tweets(t, 2001, 2000))

	e, stop := runETL(t, etl.Config{Brokers: []string{b.Addr}, Warehouse: whCfg, BatchSize: 500, FlushInterval: 20 * time.Millisecond, Logger: testLogger(t)})
	ends := endOffsets(t, b.Addr, tweet.TopicTweets, 2)
	waitFor(t, 2*time.Minute, "both partitions handled", func() bool { return allLoaded(t, db, ends) })
	stop()
	checkExactlyOnce(t, db, f)
	if s := e.Stats(); s.DeadLettered != uint64(len(damaged)) {
		t.Errorf("dead-lettered %d records, want one for each of the %d damaged batches", s.DeadLettered, len(damaged))
	}
	want := map[string]bool{}
	for i, d := range damaged {
		last := bases[i] + int64(binary.BigEndian.Uint32(d.Batch[recordbatch.OffLastOffsetDelta:]))
		want[strconv.FormatInt(last, 10)] = true
	}
	for _, r := range readAll(t, b.Addr, tweet.TopicDLQ) {
		h := map[string]string{}
		for _, x := range r.Headers {
			h[x.Key] = string(x.Value)
		}
		if !strings.HasPrefix(h[tweet.HeaderReason], "unreadable record batch at offsets") || h[tweet.HeaderPartition] != "0" || !want[h[tweet.HeaderOffset]] {
			t.Errorf("dead letter with headers %q: want a damaged batch's reason and its last offset in partition 0", h)
		}
		delete(want, h[tweet.HeaderOffset])
	}
	if len(want) > 0 {
		t.Errorf("no dead letter for the damaged batches ending at offsets %v", want)
	}
}

// TestClockSlowsForATrickleAndSpeedsUpForABacklog: a trickle of tweets is flushed at a
// tick that slows to the max flush interval (each INSERT costs ClickHouse a part to merge,
// whatever its size); a backlog brings it back to the flush interval.
func TestClockSlowsForATrickleAndSpeedsUpForABacklog(t *testing.T) {
	t.Parallel()
	addr := cluster(t, 2)
	whCfg := warehousetest.Start(t)
	db := openDB(t, whCfg)
	f := newFeed()
	// The max is long enough that a backlog's first INSERTs, at the max tick, take at most
	// half of it (3.2 s) even on a busy machine.
	const lo, hi = 100 * time.Millisecond, 6400 * time.Millisecond
	e, stop := runETL(t, etl.Config{Brokers: []string{addr}, Warehouse: whCfg, FlushInterval: lo, MaxFlushInterval: hi, Logger: testLogger(t)})
	defer stop()
	for i := range 8 {
		produce(t, addr, f.tweets(t, i+1, 1))
		waitFor(t, 30*time.Second, "a trickled tweet", func() bool { return count(t, db, "SELECT count() FROM tweets") >= uint64(i+1) })
	}
	if got := e.Stats().FlushInterval; got != hi {
		t.Errorf("after a trickle the flush interval is %s, want the max, %s", got, hi)
	}
	// The first INSERTs of a backlog carry thousands of records: the tick is back at the
	// flush interval (until the backlog's last, small INSERTs slow it again).
	produce(t, addr, f.tweets(t, 9, 20000))
	fast := false
	deadline := time.Now().Add(time.Minute)
	for !fast && time.Now().Before(deadline) {
		fast = e.Stats().FlushInterval == lo
		time.Sleep(time.Millisecond) // poll: the fast tick may last only a few ticks
	}
	if !fast {
		t.Errorf("the flush interval never went back to %s in a backlog of 20,000 tweets; it is %s", lo, e.Stats().FlushInterval)
	}
	waitFor(t, time.Minute, "the backlog", func() bool { return count(t, db, "SELECT count() FROM tweets") >= 20008 })
	stop()
	checkExactlyOnce(t, db, f)
}
