package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/starling-analytics/starling/ingest"
)

// TestBenchPipelineMeasures runs starling bench pipeline's measurement briefly, on this
// binary's processes: every tweet produced is loaded, latencies are sampled, every service
// is measured, and the chart draws.
func TestBenchPipelineMeasures(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	// Two ETL replicas, so that the group with more than one member is what the bench
	// waits for.
	r, err := benchPipeline(ctx, starlingForTests, nil, t.TempDir(),
		pipelineOptions{rate: 1000, duration: 8 * time.Second, etlReplicas: 2, partitions: 3, pollEvery: 50 * time.Millisecond, feed: "zstd"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if r.Feed != "zstd" || r.Produced < 4000 || r.Loaded != r.Produced || r.Samples == 0 || !(r.LatencyP50 > 0) || r.LatencyMax < r.LatencyP99 {
		t.Errorf("result %+v", *r)
	}
	for _, svc := range []string{"broker", "etl-0", "etl-1", "ingest", "clickhouse"} {
		if r.RSS[svc] <= 0 {
			t.Errorf("no memory figure for %s: %v", svc, r.RSS)
		}
	}
	if !strings.HasPrefix(r.Bottleneck, "none at this rate") && !strings.Contains(r.Bottleneck, "saturated") {
		t.Errorf("bottleneck at 1,000 tweets/s: %s", r.Bottleneck)
	}
	// The results as JSON, and a run without a latency sample (a second, or a run, with no
	// new tweet: NaN) among them, which JSON cannot hold.
	if _, err := json.Marshal(r); err != nil {
		t.Errorf("JSON of the result: %v", err)
	}
	r.Series = append(r.Series, pipelineSample{LatencyP50: millis(math.NaN()), LatencyP99: millis(math.NaN())})
	if data, err := json.Marshal(r); err != nil || !strings.Contains(string(data), `"latency_p50_ms":null`) {
		t.Errorf("JSON of a second without samples: %v", err)
	}
	chart := pipelineChart(r)
	if strings.Count(chart, "<svg") != 3 || !strings.Contains(chart, "<polyline") {
		t.Errorf("chart: %.300s", chart)
	}
	var out strings.Builder
	printPipeline(&out, r)
	t.Log(out.String())
}

func TestPipelineRuns(t *testing.T) {
	t.Parallel()
	runs, err := pipelineRuns([]string{"1", "4"}, []string{"one", "2x2"})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range runs {
		got = append(got, fmt.Sprintf("%d/%s", r.etlReplicas, r.warehouse()))
	}
	if strings.Join(got, " ") != "1/one 1/2x2 4/one 4/2x2" {
		t.Errorf("runs %v, want each replica count on one server and the cluster in turn", got)
	}
	for _, bad := range [][2][]string{{{"0"}, {"one"}}, {{"x"}, {"one"}}, {{"1"}, {"2x"}}, {{"1"}, {"3"}}, {{"1"}, {"0x2"}}} {
		if _, err := pipelineRuns(bad[0], bad[1]); err == nil {
			t.Errorf("pipelineRuns(%v, %v) accepted", bad[0], bad[1])
		}
	}
}

// TestGenerateFeedReadsBack stores a generated feed in each way bench pipeline offers and
// reads it back as the ingester does: every line, whole.
func TestGenerateFeedReadsBack(t *testing.T) {
	for _, compression := range feedCompressions {
		path := filepath.Join(t.TempDir(), "feed")
		if err := generateFeed(path, 2000, compression); err != nil {
			t.Fatal(err)
		}
		src := ingest.FileSource(path)
		if err := src.Open(context.Background(), 0); err != nil {
			t.Fatal(err)
		}
		n := 0
		for {
			lines, err := src.Read(context.Background())
			for _, l := range lines {
				if !json.Valid(l.Data) {
					t.Fatalf("%s: line %d is not JSON: %.100s", compression, l.No, l.Data)
				}
			}
			n += len(lines)
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatalf("%s: %v", compression, err)
			}
		}
		src.Close()
		if n != 2000 {
			t.Errorf("%s: %d lines read back, want 2000", compression, n)
		}
	}
}
