package ingest

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/starling-analytics/starling/broker/brokertest"
	"github.com/starling-analytics/starling/internal/tweet"
	"github.com/starling-analytics/starling/sample-data/generator"
)

// TestParseRealV11Payloads parses every real v1.1 payload in testdata: each one is a tweet
// with an id, a time and its full text.
func TestParseRealV11Payloads(t *testing.T) {
	t.Parallel()
	f, err := os.Open("testdata/tweet-formats/v1.1/original_format_examples.json")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	n := 0
	for sc.Scan() {
		if strings.TrimSpace(sc.Text()) == "" {
			continue
		}
		n++
		rec, err := parseOne(sc.Bytes())
		if err != nil {
			t.Errorf("line %d: %v", n, err)
			continue
		}
		if rec.Text == "" || strings.HasSuffix(rec.Text, "…") && !strings.HasPrefix(rec.Text, "RT @") {
			t.Errorf("line %d: text %q is empty or truncated", n, rec.Text)
		}
		if rec.SourceFormat != tweet.FormatV11 {
			t.Errorf("line %d: source format %q", n, rec.SourceFormat)
		}
	}
	if n < 10 {
		t.Fatalf("parsed %d payloads, want the whole file", n)
	}
}

func TestParseLineCases(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("word ", 40) + "#end"
	cases := []struct {
		name, line string
		wantErr    error
		check      func(tweet.Record) bool
	}{
		{"extended text", `{"id_str":"5","created_at":"Sat Mar 14 10:00:00 +0000 2026","text":"short…","truncated":true,"extended_tweet":{"full_text":"` + long + `","entities":{"hashtags":[{"text":"end"}]}},"user":{"id_str":"9","screen_name":"bob"}}`,
			nil, func(r tweet.Record) bool { return r.Text == long && len(r.Hashtags) == 1 && r.Hashtags[0] == "end" }},
		{"retweet", `{"id_str":"6","created_at":"Sat Mar 14 10:00:00 +0000 2026","text":"RT @ann: hi…","retweeted_status":{"id_str":"2","created_at":"Sat Mar 14 09:00:00 +0000 2026","text":"hi there $TSLA","user":{"screen_name":"ann"},"entities":{"hashtags":[]}},"user":{"id_str":"9","screen_name":"bob"}}`,
			nil, func(r tweet.Record) bool {
				return r.Text == "RT @ann: hi there $TSLA" && r.RetweetOf == "2" && r.Mentions[0] == "ann" && r.Cashtags[0] == "TSLA"
			}},
		{"invalid json", `{"id_str":"5",`, ErrInvalidJSON, nil},
		{"delete event", `{"delete":{"status":{"id":1,"id_str":"1","user_id":3},"timestamp_ms":"1773482400000"}}`, nil, func(r tweet.Record) bool {
			return r.IsTombstone() && r.ID == "1" && r.User.ID == "3" && r.Reason == "deleted" && r.CreatedAt.Equal(time.UnixMilli(1773482400000))
		}},
		{"limit notice", `{"limit":{"track":12}}`, ErrNotATweet, nil},
		{"reply", `{"id_str":"8","created_at":"Sat Mar 14 10:00:00 +0000 2026","text":"@ann yes","in_reply_to_status_id":2,"user":{"id_str":"9","screen_name":"bob"}}`,
			nil, func(r tweet.Record) bool { return r.ReplyTo == "2" }},
		{"missing id", `{"created_at":"Sat Mar 14 10:00:00 +0000 2026","text":"hi"}`, ErrMissingID, nil},
		{"bad time", `{"id_str":"7","created_at":"yesterday","text":"hi"}`, ErrBadTime, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rec, err := parseOne([]byte(c.line))
			if c.wantErr != nil {
				if err == nil || reason(err) != c.wantErr.Error() {
					t.Fatalf("err = %v, want %v", err, c.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !c.check(rec) {
				t.Errorf("record = %+v", rec)
			}
		})
	}
}

// parseOne parses a line that must hold exactly one record.
func parseOne(line []byte) (tweet.Record, error) {
	recs, err := ParseLine(line)
	if err != nil {
		return tweet.Record{}, err
	}
	if len(recs) != 1 {
		return tweet.Record{}, fmt.Errorf("the line gave %d records, want 1", len(recs))
	}
	return recs[0], nil
}

// TestReplayIntoBroker replays generated tweets mixed with broken lines into a real broker
// and reads everything back with a consumer group.
func TestReplayIntoBroker(t *testing.T) {
	t.Parallel()
	b := brokertest.Start(t, nil)
	dir := t.TempDir()
	path := filepath.Join(dir, "feed.jsonl.gz")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	zw := gzip.NewWriter(f)
	// Enough tweets for several batches of lines (a megabyte each), so that the workers
	// parse some in buffers that held earlier ones: every record must be produced as
	// its line encodes alone.
	g := generator.New(generator.Config{Seed: 7, Count: 6000})
	want := map[string][]byte{}
	for i := 0; ; i++ {
		line, ok := g.NextJSON()
		if !ok {
			break
		}
		rec, err := parseOne(line)
		if err != nil {
			t.Fatal(err)
		}
		if want[rec.ID], err = tweet.AppendEncode(nil, &rec); err != nil {
			t.Fatal(err)
		}
		zw.Write(line)
		zw.Write([]byte("\n"))
		if i%2000 == 0 {
			zw.Write([]byte("{broken json\n\n{\"delete\":{\"status\":{\"id\":1}}}\n{\"limit\":{\"track\":5}}\n"))
		}
	}
	zw.Close()
	f.Close()

	in, err := New(Config{Brokers: []string{b.Addr}, Inputs: []string{filepath.Join(dir, "*.gz")}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := in.Run(ctx); err != nil {
		t.Fatal(err)
	}
	s := in.Stats()
	if s.Produced != uint64(len(want)+3) || s.Tombstones != 3 || s.Rejected["invalid json"] != 3 || s.Rejected["not a tweet"] != 3 {
		t.Fatalf("stats = %+v, want %d tweets and 3 tombstones produced, 3 invalid json, 3 not a tweet", s, len(want))
	}

	r := kafka.NewReader(kafka.ReaderConfig{Brokers: []string{b.Addr}, GroupID: "check", Topic: tweet.TopicTweets, StartOffset: kafka.FirstOffset, MaxBytes: 4 << 20, MaxWait: 100 * time.Millisecond})
	defer r.Close()
	got := map[string]int{}
	for len(got) < len(want) {
		m, err := r.ReadMessage(ctx)
		if err != nil {
			t.Fatalf("read after %d: %v", len(got), err)
		}
		rec, err := tweet.Decode(m.Value)
		if err != nil {
			t.Fatalf("produced record does not decode: %v", err)
		}
		if rec.IsTombstone() {
			if rec.ID != "1" || string(m.Key) != "1" {
				t.Fatalf("unexpected tombstone %+v", rec)
			}
			continue
		}
		if string(m.Key) != rec.ID || want[rec.ID] == nil {
			t.Fatalf("unexpected record key %s id %s", m.Key, rec.ID)
		}
		if !bytes.Equal(m.Value, want[rec.ID]) {
			t.Fatalf("record %s produced as\n%s\nwant\n%s", rec.ID, m.Value, want[rec.ID])
		}
		got[rec.ID]++
	}
	for id, n := range got {
		if n != 1 {
			t.Errorf("tweet %s produced %d times", id, n)
		}
	}
}

// fakeClock advances only when the replay waits, so pacing is tested without sleeping.
type fakeClock struct{ now time.Time }

func (c *fakeClock) Now() time.Time { return c.now }
func (c *fakeClock) After(d time.Duration) <-chan time.Time {
	c.now = c.now.Add(d)
	ch := make(chan time.Time, 1)
	ch <- c.now
	return ch
}

// TestPacingFollowsFeedTime checks that a paced replay sends each tweet at its feed time
// divided by the speed, and stamps it with that moment.
func TestPacingFollowsFeedTime(t *testing.T) {
	t.Parallel()
	b := brokertest.Start(t, nil)
	dir := t.TempDir()
	lines := []string{
		`{"id_str":"1","created_at":"Sat Mar 14 10:00:00 +0000 2026","text":"a","user":{"id_str":"9","screen_name":"x"}}`,
		`{"id_str":"2","created_at":"Sat Mar 14 10:01:00 +0000 2026","text":"b","user":{"id_str":"9","screen_name":"x"}}`,
		`{"id_str":"3","created_at":"Sat Mar 14 10:11:00 +0000 2026","text":"c","user":{"id_str":"9","screen_name":"x"}}`,
	}
	path := filepath.Join(dir, "feed.jsonl")
	os.WriteFile(path, []byte(strings.Join(lines, "\n")), 0o644)
	start := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	clock := &fakeClock{now: start}
	in, err := New(Config{Brokers: []string{b.Addr}, Inputs: []string{path}, Speed: 60, Clock: clock})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := in.Run(ctx); err != nil {
		t.Fatal(err)
	}
	if want := start.Add(11 * time.Second); !clock.now.Equal(want) {
		t.Fatalf("replay of 11 feed minutes at speed 60 ended at %v, want %v", clock.now, want)
	}
	r := kafka.NewReader(kafka.ReaderConfig{Brokers: []string{b.Addr}, GroupID: "check", Topic: tweet.TopicTweets, StartOffset: kafka.FirstOffset, MaxBytes: 1 << 20, MaxWait: 100 * time.Millisecond})
	defer r.Close()
	stamps := map[string]time.Time{}
	for len(stamps) < 3 {
		m, err := r.ReadMessage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		rec, _ := tweet.Decode(m.Value)
		stamps[rec.ID] = rec.CreatedAt
	}
	want := map[string]time.Time{"1": start, "2": start.Add(time.Second), "3": start.Add(11 * time.Second)}
	for id, at := range want {
		if !stamps[id].Equal(at) {
			t.Errorf("tweet %s stamped %v, want %v", id, stamps[id], at)
		}
	}
}
