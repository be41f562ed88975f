package main

import (
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestBenchETLMeasures runs starling bench etl on a feed smaller than one batch: the ETL
// loads it all in its first commit, and the rate, the CPU per tweet and the ratio to
// clickhouse-client's insert of the same rows are still measured (over the whole run).
func TestBenchETLMeasures(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	out := filepath.Join(t.TempDir(), "etl.json")
	var text strings.Builder
	if err := runBenchETL(ctx, []string{"--tweets", "3000", "--rounds", "1", "--rate", "0", "--json", out}, &text, io.Discard); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	var results []etlBenchResult
	if err := json.Unmarshal(data, &results); err != nil {
		t.Fatal(err)
	}
	runs := map[string]etlBenchResult{}
	for _, r := range results {
		runs[r.Run] = r
	}
	etl, raw := runs["throughput"], runs["raw"]
	if etl.Tweets != 3000 || !(etl.TweetsPerS > 0) || !(etl.Seconds > 0) || !(etl.BenchCPUMicros > 0) || !(etl.ServerCPUMicros > 0) {
		t.Errorf("ETL run %+v", etl)
	}
	if raw.Tweets != 3000 || !(raw.TweetsPerS > 0) || !(raw.Ratio > 0) {
		t.Errorf("raw run %+v", raw)
	}
	t.Log(text.String())
}
