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

// TestBenchDashboardMeasures runs starling bench dashboard on a small warehouse: the feed
// loads through the broker and the ETL, every endpoint is timed over every view, the page
// loads in Chromium, and live probes reach the page.
func TestBenchDashboardMeasures(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	dir := t.TempDir()
	out := filepath.Join(dir, "bench.json")
	shot := filepath.Join(dir, "page.png")
	var stdout strings.Builder
	err := runBenchDashboard(ctx, []string{"--tweets", "3000", "--span", "1h", "--requests", "1", "--page-loads", "1", "--live", "2",
		"--data-dir", filepath.Join(dir, "data"), "--json", out, "--screenshot", shot}, &stdout, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	var r dashBenchResult
	if err := json.Unmarshal(data, &r); err != nil {
		t.Fatal(err)
	}
	if r.Tweets != 3000 || r.Entities == 0 || r.LoadSeconds <= 0 {
		t.Errorf("warehouse: %d tweets, %d entities, loaded in %.1f s", r.Tweets, r.Entities, r.LoadSeconds)
	}
	if len(r.Panels) != len(dashBenchPaths) {
		t.Errorf("%d endpoints measured, want %d", len(r.Panels), len(dashBenchPaths))
	}
	for _, p := range r.Panels {
		if p.Requests != 20 || !(p.P50Ms > 0) || p.P95Ms < p.P50Ms || p.MaxMs < p.P95Ms || p.WorstView == "" {
			t.Errorf("endpoint %+v", p)
		}
	}
	if len(r.Pages) != 3 || !r.Pages[0].Cold {
		t.Errorf("pages %+v", r.Pages)
	}
	for _, p := range r.Pages {
		if !(p.DOMInteractiveMs > 0) || p.ScriptMs < p.DOMInteractiveMs || p.FirstEventMs < p.ScriptMs || p.FirstDataMs < p.FirstEventMs || p.AllPanelsMs < p.FirstDataMs {
			t.Errorf("page marks out of order: %+v", p)
		}
	}
	if len(r.LiveMs) != 2 || !(r.LiveP50Ms > 0) {
		t.Errorf("live %v", r.LiveMs)
	}
	if png, err := os.ReadFile(shot); err != nil || len(png) < 1000 {
		t.Errorf("screenshot: %d bytes, %v", len(png), err)
	}
	t.Log(stdout.String())
}
