package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/segmentio/kafka-go"

	"github.com/starling-analytics/starling/dashboard"
	"github.com/starling-analytics/starling/etl"
	"github.com/starling-analytics/starling/etl/entities"
	"github.com/starling-analytics/starling/ingest"
	"github.com/starling-analytics/starling/internal/cli"
	"github.com/starling-analytics/starling/internal/tweet"
	"github.com/starling-analytics/starling/sample-data/generator"
	"github.com/starling-analytics/starling/warehouse"
	"github.com/starling-analytics/starling/warehouse/chlocal"
)

// `starling bench dashboard`: the dashboard over a big warehouse. It loads generated tweets
// through the real pipeline (built-in broker → ETL → ClickHouse, in this process), then
// measures every panel's API call over the views a person uses (each time range, with and
// without a filter), the page in headless Chromium (first data and every panel drawn), and
// live updates (a tweet produced → shown by the page).

// dashBenchPanel is the latency of one API endpoint over every view measured.
type dashBenchPanel struct {
	Path     string  `json:"path"`
	Requests int     `json:"requests"`
	P50Ms    float64 `json:"p50_ms"`
	P95Ms    float64 `json:"p95_ms"`
	MaxMs    float64 `json:"max_ms"`
	// WorstView is the view with the highest p95, and that p95.
	WorstView  string  `json:"worst_view"`
	WorstP95Ms float64 `json:"worst_view_p95_ms"`
}

// dashBenchPage is one page load in the browser, in milliseconds from navigation start.
type dashBenchPage struct {
	View             string  `json:"view"`
	Cold             bool    `json:"cold"` // the first load, nothing cached
	DOMInteractiveMs float64 `json:"dom_interactive_ms"`
	ScriptMs         float64 `json:"script_ms"`      // the bundle's code has run (the stream is opened)
	FirstEventMs     float64 `json:"first_event_ms"` // the stream's first panel arrived
	FirstDataMs      float64 `json:"first_data_ms"`
	AllPanelsMs      float64 `json:"all_panels_ms"`
}

type dashBenchResult struct {
	Tweets      int64            `json:"tweets"`
	Entities    int64            `json:"entities"`
	Span        string           `json:"span"`
	LoadSeconds float64          `json:"load_seconds,omitempty"`
	Panels      []dashBenchPanel `json:"panels"`
	Pages       []dashBenchPage  `json:"pages,omitempty"`
	LiveMs      []float64        `json:"live_ms,omitempty"`
	LiveP50Ms   float64          `json:"live_p50_ms,omitempty"`
	LiveMaxMs   float64          `json:"live_max_ms,omitempty"`
}

// dashBenchPaths are the endpoints measured: every panel, and the snapshot of them all.
var dashBenchPaths = append(dashboard.PanelPaths(), "/api/snapshot")

func runBenchDashboard(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := cli.NewFlagSet("starling-bench dashboard", "Loads generated tweets through the broker and the ETL into ClickHouse, then measures the dashboard: "+
		"every panel's API call over each time range with and without filters, the page in headless Chromium, and live updates.", stderr)
	n := fs.Int("tweets", 10_000_000, "generated tweets in the warehouse")
	span := fs.Duration("span", 24*time.Hour, "time span of the generated tweets, ending now")
	requests := fs.Int("requests", 10, "requests per endpoint and view")
	pageLoads := fs.Int("page-loads", 5, "page loads in the browser per view (0 skips the browser)")
	live := fs.Int("live", 10, "live probes: tweets produced one at a time, each timed until the page shows it (0 skips them)")
	entitySample := fs.Int("entity-sample", 100_000, "tweets the named-entity recogniser reads to fill the entities table, evenly spread over the feed (each row then stands for tweets/entity-sample tweets, as the entities group's sampling does)")
	dataDir := fs.String("data-dir", "", "keep ClickHouse's and the broker's data here; a second run with the same tweets reuses them (default: a temporary folder)")
	chromium := fs.String("chromium", "", "the Chromium executable (default: chromium, chromium-browser or google-chrome on PATH)")
	jsonOut := fs.String("json", "", "also write the results as JSON to this file")
	shot := fs.String("screenshot", "", "save a PNG of the page over the whole warehouse (range all) to this file")
	if err := cli.Parse(fs, args); err != nil {
		return err
	}
	if *n < 1000 || *span < time.Hour {
		return errors.New("--tweets must be at least 1000 and --span at least 1h")
	}
	dir := *dataDir
	if dir == "" {
		tmp, err := os.MkdirTemp("", "starling-bench-dashboard-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(tmp)
		dir = tmp
	}
	srv, err := chlocal.Start(ctx, chlocal.Config{Dir: filepath.Join(dir, "clickhouse")})
	if err != nil {
		return err
	}
	defer srv.Close()
	brokerAddr, stopBroker, err := startBenchBroker(ctx, filepath.Join(dir, "broker"))
	if err != nil {
		return err
	}
	defer stopBroker()
	whCfg := warehouse.Config{Addr: []string{srv.Addr()}, Database: "bench_dashboard"}
	db, err := warehouse.Open(ctx, whCfg)
	if err != nil {
		return err
	}
	defer db.Close()
	if err := db.Migrate(ctx); err != nil {
		return err
	}
	// The ETL runs throughout: it loads the feed, then the live probes.
	e, err := etl.New(etl.Config{Brokers: []string{brokerAddr}, Warehouse: whCfg, GroupID: "etl",
		Logger: slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))})
	if err != nil {
		return err
	}
	etlCtx, stopETL := context.WithCancel(ctx)
	etlDone := make(chan error, 1)
	go func() { etlDone <- e.Run(etlCtx) }()
	defer func() { stopETL(); <-etlDone }()

	var res dashBenchResult
	res.Span = span.String()
	if res.Tweets, err = countRows(ctx, db, "tweets"); err != nil {
		return err
	}
	if res.Tweets < int64(*n) {
		if res.Tweets > 0 {
			return fmt.Errorf("the warehouse in %s holds %d tweets, not %d: use another --data-dir", dir, res.Tweets, *n)
		}
		start := time.Now()
		if err := loadDashboardBench(ctx, stderr, db, brokerAddr, *n, *span, *entitySample); err != nil {
			return err
		}
		res.LoadSeconds = time.Since(start).Seconds()
		if res.Tweets, err = countRows(ctx, db, "tweets"); err != nil {
			return err
		}
	} else {
		fmt.Fprintf(stderr, "reusing the %d tweets in %s\n", res.Tweets, dir)
	}
	if res.Entities, err = countRows(ctx, db, "entities"); err != nil {
		return err
	}
	waitMerges(ctx, stderr, db)

	h := dashboard.NewHandler(db, dashboard.Config{Brokers: []string{brokerAddr}})
	defer h.Close()
	hs := httptest.NewServer(h)
	defer hs.Close()

	if res.Panels, err = benchPanels(ctx, stderr, db, hs.URL, *requests); err != nil {
		return err
	}
	if *pageLoads > 0 || *live > 0 {
		path, err := findChromium(*chromium)
		if err != nil {
			return err
		}
		bctx, closeBrowser, err := startChromium(ctx, path)
		if err != nil {
			return err
		}
		defer closeBrowser()
		if *pageLoads > 0 {
			if res.Pages, err = benchPage(bctx, stderr, hs.URL, *pageLoads, *shot); err != nil {
				return err
			}
		}
		if *live > 0 {
			if res.LiveMs, err = benchLive(bctx, stderr, hs.URL, brokerAddr, *live); err != nil {
				return err
			}
			sorted := slices.Sorted(slices.Values(res.LiveMs))
			res.LiveP50Ms, res.LiveMaxMs = sorted[len(sorted)/2], sorted[len(sorted)-1]
		}
	}
	printDashBench(stdout, res)
	if *jsonOut != "" {
		data, _ := json.MarshalIndent(res, "", "  ")
		return os.WriteFile(*jsonOut, data, 0o644)
	}
	return nil
}

func countRows(ctx context.Context, db *warehouse.DB, table string) (int64, error) {
	n, err := db.Rows(ctx, table)
	return int64(n), err
}

// loadDashboardBench produces n generated tweets spread over the span ending now, waits for
// the ETL to load them, then fills the entities table: the entities group would take
// hours over this many tweets, so the recogniser reads an even sample of about
// entitySample of them (see sampleEntities).
func loadDashboardBench(ctx context.Context, stderr io.Writer, db *warehouse.DB, brokerAddr string, n int, span time.Duration, entitySample int) error {
	start := time.Now()
	fmt.Fprintf(stderr, "producing %d generated tweets over the last %s\n", n, span)
	cfg := generator.Config{Seed: 7, Count: n, Start: time.Now().UTC().Add(-span), Span: span}
	if err := produceFeed(ctx, brokerAddr, cfg); err != nil {
		return err
	}
	fmt.Fprintf(stderr, "produced in %.0f s; loading\n", time.Since(start).Seconds())
	for last := time.Now(); ; time.Sleep(500 * time.Millisecond) {
		got, err := loadedCount(ctx, db)
		if err != nil {
			return err
		}
		if got >= int64(n) {
			break
		}
		if time.Since(last) > 10*time.Second {
			fmt.Fprintf(stderr, "loaded %d of %d\n", got, n)
			last = time.Now()
		}
		if err := ctx.Err(); err != nil {
			return err
		}
	}
	every := max(1, n/max(entitySample, 1))
	fmt.Fprintf(stderr, "loaded in %.0f s; recognising the entities of one tweet in %d\n", time.Since(start).Seconds(), every)
	return sampleEntities(ctx, db, cfg, every)
}

// sampleEntities runs the named-entity recogniser, as the entities group does, over one
// tweet in every of the generated feed, and stores what it finds with that sampling step,
// each row with its tweet's sentiment and record as the warehouse holds them.
func sampleEntities(ctx context.Context, db *warehouse.DB, cfg generator.Config, every int) error {
	x, err := entities.New()
	if err != nil {
		return err
	}
	g := generator.New(cfg)
	var batch []tweet.Record
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		keys := make([]warehouse.TweetRow, len(batch))
		for i, r := range batch {
			id, _ := strconv.ParseUint(r.ID, 10, 64)
			keys[i] = warehouse.TweetRow{ID: id, CreatedAt: r.CreatedAt}
		}
		stored, err := db.StoredTweets(ctx, tweet.TopicTweets, keys)
		if err != nil {
			return err
		}
		ids := make([]uint64, len(keys))
		for i := range keys {
			ids[i] = keys[i].ID
		}
		loaded, err := db.LoadedTweets(ctx, ids) // their hashtags and words, as tweets holds them
		if err != nil {
			return err
		}
		terms := make(map[uint64]*warehouse.TweetRow, len(loaded))
		for i := range loaded {
			terms[loaded[i].ID] = &loaded[i]
		}
		found := make([][]entities.Entity, len(batch))
		var wg sync.WaitGroup
		workers := runtime.GOMAXPROCS(0)
		for w := range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := w; i < len(batch); i += workers {
					found[i] = x.Extract(batch[i].Text, batch[i].Lang)
				}
			}()
		}
		wg.Wait()
		var rows []warehouse.EntityRow
		for i, r := range batch {
			at, ok := stored[keys[i].ID]
			t := terms[keys[i].ID]
			if !ok || t == nil {
				continue
			}
			for _, f := range found[i] {
				rows = append(rows, warehouse.EntityRow{TweetID: keys[i].ID, CreatedAt: r.CreatedAt, Entity: f.Text, Kind: string(f.Kind), Lang: r.Lang,
					Sentiment: at.Sentiment, SampledEvery: uint32(every), KafkaPartition: at.KafkaPartition, KafkaOffset: at.KafkaOffset,
					Hashtags: t.Hashtags, Words: t.Words})
			}
		}
		batch = batch[:0]
		if len(rows) == 0 {
			return nil
		}
		return db.InsertEntities(ctx, rows)
	}
	for i := 0; ; i++ {
		line, ok := g.NextJSON()
		if !ok {
			return flush()
		}
		if i%every != 0 {
			continue
		}
		recs, err := ingest.ParseLine(line)
		if err != nil {
			return err
		}
		for _, r := range recs {
			if !r.IsTombstone() {
				batch = append(batch, r)
			}
		}
		if len(batch) >= 5000 {
			if err := flush(); err != nil {
				return err
			}
		}
	}
}

// produceFeed writes a generated feed, as canonical records, to topic tweets.
func produceFeed(ctx context.Context, addr string, cfg generator.Config) error {
	w := &kafka.Writer{Addr: kafka.TCP(addr), Topic: tweet.TopicTweets, Balancer: &kafka.Hash{}, RequiredAcks: kafka.RequireAll,
		BatchSize: 1000, BatchTimeout: time.Millisecond, Compression: kafka.Lz4}
	defer w.Close()
	g := generator.New(cfg)
	msgs := make([]kafka.Message, 0, 5000)
	flush := func() error {
		if len(msgs) == 0 {
			return nil
		}
		err := w.WriteMessages(ctx, msgs...)
		msgs = msgs[:0]
		return err
	}
	for {
		line, ok := g.NextJSON()
		if !ok {
			return flush()
		}
		recs, err := ingest.ParseLine(line)
		if err != nil {
			return err
		}
		for _, r := range recs {
			v, err := tweet.Encode(r)
			if err != nil {
				return err
			}
			msgs = append(msgs, kafka.Message{Key: []byte(r.Key()), Value: v})
		}
		if len(msgs) >= 5000 {
			if err := flush(); err != nil {
				return err
			}
		}
	}
}

// waitMerges gives ClickHouse up to two minutes to finish the merges of the load, so that
// the panels are measured on a settled warehouse, as a person would find it.
func waitMerges(ctx context.Context, stderr io.Writer, db *warehouse.DB) {
	deadline := time.Now().Add(2 * time.Minute)
	for time.Now().Before(deadline) && ctx.Err() == nil {
		if n, err := db.MergesRunning(ctx); err != nil || n == 0 {
			return
		}
		time.Sleep(time.Second)
	}
	fmt.Fprintln(stderr, "merges still running after two minutes: measuring anyway")
}

// benchViews are the views measured: every named range, each without a filter and with a
// hashtag, a word or a language (the most used ones, as a click on the page would pick).
func benchViews(ctx context.Context, db *warehouse.DB) ([]url.Values, error) {
	all, err := db.NewScope(ctx, warehouse.Span{}, warehouse.Filter{})
	if err != nil {
		return nil, err
	}
	tags, err := all.TopHashtags(ctx, 1)
	if err != nil {
		return nil, fmt.Errorf("top hashtag: %w", err)
	}
	words, err := all.TopWords(ctx, 1)
	if err != nil {
		return nil, fmt.Errorf("top word: %w", err)
	}
	if len(tags.Items) == 0 || len(words.Items) == 0 {
		return nil, errors.New("the warehouse holds no hashtag or no word to filter by")
	}
	tag, word := tags.Items[0].Term, words.Items[0].Term
	var views []url.Values
	for _, rng := range []string{"15m", "1h", "6h", "24h", "all"} {
		for _, f := range [][2]string{{}, {"hashtag", tag}, {"word", word}, {"lang", "en"}} {
			v := url.Values{"range": {rng}}
			if f[0] != "" {
				v.Set(f[0], f[1])
			}
			views = append(views, v)
		}
	}
	return views, nil
}

func benchPanels(ctx context.Context, stderr io.Writer, db *warehouse.DB, base string, requests int) ([]dashBenchPanel, error) {
	views, err := benchViews(ctx, db)
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(stderr, "measuring %d endpoints × %d views × %d requests\n", len(dashBenchPaths), len(views), requests)
	client := &http.Client{Timeout: time.Minute}
	get := func(u string) (time.Duration, error) {
		t0 := time.Now()
		resp, err := client.Get(u)
		if err != nil {
			return 0, err
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		d := time.Since(t0)
		if err != nil {
			return 0, err
		}
		if resp.StatusCode != http.StatusOK {
			return 0, fmt.Errorf("GET %s: %s: %s", u, resp.Status, body)
		}
		return d, nil
	}
	var out []dashBenchPanel
	for _, p := range dashBenchPaths {
		r := dashBenchPanel{Path: p}
		var all []time.Duration
		for _, v := range views {
			u := base + p + "?" + v.Encode()
			if _, err := get(u); err != nil { // one warm-up call: ClickHouse's caches, as a page that is open has them
				return nil, err
			}
			var lat []time.Duration
			for range requests {
				d, err := get(u)
				if err != nil {
					return nil, err
				}
				lat = append(lat, d)
			}
			slices.Sort(lat)
			if p95 := ms(pctl(lat, 0.95)); p95 > r.WorstP95Ms {
				r.WorstP95Ms, r.WorstView = p95, v.Encode()
			}
			all = append(all, lat...)
		}
		slices.Sort(all)
		r.Requests, r.P50Ms, r.P95Ms, r.MaxMs = len(all), ms(pctl(all, 0.5)), ms(pctl(all, 0.95)), ms(all[len(all)-1])
		fmt.Fprintf(stderr, "%-22s p50 %6.1f  p95 %6.1f  max %6.1f ms  (worst p95 %.1f ms: %s)\n", p, r.P50Ms, r.P95Ms, r.MaxMs, r.WorstP95Ms, r.WorstView)
		out = append(out, r)
	}
	return out, nil
}

// pctl is the q-quantile of sorted durations (nearest rank).
func pctl(sorted []time.Duration, q float64) time.Duration {
	i := int(q*float64(len(sorted))+0.999999) - 1
	return sorted[max(0, min(i, len(sorted)-1))]
}

func ms(d time.Duration) float64 { return float64(d) / 1e6 }

func findChromium(path string) (string, error) {
	if path != "" {
		return path, nil
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p, nil
		}
	}
	return "", errors.New("no Chromium found for the page and live measurements: install chromium (apt-get install chromium), " +
		"name it with --chromium, or skip them with --page-loads 0 --live 0")
}

// startChromium starts a headless Chromium with a profile of its own.
func startChromium(ctx context.Context, path string) (context.Context, func(), error) {
	profile, err := os.MkdirTemp("", "starling-bench-chromium-")
	if err != nil {
		return nil, nil, err
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path), chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true), chromedp.UserDataDir(profile), chromedp.WindowSize(1400, 1000))
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
	bctx, cancel := chromedp.NewContext(allocCtx, chromedp.WithErrorf(func(string, ...any) {}))
	stop := func() { cancel(); cancelAlloc(); os.RemoveAll(profile) }
	if err := chromedp.Run(bctx); err != nil {
		stop()
		return nil, nil, fmt.Errorf("chromium: %w", err)
	}
	return bctx, stop, nil
}

// benchPage loads the page in a fresh tab, loads times per view, and reads the page's own
// marks: DOM interactive, first data drawn, every panel drawn.
func benchPage(bctx context.Context, stderr io.Writer, base string, loads int, shot string) ([]dashBenchPage, error) {
	var out []dashBenchPage
	first := true
	for _, view := range []string{"range=1h", "range=24h", "range=all"} {
		for i := range loads {
			tctx, cancel := chromedp.NewContext(bctx)
			tctx, cancelT := context.WithTimeout(tctx, time.Minute)
			var marks []float64
			var png []byte
			var capture chromedp.Action = chromedp.ActionFunc(func(context.Context) error { return nil })
			if shot != "" && view == "range=all" && i == loads-1 {
				capture = chromedp.FullScreenshot(&png, 100)
			}
			err := chromedp.Run(tctx,
				chromedp.Navigate(base+"/?"+view+"&theme=dark"),
				chromedp.Poll(`document.documentElement.dataset.allPanels !== undefined`, nil, chromedp.WithPollingInterval(20*time.Millisecond)),
				chromedp.Evaluate(`[performance.getEntriesByType('navigation')[0].domInteractive,
					performance.getEntriesByType('navigation')[0].domContentLoadedEventStart,
					performance.getEntriesByName('starling-first-event')[0].startTime,
					performance.getEntriesByName('starling-first-data')[0].startTime,
					performance.getEntriesByName('starling-all-panels')[0].startTime]`, &marks),
				capture)
			cancelT()
			cancel()
			if err != nil {
				return nil, fmt.Errorf("page %s: %w", view, err)
			}
			if len(png) > 0 {
				if err := os.WriteFile(shot, png, 0o644); err != nil {
					return nil, err
				}
			}
			p := dashBenchPage{View: view, Cold: first, DOMInteractiveMs: marks[0], ScriptMs: marks[1], FirstEventMs: marks[2], FirstDataMs: marks[3], AllPanelsMs: marks[4]}
			first = false
			fmt.Fprintf(stderr, "page %-10s interactive %5.0f  script run %5.0f  first event %5.0f  first data %5.0f  every panel %5.0f ms\n",
				view, p.DOMInteractiveMs, p.ScriptMs, p.FirstEventMs, p.FirstDataMs, p.AllPanelsMs)
			out = append(out, p)
		}
	}
	return out, nil
}

// benchLive opens the live page and produces probe tweets one at a time, timing each from
// the produce call until the page's latest tweets show it.
func benchLive(bctx context.Context, stderr io.Writer, base, brokerAddr string, probes int) ([]float64, error) {
	tctx, cancel := chromedp.NewContext(bctx)
	defer cancel()
	if err := chromedp.Run(tctx, chromedp.Navigate(base+"/?range=15m&theme=dark"),
		chromedp.Poll(`document.documentElement.dataset.allPanels !== undefined && document.getElementById('status').textContent.startsWith('live')`, nil,
			chromedp.WithPollingInterval(20*time.Millisecond), chromedp.WithPollingTimeout(time.Minute))); err != nil {
		return nil, fmt.Errorf("live page: %w", err)
	}
	w := &kafka.Writer{Addr: kafka.TCP(brokerAddr), Topic: tweet.TopicTweets, Balancer: &kafka.Hash{}, RequiredAcks: kafka.RequireAll, BatchTimeout: time.Millisecond}
	defer w.Close()
	id := tweet.SnowflakeID(time.Now(), 0)
	var out []float64
	for i := range probes {
		id++
		marker := fmt.Sprintf("live probe %d %x: happy to see this", i, id)
		rec := tweet.Record{ID: strconv.FormatUint(id, 10), CreatedAt: time.Now().UTC(), Text: marker, Lang: "en",
			User: tweet.User{ID: "1", ScreenName: "bench"}, Hashtags: []string{"benchmark"}, SourceFormat: tweet.FormatGenerator}
		v, err := tweet.Encode(rec)
		if err != nil {
			return nil, err
		}
		t0 := time.Now()
		if err := w.WriteMessages(bctx, kafka.Message{Key: []byte(rec.ID), Value: v}); err != nil {
			return nil, err
		}
		cond := fmt.Sprintf(`document.getElementById('table-latest').textContent.includes(%q)`, marker)
		if err := chromedp.Run(tctx, chromedp.Poll(cond, nil, chromedp.WithPollingInterval(10*time.Millisecond), chromedp.WithPollingTimeout(30*time.Second))); err != nil {
			return nil, fmt.Errorf("live probe %d never shown: %w", i, err)
		}
		d := ms(time.Since(t0))
		fmt.Fprintf(stderr, "live probe %d shown %.0f ms after it was produced\n", i, d)
		out = append(out, d)
		// Probes land at different points of the page's one-second cycle.
		time.Sleep(time.Duration(300+i*137%700) * time.Millisecond)
	}
	return out, nil
}

func printDashBench(w io.Writer, r dashBenchResult) {
	fmt.Fprintf(w, "warehouse: %d tweets over %s, %d entity rows\n", r.Tweets, r.Span, r.Entities)
	if r.LoadSeconds > 0 {
		fmt.Fprintf(w, "loaded through broker and ETL in %.0f s (%.0f tweets/s)\n", r.LoadSeconds, float64(r.Tweets)/r.LoadSeconds)
	}
	fmt.Fprintf(w, "\n%-22s %8s %8s %8s %8s  %s\n", "endpoint", "requests", "p50 ms", "p95 ms", "max ms", "worst view (its p95 ms)")
	for _, p := range r.Panels {
		fmt.Fprintf(w, "%-22s %8d %8.1f %8.1f %8.1f  %s (%.1f)\n", p.Path, p.Requests, p.P50Ms, p.P95Ms, p.MaxMs, p.WorstView, p.WorstP95Ms)
	}
	if len(r.Pages) > 0 {
		fmt.Fprintf(w, "\n%-10s %5s %14s %14s %14s %14s %14s\n", "page", "cold", "interactive ms", "script run ms", "first event ms", "first data ms", "all panels ms")
		for _, p := range r.Pages {
			fmt.Fprintf(w, "%-10s %5v %14.0f %14.0f %14.0f %14.0f %14.0f\n", p.View, p.Cold, p.DOMInteractiveMs, p.ScriptMs, p.FirstEventMs, p.FirstDataMs, p.AllPanelsMs)
		}
	}
	if len(r.LiveMs) > 0 {
		parts := make([]string, len(r.LiveMs))
		for i, d := range r.LiveMs {
			parts[i] = strconv.FormatFloat(d, 'f', 0, 64)
		}
		fmt.Fprintf(w, "\nlive: produced → shown by the page, p50 %.0f ms, max %.0f ms (%s)\n", r.LiveP50Ms, r.LiveMaxMs, strings.Join(parts, ", "))
	}
}
