package ingest

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/klauspost/compress/zstd"
	"github.com/segmentio/kafka-go"

	"github.com/starling-analytics/starling/broker/brokertest"
	"github.com/starling-analytics/starling/internal/tweet"
	"github.com/starling-analytics/starling/sample-data/generator"
)

// generatedLines returns n generated v1.1 tweets, one a line.
func generatedLines(t testing.TB, seed uint64, n int) []byte {
	t.Helper()
	g := generator.New(generator.Config{Seed: seed, Count: n})
	var buf bytes.Buffer
	for {
		line, ok := g.NextJSON()
		if !ok {
			return buf.Bytes()
		}
		buf.Write(line)
		buf.WriteByte('\n')
	}
}

// TestDryRunReadsEveryCompressionAndDirectories validates, without a broker, a directory
// holding the same feed plain, gzip, bzip2 and zstd compressed (and a hidden file that is
// skipped), given as a directory and again through a glob.
func TestDryRunReadsEveryCompressionAndDirectories(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	archive := filepath.Join(dir, "archive", "2026", "03")
	if err := os.MkdirAll(archive, 0o755); err != nil {
		t.Fatal(err)
	}
	const n = 300
	plain := generatedLines(t, 11, n)
	write := func(name string, data []byte) {
		if err := os.WriteFile(filepath.Join(archive, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("00.jsonl", plain)
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(plain)
	zw.Close()
	write("01.jsonl.gz", gz.Bytes())
	enc, _ := zstd.NewWriter(nil)
	write("02.jsonl.zst", enc.EncodeAll(plain, nil))
	enc.Close()
	bz := exec.Command("bzip2", "-c")
	bz.Stdin = bytes.NewReader(plain)
	out, err := bz.Output()
	if err != nil {
		t.Fatalf("bzip2 (apt-get install bzip2): %v", err)
	}
	write("03.jsonl.bz2", out)
	write(".checkpoint", []byte("not a tweet\n"))

	for _, inputs := range [][]string{{filepath.Join(dir, "archive")}, {filepath.Join(archive, "*.jsonl*")}} {
		in, err := New(Config{Inputs: inputs, DryRun: true})
		if err != nil {
			t.Fatal(err)
		}
		if err := in.Run(context.Background()); err != nil {
			t.Fatal(err)
		}
		s := in.Stats()
		if s.Lines != 4*n || s.Valid != 4*n || s.Produced != 0 || len(s.Rejected) != 0 {
			t.Errorf("inputs %v: stats %+v, want %d valid lines, nothing produced or rejected", inputs, s, 4*n)
		}
	}
}

// TestRatePacing sends at a fixed rate: with a fake clock, 50 tweets at 100/s take 0.49 s.
func TestRatePacing(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, "feed.jsonl")
	if err := os.WriteFile(path, generatedLines(t, 3, 50), 0o644); err != nil {
		t.Fatal(err)
	}
	start := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	clock := &fakeClock{now: start}
	in, err := New(Config{Inputs: []string{path}, Rate: 100, Clock: clock, DryRun: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := in.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got, want := clock.now.Sub(start), 490*time.Millisecond; got != want {
		t.Fatalf("50 tweets at 100/s took %v of fake time, want %v", got, want)
	}
	if _, err := New(Config{Inputs: []string{path}, Rate: 100, Speed: 2}); err == nil {
		t.Fatal("speed and rate together were accepted")
	}
}

// TestCheckpointResume stops a replay part-way, restarts it with the same checkpoint, and
// checks that the second run resumes instead of starting over, that every tweet reaches the
// broker, and that a third run finds the replay complete.
func TestCheckpointResume(t *testing.T) {
	t.Parallel()
	b := brokertest.Start(t, nil)
	dir := t.TempDir()
	const n = 20000
	path := filepath.Join(dir, "feed.jsonl")
	if err := os.WriteFile(path, generatedLines(t, 5, n), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := Config{Brokers: []string{b.Addr}, Inputs: []string{path}, Checkpoint: filepath.Join(dir, "ckpt.json")}

	// The first run is paced so that it is surely stopped part-way.
	paced := cfg
	paced.Rate = 10000
	first, err := New(paced)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- first.Run(ctx) }()
	deadline := time.Now().Add(60 * time.Second)
	for first.Stats().Produced < n/4 {
		if time.Now().After(deadline) {
			t.Fatalf("first run produced only %d", first.Stats().Produced)
		}
		time.Sleep(time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	s1 := first.Stats()
	if s1.Produced >= n {
		t.Fatalf("the first run finished before it was stopped (%d produced); nothing to resume", s1.Produced)
	}
	var ckpt position
	data, err := os.ReadFile(cfg.Checkpoint)
	if err == nil {
		err = json.Unmarshal(data, &ckpt)
	}
	if err != nil || ckpt.File != path || ckpt.Line < 1 || ckpt.Done {
		t.Fatalf("checkpoint after the stop: %s (%v)", data, err)
	}

	second, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx2, cancel2 := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel2()
	if err := second.Run(ctx2); err != nil {
		t.Fatal(err)
	}
	s2 := second.Stats()
	if s2.Lines != uint64(n-ckpt.Line) {
		t.Fatalf("second run read %d lines, want the %d after the checkpoint's line %d", s2.Lines, n-ckpt.Line, ckpt.Line)
	}

	// Everything is in the topic; only records sent after the last checkpoint write are twice.
	r := kafka.NewReader(kafka.ReaderConfig{Brokers: []string{b.Addr}, Topic: tweet.TopicTweets, GroupID: "check", StartOffset: kafka.FirstOffset, MaxBytes: 4 << 20, CommitInterval: time.Second, MaxWait: 100 * time.Millisecond})
	defer r.Close()
	// (A batch in flight at the stop may be in the topic without having been acknowledged.)
	seen := map[string]int{}
	for len(seen) < n {
		m, err := r.ReadMessage(ctx2)
		if err != nil {
			t.Fatalf("the topic holds %d distinct tweets, want %d: %v", len(seen), n, err)
		}
		seen[string(m.Key)]++
	}
	t.Logf("first run %d, second run %d acknowledged; %d sent twice around the stop", s1.Produced, s2.Produced, int(s1.Produced+s2.Produced)-n)

	third, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := third.Run(ctx2); err != nil {
		t.Fatal(err)
	}
	if s3 := third.Stats(); s3.Lines != 0 {
		t.Fatalf("a run after a complete replay read %d lines", s3.Lines)
	}
	if data, _ := os.ReadFile(cfg.Checkpoint); !strings.Contains(string(data), `"done":true`) {
		t.Fatalf("checkpoint after the complete replay: %s", data)
	}
}

// TestGeneratorSource replays the sample-data generator at a fixed rate: every generated
// tweet is valid, and the fake clock shows the rate was kept.
func TestGeneratorSource(t *testing.T) {
	t.Parallel()
	start := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	clock := &fakeClock{now: start}
	in, err := New(Config{Generate: 500, Rate: 1000, Clock: clock, DryRun: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := in.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	if s := in.Stats(); s.Lines != 500 || s.Valid != 500 || len(s.Rejected) != 0 {
		t.Fatalf("stats %+v, want 500 valid generated tweets", s)
	}
	if got := clock.now.Sub(start); got != 499*time.Millisecond {
		t.Fatalf("500 tweets at 1000/s took %v of fake time", got)
	}
	if _, err := New(Config{Generate: 10, Inputs: []string{"x"}}); err == nil {
		t.Fatal("the generator and input files together were accepted")
	}
}

// TestMetricsAndProgress: the Prometheus handler and the progress line report the counters.
func TestMetricsAndProgress(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, "feed.jsonl")
	if err := os.WriteFile(path, append(generatedLines(t, 9, 40), "{broken\n"...), 0o644); err != nil {
		t.Fatal(err)
	}
	var progress bytes.Buffer
	in, err := New(Config{Inputs: []string{path}, DryRun: true, Progress: &progress})
	if err != nil {
		t.Fatal(err)
	}
	if err := in.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	in.MetricsHandler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	for _, want := range []string{"starling_ingest_lines_total 41", "starling_ingest_valid_total 40",
		`starling_ingest_rejected_total{reason="invalid json"} 1`, "starling_ingest_passes_total 1"} {
		if !strings.Contains(rec.Body.String(), want) {
			t.Errorf("metrics lack %q:\n%s", want, rec.Body.String())
		}
	}
	if line := progress.String(); !strings.Contains(line, "40 tweets") || !strings.Contains(line, "1 rejected") {
		t.Errorf("final progress line %q", line)
	}
}

// TestStampGivesSendTimeAndIDs replays generated tweets with Stamp on a fake clock: each
// tweet carries the moment it was sent, and its id says the same.
func TestStampGivesSendTimeAndIDs(t *testing.T) {
	t.Parallel()
	b := brokertest.Start(t, nil)
	start := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	clock := &fakeClock{now: start}
	// Enough records for the stamped ones to fill more than one of emit's encoding blocks.
	const n = 3000
	in, err := New(Config{Brokers: []string{b.Addr}, Generate: n, Rate: 1000, Stamp: true, Clock: clock})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := in.Run(ctx); err != nil {
		t.Fatal(err)
	}
	r := kafka.NewReader(kafka.ReaderConfig{Brokers: []string{b.Addr}, Topic: tweet.TopicTweets, GroupID: "check", StartOffset: kafka.FirstOffset,
		MaxWait: 100 * time.Millisecond, CommitInterval: time.Second})
	defer r.Close()
	ids := map[string]bool{}
	for len(ids) < n {
		m, err := r.ReadMessage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		rec, err := tweet.Decode(m.Value)
		if err != nil {
			t.Fatal(err)
		}
		id, _ := strconv.ParseUint(rec.ID, 10, 64)
		sent := time.UnixMilli(int64(id>>22) + 1288834974657).UTC()
		if !sent.Equal(rec.CreatedAt) || rec.CreatedAt.Before(start) || rec.CreatedAt.After(start.Add(4*time.Second)) || rec.RetweetOf != "" || string(m.Key) != rec.ID {
			t.Fatalf("record %s: created %v, id time %v, key %s", rec.ID, rec.CreatedAt, sent, m.Key)
		}
		if ids[rec.ID] {
			t.Fatalf("id %s twice", rec.ID)
		}
		ids[rec.ID] = true
	}
}

// TestLineTooLongIsSkipped reads a file with a line longer than any tweet between two
// others: it is counted as too long and skipped, and the lines after it are read.
func TestLineTooLongIsSkipped(t *testing.T) {
	t.Parallel()
	lines := bytes.Split(bytes.TrimSpace(generatedLines(t, 3, 2)), []byte("\n"))
	var feed bytes.Buffer
	feed.Write(lines[0])
	feed.WriteString("\n")
	feed.WriteString(`{"id_str":"6","created_at":"Sat Mar 14 10:00:00 +0000 2026","text":"`)
	feed.Write(bytes.Repeat([]byte("x"), maxLine+3<<20))
	feed.WriteString("\"}\n")
	feed.Write(lines[1])
	feed.WriteString("\n")
	path := filepath.Join(t.TempDir(), "long.jsonl")
	if err := os.WriteFile(path, feed.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	in, err := New(Config{Inputs: []string{path}, DryRun: true})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := in.Run(ctx); err != nil {
		t.Fatal(err)
	}
	if s := in.Stats(); s.Valid != 2 || s.Rejected["line too long"] != 1 || ctx.Err() != nil {
		t.Fatalf("stats %+v (%v); want the 2 tweets and 1 line too long", s, ctx.Err())
	}
}

// TestLoopCountsEachPassBytes replays a compressed file in a loop: the bytes of the pass
// under way never exceed the file's size, whatever passes came before.
func TestLoopCountsEachPassBytes(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(generatedLines(t, 5, 200))
	zw.Close()
	path := filepath.Join(dir, "feed.jsonl.gz")
	if err := os.WriteFile(path, gz.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	in, err := New(Config{Inputs: []string{path}, Loop: true, DryRun: true})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- in.Run(ctx) }()
	var s Stats
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		if s = in.Stats(); s.PassBytesRead > s.TotalBytes {
			break
		}
		if s.Passes >= 3 {
			break
		}
	}
	cancel()
	<-done
	size := int64(gz.Len())
	if s.Passes < 3 || s.TotalBytes != size || s.PassBytesRead > size || s.BytesRead < 3*size {
		t.Errorf("after %d passes over %d bytes: %d read in all, %d in the pass under way, of %d; want the pass's at most the file's", s.Passes, size, s.BytesRead, s.PassBytesRead, s.TotalBytes)
	}
}
