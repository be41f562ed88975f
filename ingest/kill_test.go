package ingest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/starling-analytics/starling/broker/brokertest"
	"github.com/starling-analytics/starling/internal/tweet"
)

// TestIngestChild is the ingester process of TestCheckpointAfterKill: this test binary,
// re-executed, replays the configuration in STARLING_INGEST_CHILD until it is killed.
func TestIngestChild(t *testing.T) {
	raw := os.Getenv("STARLING_INGEST_CHILD")
	if raw == "" {
		return // not a child
	}
	var cfg Config
	if err := json.Unmarshal([]byte(raw), &cfg); err != nil {
		t.Fatal(err)
	}
	if err := Run(context.Background(), cfg); err != nil {
		t.Fatal(err)
	}
}

// pagedFeed writes a feed mixing v1.1 tweets with Twitter API v2 pages of 25 tweets a line,
// so that a checkpoint can fall inside a line, and returns the tweet ids it holds.
func pagedFeed(t *testing.T, path string, lines int) map[string]bool {
	t.Helper()
	ids := map[string]bool{}
	var buf bytes.Buffer
	v11 := bytes.Split(bytes.TrimSpace(generatedLines(t, 11, lines)), []byte("\n"))
	for i, l := range v11 {
		if i%10 != 5 {
			rec, err := parseOne(l)
			if err != nil {
				t.Fatal(err)
			}
			ids[rec.ID] = true
			buf.Write(l)
			buf.WriteByte('\n')
			continue
		}
		type v2 struct {
			ID        string `json:"id"`
			Text      string `json:"text"`
			CreatedAt string `json:"created_at"`
			AuthorID  string `json:"author_id"`
		}
		var page struct {
			Data     []v2 `json:"data"`
			Includes struct {
				Users []map[string]string `json:"users"`
			} `json:"includes"`
		}
		for j := range 25 {
			id := fmt.Sprintf("%d", 1_900_000_000_000_000_000+i*100+j)
			ids[id] = true
			page.Data = append(page.Data, v2{ID: id, Text: fmt.Sprintf("page %d tweet %d #paged", i, j), CreatedAt: "2026-03-14T10:00:00.000Z", AuthorID: "42"})
		}
		page.Includes.Users = []map[string]string{{"id": "42", "username": "pager"}}
		b, _ := json.Marshal(page)
		buf.Write(b)
		buf.WriteByte('\n')
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return ids
}

// TestCheckpointAfterKill kills an ingester with SIGKILL part-way through a replay, starts
// it again on the same checkpoint, and checks that the second run resumes from the
// checkpoint (it does not read the feed again from the start) and that every tweet is in
// the topic: at least once, and twice only around the kill.
func TestCheckpointAfterKill(t *testing.T) {
	t.Parallel()
	b := brokertest.Start(t, nil)
	dir := t.TempDir()
	feed := filepath.Join(dir, "feed.jsonl")
	ids := pagedFeed(t, feed, 6000)
	cfg := Config{Brokers: []string{b.Addr}, Inputs: []string{feed}, Checkpoint: filepath.Join(dir, "ckpt.json"), Rate: 4000, BatchSize: 100}
	raw, _ := json.Marshal(cfg)
	cmd := exec.Command(os.Args[0], "-test.run=^TestIngestChild$")
	cmd.Env = append(os.Environ(), "STARLING_INGEST_CHILD="+string(raw))
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// Kill it once its checkpoint is well into the feed, past a page line or two.
	deadline := time.Now().Add(60 * time.Second)
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	var ckpt position
	for ckpt.Line < 1500 {
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			cmd.Wait()
			t.Fatalf("the child's checkpoint did not advance: %+v", ckpt)
		}
		<-tick.C
		if data, err := os.ReadFile(cfg.Checkpoint); err == nil {
			ckpt = position{} // Unmarshal keeps fields the JSON leaves out (more is omitted when false)
			json.Unmarshal(data, &ckpt)
		}
	}
	cmd.Process.Kill()
	cmd.Wait()
	data, err := os.ReadFile(cfg.Checkpoint)
	ckpt = position{}
	if err != nil || json.Unmarshal(data, &ckpt) != nil || ckpt.Done {
		t.Fatalf("checkpoint after the kill: %s (%v)", data, err)
	}

	cfg.Rate = 0
	second, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	if err := second.Run(ctx); err != nil {
		t.Fatal(err)
	}
	from := ckpt.Line
	if ckpt.More {
		from--
	}
	if s := second.Stats(); s.Lines != uint64(6000-from) || len(s.Rejected) != 0 {
		t.Fatalf("second run: %+v; want the %d lines after the checkpoint %+v", s, 6000-from, ckpt)
	}

	r := kafka.NewReader(kafka.ReaderConfig{Brokers: []string{b.Addr}, Topic: tweet.TopicTweets, GroupID: "check", StartOffset: kafka.FirstOffset, MaxBytes: 4 << 20, MaxWait: 100 * time.Millisecond, CommitInterval: time.Second})
	defer r.Close()
	seen := map[string]int{}
	for len(seen) < len(ids) {
		m, err := r.ReadMessage(ctx)
		if err != nil {
			t.Fatalf("the topic holds %d of the %d tweets: %v", len(seen), len(ids), err)
		}
		if !ids[string(m.Key)] {
			t.Fatalf("unexpected record %s", m.Key)
		}
		seen[string(m.Key)]++
	}
	twice := 0
	for _, n := range seen {
		if n > 1 {
			twice++
		}
	}
	// Records acknowledged after the last checkpoint write (at most a second of sending
	// at 4,000 tweets/s, and the batches in flight) are sent again.
	if twice > 6000 {
		t.Errorf("%d tweets were sent twice: the resume did not start near the checkpoint %+v", twice, ckpt)
	}
	t.Logf("killed at checkpoint %+v; %d of %d tweets sent twice", ckpt, twice, len(ids))
}
