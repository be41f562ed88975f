package dashboard_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/starling-analytics/starling/dashboard"
	"github.com/starling-analytics/starling/warehouse"
	"github.com/starling-analytics/starling/warehouse/warehousetest"
)

// xss is a hashtag and word carrying markup: it must show as text, never run.
const xss = `<img src=x onerror="window.__pwned=1">`

// seed loads a few hundred tweets over half an hour into a fresh warehouse.
func seed(t *testing.T) *warehouse.DB {
	t.Helper()
	db := warehousetest.Open(t)
	base := time.Now().UTC().Truncate(time.Minute).Add(-30 * time.Minute)
	tags := []string{"launchday", "music", "news", "football", "tech", "coffee", xss}
	words := []string{"amazing", "phone", "update", "concert", "weather", "traffic", "team", "love", "broken", xss}
	var rows []warehouse.TweetRow
	for i := range 600 {
		s := float32((i%7)-3) / 3
		label := warehouse.LabelNeutral
		if s >= 0.05 {
			label = warehouse.LabelPositive
		} else if s <= -0.05 {
			label = warehouse.LabelNegative
		}
		rows = append(rows, warehouse.TweetRow{
			ID:             uint64(i + 1),
			CreatedAt:      base.Add(time.Duration(i*3) * time.Second),
			Text:           fmt.Sprintf("tweet %d", i),
			Lang:           "en",
			Hashtags:       []string{tags[i%len(tags)], tags[(i*i)%3]},
			Words:          []string{words[i%len(words)], words[(i/3)%len(words)]},
			Sentiment:      s,
			SentimentLabel: label,
		})
	}
	if err := db.InsertTweets(context.Background(), rows); err != nil {
		t.Fatal(err)
	}
	return db
}

func TestAPI(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(dashboard.NewHandler(seed(t), nil))
	defer srv.Close()
	get := func(path string, status int, v any) {
		t.Helper()
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if resp.StatusCode != status {
			t.Fatalf("GET %s: %s, want %d", path, resp.Status, status)
		}
		if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") {
			t.Errorf("GET %s: CSP %q", path, csp)
		}
		if v != nil {
			if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
				t.Fatalf("GET %s: %v", path, err)
			}
		}
	}
	var s warehouse.Summary
	get("/api/summary?minutes=60", 200, &s)
	if s.Tweets != 600 || s.WindowTweets != 600 || s.ActiveHashtags != 7 {
		t.Errorf("summary = %+v", s)
	}
	var top struct{ Items []warehouse.TermCount }
	get("/api/hashtags/top?limit=3", 200, &top)
	if len(top.Items) != 3 || top.Items[0].Tweets < top.Items[2].Tweets {
		t.Errorf("top = %+v", top)
	}
	var vol struct{ Series []warehouse.Series }
	get("/api/hashtags/volume?minutes=30&top=2", 200, &vol)
	if len(vol.Series) != 2 || len(vol.Series[0].Points) != 30 {
		t.Errorf("volume = %+v", vol)
	}
	get("/api/words/top?limit=0", 400, nil)
	get("/api/summary?minutes=abc", 400, nil)
	get("/healthz", 200, nil)
}

// TestPageInBrowser loads the page in headless Chromium: no console errors, all three
// charts drawn with data, the markup in a hashtag never executed; it saves a screenshot.
func TestPageInBrowser(t *testing.T) {
	t.Parallel()
	assets := dashboard.Dist
	if _, err := fs.Stat(assets, "app.js"); err != nil {
		t.Fatal("the dashboard bundle is not built: run `make web`")
	}
	srv := httptest.NewServer(dashboard.NewHandler(seed(t), nil))
	defer srv.Close()

	// Chromium's helper processes may still write to its profile as the test ends, so the
	// profile is removed best-effort rather than by t.TempDir's strict cleanup.
	profile, err := os.MkdirTemp("", "starling-chromium-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(profile)
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromiumPath(t)),
		chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(profile),
		chromedp.WindowSize(1400, 1000),
	)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancelAlloc()
	// This chromedp's protocol tables predate some of Chromium's newer event fields; the
	// events it cannot decode are ones the test does not use.
	ctx, cancel := chromedp.NewContext(allocCtx, chromedp.WithErrorf(func(format string, args ...any) {
		if msg := fmt.Sprintf(format, args...); !strings.Contains(msg, "could not unmarshal event") {
			fmt.Fprintln(os.Stderr, "chromedp:", msg) // may run after the test ends: no t.Log
		}
	}))
	defer cancel()
	ctx, cancelTimeout := context.WithTimeout(ctx, 90*time.Second)
	defer cancelTimeout()

	var problems []string
	chromedp.ListenTarget(ctx, func(ev any) {
		switch e := ev.(type) {
		case *runtime.EventConsoleAPICalled:
			if e.Type == runtime.APITypeError {
				var args []string
				for _, a := range e.Args {
					args = append(args, string(a.Value))
				}
				problems = append(problems, "console error: "+strings.Join(args, " "))
			}
		case *runtime.EventExceptionThrown:
			problems = append(problems, "exception: "+e.ExceptionDetails.Error())
		case *page.EventJavascriptDialogOpening:
			problems = append(problems, "dialog opened: "+e.Message)
		}
	})

	var states []string
	var pwned bool
	var png []byte
	err = chromedp.Run(ctx,
		chromedp.Navigate(srv.URL+"/"),
		chromedp.WaitVisible(`#chart-volume[data-state="ready"]`),
		chromedp.WaitVisible(`#chart-top[data-state="ready"]`),
		chromedp.WaitVisible(`#chart-cloud[data-state="ready"]`),
		chromedp.Evaluate(`[...document.querySelectorAll('.chart')].map(c => c.id + '=' + c.dataset.points)`, &states),
		chromedp.Evaluate(`window.__pwned === 1 || document.querySelector('img[src="x"]') !== null`, &pwned),
		chromedp.FullScreenshot(&png, 100), // quality 100 gives PNG,
	)
	if err != nil {
		t.Fatalf("browser: %v (problems so far: %v)", err, problems)
	}
	for _, s := range states {
		if strings.HasSuffix(s, "=0") {
			t.Errorf("chart drew no data: %s", s)
		}
	}
	if pwned {
		t.Error("markup from a hashtag was executed or inserted into the page")
	}
	for _, p := range problems {
		t.Error(p)
	}
	dir := os.Getenv("STARLING_SCREENSHOTS")
	if dir == "" {
		dir = t.TempDir()
	}
	path := filepath.Join(dir, "dashboard.png")
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s (%s)", path, strings.Join(states, ", "))
}

func chromiumPath(t *testing.T) string {
	for _, p := range []string{"/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"} {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	t.Fatal("no Chromium found: apt-get install chromium")
	return ""
}
