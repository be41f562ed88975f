package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/starling-analytics/starling/etl/sentiment"
	"github.com/starling-analytics/starling/ingest"
	"github.com/starling-analytics/starling/internal/lab"
	"github.com/starling-analytics/starling/sample-data/generator"
	"github.com/starling-analytics/starling/warehouse"
	"github.com/starling-analytics/starling/warehouse/warehousetest"
)

// The fault tests run the pipeline as separate processes (this test binary, re-executed
// as the starling command: see TestMain), break a part of it on purpose, and end with the
// same check: the warehouse holds exactly the feed's tweets, once each, and every aggregate
// equals what the feed implies.

// TestMain runs the starling command instead of the tests when STARLING_TEST_MAIN is set:
// the fault tests start the pipeline's processes from this binary.
func TestMain(m *testing.M) {
	if os.Getenv("STARLING_TEST_MAIN") == "1" {
		main()
		return
	}
	os.Exit(m.Run())
}

// testStack starts a stack whose processes are this binary, with ClickHouse and the broker
// running; it is torn down when the test ends, and its logs are kept for a failure.
func testStack(t *testing.T, brokerFlags ...string) *lab.Stack {
	t.Helper()
	dir := t.TempDir()
	s, err := lab.NewStack(dir, os.Args[0], []string{"STARLING_TEST_MAIN=1"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		s.Close()
		if t.Failed() {
			logs, _ := filepath.Glob(filepath.Join(dir, "*.log"))
			for _, l := range logs {
				data, _ := os.ReadFile(l)
				if len(data) > 4000 {
					data = data[len(data)-4000:]
				}
				t.Logf("--- %s (end):\n%s", filepath.Base(l), data)
			}
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := s.StartClickHouse(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := s.StartBroker(brokerFlags...); err != nil {
		t.Fatal(err)
	}
	return s
}

// feedModel is a generated feed file and what the warehouse must hold once it is loaded,
// computed from the feed the way the ETL computes it.
type feedModel struct {
	path      string
	ids       map[string]bool
	hashtags  map[string]int64 // "minute hashtag"
	words     map[string]int64 // "minute word"
	sentiment map[string]int64 // "minute label lang"
}

func newModel() *feedModel {
	return &feedModel{ids: map[string]bool{}, hashtags: map[string]int64{}, words: map[string]int64{}, sentiment: map[string]int64{}}
}

// writeFeed writes n generated v1.1 tweets (seed decides which) to a file in dir and adds
// them to m.
func (m *feedModel) writeFeed(t *testing.T, dir string, seed uint64, n int) string {
	t.Helper()
	g := generator.New(generator.Config{Seed: seed, Count: n})
	a := etlScorer(t)
	var buf bytes.Buffer
	for {
		line, ok := g.NextJSON()
		if !ok {
			break
		}
		buf.Write(line)
		buf.WriteByte('\n')
		m.addLine(t, a, line)
	}
	path := filepath.Join(dir, fmt.Sprintf("feed-%d.jsonl", seed))
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	m.path = path
	return path
}

// etlScorer is the model the ETL scores with by default.
func etlScorer(t *testing.T) sentiment.Scorer {
	t.Helper()
	s, err := sentiment.ByName(sentiment.Models()[0])
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// addLine adds the tweet of one feed line to the model, as the ETL would load it.
func (m *feedModel) addLine(t *testing.T, a sentiment.Scorer, line []byte) {
	t.Helper()
	recs, err := ingest.ParseLine(line)
	if err != nil || len(recs) != 1 {
		t.Fatalf("feed line: %v", err)
	}
	r := recs[0]
	if m.ids[r.ID] {
		return
	}
	m.ids[r.ID] = true
	minute := r.CreatedAt.UTC().Truncate(time.Minute).Format("2006-01-02 15:04:05")
	_, label, words := a.Analyze(r.Text, nil)
	seen := map[string]bool{}
	for _, h := range r.Hashtags {
		h = strings.ToLower(strings.TrimSpace(h))
		if h != "" && !seen[h] {
			seen[h] = true
			m.hashtags[minute+" "+h]++
		}
	}
	for _, w := range words {
		m.words[minute+" "+w]++
	}
	m.sentiment[minute+" "+label.String()+" "+r.Lang]++
}

// diffCounts describes how got differs from want, or "" when they are equal.
func diffCounts(got, want map[string]int64) string {
	var b strings.Builder
	n := 0
	for k, w := range want {
		if got[k] != w {
			if n++; n <= 5 {
				fmt.Fprintf(&b, " %q: %d, want %d;", k, got[k], w)
			}
		}
	}
	for k, g := range got {
		if _, ok := want[k]; !ok {
			if n++; n <= 5 {
				fmt.Fprintf(&b, " %q: %d, want none;", k, g)
			}
		}
	}
	if n > 5 {
		fmt.Fprintf(&b, " and %d more", n-5)
	}
	return b.String()
}

// checkWarehouse waits until the warehouse holds as many tweets as the model, then
// checks that it holds exactly the model's tweets, once each, and the model's aggregates.
func checkWarehouse(t *testing.T, s *lab.Stack, m *feedModel, timeout time.Duration) {
	t.Helper()
	ctx := context.Background()
	db, err := warehouse.Open(ctx, s.Warehouse)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	deadline := time.Now().Add(timeout)
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	var n uint64
	for {
		if err := db.Conn().QueryRow(ctx, "SELECT count() FROM tweets").Scan(&n); err == nil && n >= uint64(len(m.ids)) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the warehouse holds %d of the feed's %d tweets after %s", n, len(m.ids), timeout)
		}
		<-tick.C
	}
	var rows, distinct uint64
	if err := db.Conn().QueryRow(ctx, "SELECT count(), uniqExact(id) FROM tweets").Scan(&rows, &distinct); err != nil {
		t.Fatal(err)
	}
	if rows != uint64(len(m.ids)) || distinct != rows {
		t.Errorf("tweets: %d rows, %d distinct ids; want the feed's %d, once each", rows, distinct, len(m.ids))
	}
	ids := warehousetest.Counts(t, db, "SELECT toString(id), toInt64(count()) FROM tweets GROUP BY id")
	missing := 0
	for id := range m.ids {
		if ids[id] != 1 {
			missing++
		}
	}
	if missing > 0 || len(ids) != len(m.ids) {
		t.Errorf("%d of the feed's tweets are not in the warehouse once; %d ids there", missing, len(ids))
	}
	const minute = "toString(minute)"
	checks := []struct {
		name  string
		q     string
		model map[string]int64
	}{
		{"hashtag_minute", "SELECT concat(" + minute + ", ' ', hashtag), sum(tweets) AS n FROM hashtag_minute GROUP BY minute, hashtag HAVING n != 0", m.hashtags},
		{"word_minute", "SELECT concat(" + minute + ", ' ', word), sum(tweets) AS n FROM word_minute GROUP BY minute, word HAVING n != 0", m.words},
		{"sentiment_minute", "SELECT concat(" + minute + ", ' ', toString(sentiment_label), ' ', lang), sum(tweets) AS n FROM sentiment_minute GROUP BY minute, sentiment_label, lang HAVING n != 0", m.sentiment},
	}
	diffs := func() []string {
		var out []string
		for _, c := range checks {
			if d := diffCounts(warehousetest.Counts(t, db, c.q), c.model); d != "" {
				out = append(out, c.name+" differs from the feed:"+d)
			}
		}
		return out
	}
	// A batch's tweets are written before its aggregates (its commit), so the last
	// batch's tweets can be counted a moment before its aggregates: wait for them to
	// settle, then check that they stay (nothing is counted twice later).
	settle := time.Now().Add(30 * time.Second)
	bad := diffs()
	for len(bad) > 0 && time.Now().Before(settle) {
		<-tick.C
		bad = diffs()
	}
	for _, d := range bad {
		t.Error(d)
	}
	if len(bad) == 0 {
		time.Sleep(time.Second)
		for _, d := range diffs() {
			t.Errorf("after settling: %s", d)
		}
	}
}

// waitIngest waits for an ingest process to finish its feed.
func waitIngest(t *testing.T, p *lab.Proc, timeout time.Duration) {
	t.Helper()
	if err := p.Wait(timeout); err != nil {
		t.Fatalf("%s: %v", p.Name, err)
	}
}

// after waits d, failing the test if a process of ps exits meanwhile.
func after(t *testing.T, d time.Duration, ps ...*lab.Proc) {
	t.Helper()
	deadline := time.Now().Add(d)
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for time.Now().Before(deadline) {
		for _, p := range ps {
			if done, err := p.Exited(); done {
				t.Fatalf("%s exited: %v", p.Name, err)
			}
		}
		<-tick.C
	}
}

// TestFaultBrokerKilled kills the broker with SIGKILL while tweets flow and starts it
// again: the ingester and the ETL carry on by themselves.
func TestFaultBrokerKilled(t *testing.T) {
	s := testStack(t)
	m := newModel()
	feed := m.writeFeed(t, s.Dir(), 11, 40000)
	etl, err := s.StartETL("etl")
	if err != nil {
		t.Fatal(err)
	}
	in, err := s.StartIngest("ingest", "--input", feed, "--speed", "0", "--rate", "5000", "--checkpoint", filepath.Join(s.Dir(), "ckpt"))
	if err != nil {
		t.Fatal(err)
	}
	after(t, 3*time.Second, etl, in)
	s.Broker().Kill()
	after(t, 2*time.Second, etl, in)
	if _, err := s.StartBroker(); err != nil {
		t.Fatal(err)
	}
	waitIngest(t, in, 3*time.Minute)
	checkWarehouse(t, s, m, 2*time.Minute)
}

// TestFaultClickHouseDown stops ClickHouse for a minute mid-run and starts it again on the
// same data: the ETL holds its batches, commits nothing, and loads them once it is back.
func TestFaultClickHouseDown(t *testing.T) {
	s := testStack(t)
	m := newModel()
	feed := m.writeFeed(t, s.Dir(), 12, 30000)
	etl, err := s.StartETL("etl")
	if err != nil {
		t.Fatal(err)
	}
	in, err := s.StartIngest("ingest", "--input", feed, "--speed", "0", "--rate", "300")
	if err != nil {
		t.Fatal(err)
	}
	after(t, 5*time.Second, etl, in)
	if err := s.StopClickHouse(); err != nil {
		t.Fatal(err)
	}
	after(t, time.Minute, etl, in)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := s.StartClickHouse(ctx); err != nil {
		t.Fatal(err)
	}
	waitIngest(t, in, 3*time.Minute)
	checkWarehouse(t, s, m, 3*time.Minute)
}

// insertInFlight polls ClickHouse's running queries over its HTTP interface until one is
// an INSERT of a batch (into tweets, tweet_ids, tweet_deletions or minute_stats), and
// reports whether one was seen before the timeout.
func insertInFlight(s *lab.Stack, timeout time.Duration) bool {
	deadline := time.Now().Add(timeout)
	addr := s.ClickHouseHTTP()
	q := url.QueryEscape("SELECT count() FROM system.processes WHERE match(query, '^INSERT INTO (tweets|tweet_ids|tweet_deletions|minute_stats) ')")
	c := &http.Client{Timeout: time.Second}
	for time.Now().Before(deadline) {
		resp, err := c.Get("http://" + addr + "/?query=" + q)
		if err == nil {
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if n, err := strconv.Atoi(strings.TrimSpace(string(body))); err == nil && n > 0 {
				return true
			}
		}
		time.Sleep(2 * time.Millisecond) // the poll's own pace
	}
	return false
}

// waitLoading waits until the warehouse holds tweets.
func waitLoading(t *testing.T, s *lab.Stack, timeout time.Duration) {
	t.Helper()
	db, err := warehouse.Open(context.Background(), s.Warehouse)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	deadline := time.Now().Add(timeout)
	for {
		var n uint64
		if err := db.Conn().QueryRow(context.Background(), "SELECT count() FROM tweets").Scan(&n); err == nil && n > 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("nothing loaded after %s", timeout)
		}
		time.Sleep(50 * time.Millisecond) // poll
	}
}

// TestFaultKilledMidInsert kills ClickHouse with SIGKILL twenty times, each time while an
// INSERT of the ETL is in flight (into tweets, tweet_ids or minute_stats, whichever it
// is), and starts it again; then kills the ETL ten times while one of its INSERTs is in
// flight, and starts another. Every batch cut short is loaded again, and no tweet is
// stored or counted twice.
func TestFaultKilledMidInsert(t *testing.T) {
	s := testStack(t)
	m := newModel()
	rng := rand.New(rand.NewPCG(17, 18))
	feed := m.writeFeed(t, s.Dir(), 17, 240000) // 3,000/s for 80 s
	etl, err := s.StartETL("etl")
	if err != nil {
		t.Fatal(err)
	}
	in, err := s.StartIngest("ingest", "--input", feed, "--speed", "0", "--rate", "3000")
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	waitLoading(t, s, time.Minute) // the ETL has migrated and loads: its INSERTs are batches
	// On a loaded machine twenty kills and restarts can outlast the feed: a feed that ends
	// is followed by another, so that there are INSERTs to cut.
	more := uint64(100)
	keepFeeding := func() {
		t.Helper()
		done, err := in.Exited()
		if !done {
			return
		}
		if err != nil {
			t.Fatalf("%s exited: %v", in.Name, err)
		}
		more++
		next := m.writeFeed(t, s.Dir(), more, 60000) // 20 s at 3,000/s
		if in, err = s.StartIngest(fmt.Sprintf("ingest-%d", more), "--input", next, "--speed", "0", "--rate", "3000"); err != nil {
			t.Fatal(err)
		}
	}
	for kill := range 20 {
		keepFeeding()
		if !insertInFlight(s, 30*time.Second) {
			t.Fatalf("no INSERT in flight to cut before kill %d of ClickHouse", kill+1)
		}
		s.KillClickHouse()
		startCtx, cancel := context.WithTimeout(ctx, 2*time.Minute)
		err := s.StartClickHouse(startCtx)
		cancel()
		if err != nil {
			t.Fatalf("restart ClickHouse after kill %d: %v", kill+1, err)
		}
		after(t, time.Duration(200+rng.IntN(800))*time.Millisecond, etl)
	}
	waitIngest(t, in, 3*time.Minute)

	feed2 := m.writeFeed(t, s.Dir(), 18, 450000) // 3,000/s for 150 s
	in, err = s.StartIngest("ingest-2", "--input", feed2, "--speed", "0", "--rate", "3000")
	if err != nil {
		t.Fatal(err)
	}
	for kill := range 10 {
		if !insertInFlight(s, time.Minute) {
			t.Fatalf("no INSERT in flight to cut before kill %d of the ETL", kill+1)
		}
		etl.Kill()
		if etl, err = s.StartETL(fmt.Sprintf("etl-%d", kill+1)); err != nil {
			t.Fatal(err)
		}
		after(t, time.Duration(500+rng.IntN(1500))*time.Millisecond, etl)
	}
	waitIngest(t, in, 5*time.Minute)
	checkWarehouse(t, s, m, 5*time.Minute)
}

// TestFaultETLKilledAndReplicas runs three ETL processes of one group while tweets flow:
// one is killed with SIGKILL mid-batch, another leaves cleanly, a fourth joins.
func TestFaultETLKilledAndReplicas(t *testing.T) {
	s := testStack(t, "--broker-partitions", "6")
	m := newModel()
	feed := m.writeFeed(t, s.Dir(), 13, 60000)
	var etls []*lab.Proc
	for i := range 3 {
		p, err := s.StartETL(fmt.Sprintf("etl-%d", i))
		if err != nil {
			t.Fatal(err)
		}
		etls = append(etls, p)
	}
	in, err := s.StartIngest("ingest", "--input", feed, "--speed", "0", "--rate", "6000")
	if err != nil {
		t.Fatal(err)
	}
	after(t, 3*time.Second, append(etls, in)...)
	etls[0].Kill() // mid-batch, at 6,000 tweets/s
	after(t, 2*time.Second, etls[1], etls[2], in)
	etls[1].Stop(30 * time.Second)
	joined, err := s.StartETL("etl-3")
	if err != nil {
		t.Fatal(err)
	}
	waitIngest(t, in, 3*time.Minute)
	checkWarehouse(t, s, m, 3*time.Minute)
	for _, p := range []*lab.Proc{etls[2], joined} {
		if done, err := p.Exited(); done {
			t.Errorf("%s exited: %v", p.Name, err)
		}
	}
}

// TestFaultIngesterKilled kills the ingester with SIGKILL mid-feed and starts it again on
// its checkpoint: it resumes, and what it sends twice around the kill is loaded once.
func TestFaultIngesterKilled(t *testing.T) {
	s := testStack(t)
	m := newModel()
	feed := m.writeFeed(t, s.Dir(), 14, 30000)
	etl, err := s.StartETL("etl")
	if err != nil {
		t.Fatal(err)
	}
	ckpt := filepath.Join(s.Dir(), "ckpt")
	in, err := s.StartIngest("ingest", "--input", feed, "--speed", "0", "--rate", "5000", "--checkpoint", ckpt)
	if err != nil {
		t.Fatal(err)
	}
	after(t, 3*time.Second, etl, in)
	in.Kill()
	again, err := s.StartIngest("ingest-again", "--input", feed, "--speed", "0", "--checkpoint", ckpt)
	if err != nil {
		t.Fatal(err)
	}
	waitIngest(t, again, 3*time.Minute)
	log, _ := os.ReadFile(filepath.Join(s.Dir(), "ingest-again.log"))
	if !bytes.Contains(log, []byte("resuming from the checkpoint")) {
		t.Errorf("the restarted ingester did not resume from its checkpoint:\n%s", log)
	}
	checkWarehouse(t, s, m, 2*time.Minute)
}

// TestFaultBurst sends ten times the normal rate for a minute, on top of the normal flow.
func TestFaultBurst(t *testing.T) {
	s := testStack(t)
	m := newModel()
	normal := m.writeFeed(t, s.Dir(), 15, 60000) // 600/s for 100 s
	burst := m.writeFeed(t, s.Dir(), 16, 324000) // 5,400/s more for 60 s: 6,000/s in all
	etl, err := s.StartETL("etl")
	if err != nil {
		t.Fatal(err)
	}
	in, err := s.StartIngest("ingest", "--input", normal, "--speed", "0", "--rate", "600")
	if err != nil {
		t.Fatal(err)
	}
	after(t, 20*time.Second, etl, in)
	b, err := s.StartIngest("ingest-burst", "--input", burst, "--speed", "0", "--rate", "5400")
	if err != nil {
		t.Fatal(err)
	}
	waitIngest(t, b, 3*time.Minute)
	waitIngest(t, in, 3*time.Minute)
	checkWarehouse(t, s, m, 3*time.Minute)
}

// TestFaultDiskFull fills the broker's disk under the pipeline (a file size limit on its
// process, lowered while it runs): producers get errors and retry, nothing acknowledged is
// lost or corrupted, and once there is room again (the limit raised, as if space had been
// freed) the pipeline catches up by itself.
func TestFaultDiskFull(t *testing.T) {
	// Small segments, so that the limit falls inside one while the feed is sent.
	s := testStack(t, "--broker-segment-bytes", "8388608")
	m := newModel()
	feed := m.writeFeed(t, s.Dir(), 17, 40000)
	etl, err := s.StartETL("etl")
	if err != nil {
		t.Fatal(err)
	}
	limit := func(bytes uint64) {
		t.Helper()
		if err := unix.Prlimit(s.Broker().PID(), unix.RLIMIT_FSIZE, &unix.Rlimit{Cur: bytes, Max: unix.RLIM_INFINITY}, nil); err != nil {
			t.Fatal(err)
		}
	}
	limit(512 << 10) // a segment may grow to 512 KiB: the disk is "full" soon after the start
	in, err := s.StartIngest("ingest", "--input", feed, "--speed", "0", "--rate", "4000")
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(time.Minute)
	tick := time.NewTicker(100 * time.Millisecond)
	for {
		log, _ := os.ReadFile(filepath.Join(s.Dir(), "ingest.log"))
		if bytes.Contains(log, []byte("produce failed; retrying")) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the ingester never got a storage error:\n%s", log)
		}
		<-tick.C
	}
	tick.Stop()
	after(t, 3*time.Second, etl, in)
	limit(unix.RLIM_INFINITY) // space freed
	waitIngest(t, in, 3*time.Minute)
	checkWarehouse(t, s, m, 2*time.Minute)
}

// TestSoakMemoryStaysFlat runs the pipeline at a steady rate for three minutes and checks
// that no process's memory keeps growing: the last minute's peak is within a margin of
// the first minute's.
func TestSoakMemoryStaysFlat(t *testing.T) {
	s := testStack(t)
	etl, err := s.StartETL("etl")
	if err != nil {
		t.Fatal(err)
	}
	in, err := s.StartIngest("ingest", "--generate", "200000", "--loop", "--rate", "3000")
	if err != nil {
		t.Fatal(err)
	}
	procs := []*lab.Proc{s.Broker(), etl, in}
	peak := func(d time.Duration) []int64 {
		out := make([]int64, len(procs))
		deadline := time.Now().Add(d)
		tick := time.NewTicker(time.Second)
		defer tick.Stop()
		for time.Now().Before(deadline) {
			for i, p := range procs {
				if done, err := p.Exited(); done {
					t.Fatalf("%s exited: %v", p.Name, err)
				}
				if _, rss, err := lab.ProcUsage(p.PID()); err == nil {
					out[i] = max(out[i], rss)
				}
			}
			<-tick.C
		}
		return out
	}
	peak(30 * time.Second) // warm-up: caches, the group, the first batches
	first := peak(time.Minute)
	peak(30 * time.Second)
	last := peak(time.Minute)
	for i, p := range procs {
		t.Logf("%s: peak RSS %.1f MiB in the first minute, %.1f MiB in the last", p.Name, float64(first[i])/(1<<20), float64(last[i])/(1<<20))
		if last[i] > first[i]+first[i]/4+16<<20 {
			t.Errorf("%s's memory grew from %d to %d bytes", p.Name, first[i], last[i])
		}
	}
	// The test is about a steady load: 3,000 tweets a second for three minutes is 540,000.
	// Far fewer loaded means the feed was paced some other way (by its timestamps: a few a
	// second), and memory was not measured under load.
	db, err := warehouse.Open(context.Background(), s.Warehouse)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if n, err := db.Rows(context.Background(), "tweets"); err != nil || n < 100_000 {
		t.Errorf("%d tweets loaded in three minutes (%v): not the load the test is about", n, err)
	}
}
