package main

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/starling-analytics/starling/ingest"
	"github.com/starling-analytics/starling/warehouse"
	"github.com/starling-analytics/starling/warehouse/warehousetest"
)

// TestPipelineEndToEnd runs `starling up` in this process on a slice of the sample feed
// (with malformed lines mixed in) against a real ClickHouse, and checks that every tweet of
// the slice is in the warehouse exactly once and that the per-minute hashtag counts equal
// the counts computed directly from the slice.
func TestPipelineEndToEnd(t *testing.T) {
	t.Parallel()
	whCfg := warehousetest.Start(t)
	dir := t.TempDir()

	// The first 3,000 tweets of the committed feed, with three broken lines.
	f, err := os.Open(filepath.Join("..", "..", defaultFeed))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(zr)
	sc.Buffer(nil, 1<<20)
	var slice bytes.Buffer
	want := map[string]bool{}
	wantCounts := map[string]uint64{} // "minute|hashtag" → tweets
	for n := 0; n < 3000 && sc.Scan(); n++ {
		recs, err := ingest.ParseLine(sc.Bytes())
		if err != nil || len(recs) != 1 {
			t.Fatalf("feed line %d: %d records, %v", n+1, len(recs), err)
		}
		rec := recs[0]
		want[rec.ID] = true
		seen := map[string]bool{}
		for _, h := range rec.Hashtags {
			h = strings.ToLower(h)
			if !seen[h] {
				seen[h] = true
				wantCounts[rec.CreatedAt.Truncate(time.Minute).Format(time.RFC3339)+"|"+h]++
			}
		}
		slice.Write(sc.Bytes())
		slice.WriteByte('\n')
		if n%1000 == 500 {
			slice.WriteString("{\"truncated json\n")
		}
	}
	input := filepath.Join(dir, "slice.jsonl")
	if err := os.WriteFile(input, slice.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- runUp(ctx, []string{
			"--speed", "0", "--loop=false", "--input", input,
			"--broker-addr", "127.0.0.1:0", "--broker-data-dir", filepath.Join(dir, "broker"),
			"--dashboard-addr", "127.0.0.1:0", "--broker-metrics-addr", "127.0.0.1:0", "--etl-metrics-addr", "127.0.0.1:0",
			"--clickhouse-addr", strings.Join(whCfg.Addr, ","), "--clickhouse-database", whCfg.Database,
			"--log-level", "warn",
		}, io.Discard, os.Stderr)
	}()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("up: %v", err)
		}
	}()

	db, err := warehouse.Open(context.Background(), whCfg)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	count := func(q string) uint64 {
		var n uint64
		if err := db.Conn().QueryRow(context.Background(), q).Scan(&n); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		return n
	}
	deadline := time.Now().Add(2 * time.Minute)
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for count("SELECT count() FROM tweets") < uint64(len(want)) {
		select {
		case err := <-done:
			t.Fatalf("up stopped early: %v", err)
		case <-tick.C:
		}
		if time.Now().After(deadline) {
			t.Fatalf("only %d of %d tweets loaded", count("SELECT count() FROM tweets"), len(want))
		}
	}

	if n := count("SELECT count() FROM tweets"); n != uint64(len(want)) {
		t.Errorf("tweets rows = %d, want %d", n, len(want))
	}
	if n := count("SELECT uniqExact(id) FROM tweets"); n != uint64(len(want)) {
		t.Errorf("distinct ids = %d, want %d", n, len(want))
	}
	// An INSERT writes the tweets table before its materialized views, so the last batch's
	// rows can be visible a moment before its aggregates: wait until they settle.
	hashtagCounts := func() map[string]uint64 {
		rows, err := db.Conn().Query(context.Background(), "SELECT minute, hashtag, toUInt64(sum(tweets)) FROM hashtag_minute GROUP BY minute, hashtag")
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		got := map[string]uint64{}
		for rows.Next() {
			var m time.Time
			var h string
			var n uint64
			if err := rows.Scan(&m, &h, &n); err != nil {
				t.Fatal(err)
			}
			got[m.UTC().Format(time.RFC3339)+"|"+h] = n
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		return got
	}
	mismatches := func(got map[string]uint64) []string {
		var bad []string
		if len(got) != len(wantCounts) {
			bad = append(bad, fmt.Sprintf("hashtag_minute has %d (minute, hashtag) pairs, want %d", len(got), len(wantCounts)))
		}
		for k, n := range wantCounts {
			if got[k] != n {
				bad = append(bad, fmt.Sprintf("hashtag_minute[%s] = %d, want %d", k, got[k], n))
			}
		}
		return bad
	}
	settle := time.Now().Add(30 * time.Second)
	bad := mismatches(hashtagCounts())
	for len(bad) > 0 && time.Now().Before(settle) {
		<-tick.C
		bad = mismatches(hashtagCounts())
	}
	for _, m := range bad {
		t.Error(m)
	}
	// Settled aggregates must not move again: nothing is counted twice.
	if again := mismatches(hashtagCounts()); len(bad) == 0 && len(again) > 0 {
		t.Errorf("aggregates changed after settling: %v", again)
	}
}
