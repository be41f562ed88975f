package dashboard_test

import (
	"context"
	"fmt"
	"io/fs"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/input"
	cdplog "github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/starling-analytics/starling/dashboard"
	"github.com/starling-analytics/starling/warehouse"
)

// The page in headless Chromium, against a real ClickHouse and the built-in broker: every
// panel drawn, filtering, the view in the URL, live updates, the SQL console, the
// pipeline, the access token, and markup from tweets never run. Screenshots go to
// $STARLING_SCREENSHOTS (light, dark, phone, console, pipeline).

// browserSession is one Chromium shared by the subtests: starting it takes seconds.
type browserSession struct {
	ctx context.Context
}

func newBrowser(t *testing.T) *browserSession {
	t.Helper()
	if _, err := fs.Stat(dashboard.Dist, "app.js"); err != nil {
		t.Fatal("the dashboard bundle is not built: run `make web`")
	}
	// Chromium's helper processes may still write to its profile as the test ends, so the
	// profile is removed best-effort rather than by t.TempDir's strict cleanup.
	profile, err := os.MkdirTemp("", "starling-chromium-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(profile) })
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
	t.Cleanup(cancelAlloc)
	// This chromedp's protocol tables predate some of Chromium's newer event fields; the
	// events it cannot decode are ones the test does not use.
	ctx, cancel := chromedp.NewContext(allocCtx, chromedp.WithErrorf(func(format string, args ...any) {
		if msg := fmt.Sprintf(format, args...); !strings.Contains(msg, "could not unmarshal event") {
			fmt.Fprintln(os.Stderr, "chromedp:", msg) // may run after the test ends: no t.Log
		}
	}))
	t.Cleanup(cancel)
	if err := chromedp.Run(ctx); err != nil { // starts the browser
		t.Fatal(err)
	}
	return &browserSession{ctx: ctx}
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

// tab is a browser tab that records what goes wrong in it: console errors, uncaught
// exceptions, errors in the browser's log (failed loads, Content-Security-Policy
// violations) and dialogs (which it dismisses, so that an alert cannot stall the page).
type tab struct {
	ctx context.Context
	t   *testing.T

	mu       sync.Mutex
	problems []string
	expected []string // log messages a step expects, taken out of problems
}

func (b *browserSession) tab(t *testing.T, width, height int, mobile bool) *tab {
	t.Helper()
	ctx, cancel := chromedp.NewContext(b.ctx)
	ctx, cancelTimeout := context.WithTimeout(ctx, 2*time.Minute)
	tb := &tab{ctx: ctx, t: t}
	t.Cleanup(func() {
		cancelTimeout()
		cancel()
	})
	chromedp.ListenTarget(ctx, func(ev any) {
		switch e := ev.(type) {
		case *runtime.EventConsoleAPICalled:
			if e.Type == runtime.APITypeError {
				var args []string
				for _, a := range e.Args {
					args = append(args, string(a.Value))
				}
				tb.problem("console error: " + strings.Join(args, " "))
			}
		case *runtime.EventExceptionThrown:
			tb.problem("exception: " + e.ExceptionDetails.Error())
		case *cdplog.EventEntryAdded:
			if e.Entry.Level == cdplog.LevelError {
				tb.problem(fmt.Sprintf("log (%s): %s %s", e.Entry.Source, e.Entry.Text, e.Entry.URL))
			}
		case *page.EventJavascriptDialogOpening:
			tb.problem("dialog opened: " + e.Message)
			go chromedp.Run(ctx, page.HandleJavaScriptDialog(false))
		}
	})
	emulate := chromedp.EmulateViewport(int64(width), int64(height))
	if mobile {
		emulate = chromedp.EmulateViewport(int64(width), int64(height), chromedp.EmulateMobile, chromedp.EmulateTouch)
	}
	if err := chromedp.Run(ctx, emulate); err != nil {
		t.Fatal(err)
	}
	return tb
}

func (tb *tab) problem(p string) {
	tb.mu.Lock()
	defer tb.mu.Unlock()
	for i, e := range tb.expected {
		if strings.Contains(p, e) {
			tb.expected = append(tb.expected[:i], tb.expected[i+1:]...)
			return
		}
	}
	tb.problems = append(tb.problems, p)
}

// expect takes the next log message containing s as planned, not a problem.
func (tb *tab) expect(s string) {
	tb.mu.Lock()
	defer tb.mu.Unlock()
	tb.expected = append(tb.expected, s)
}

// run runs actions, failing the test with the problems seen so far if they fail.
func (tb *tab) run(actions ...chromedp.Action) {
	tb.t.Helper()
	if err := chromedp.Run(tb.ctx, actions...); err != nil {
		tb.mu.Lock()
		defer tb.mu.Unlock()
		tb.t.Fatalf("browser: %v (problems so far: %v)", err, tb.problems)
	}
}

// check fails the test for every problem recorded, and for markup from the data that ran
// or entered the page as elements.
func (tb *tab) check() {
	tb.t.Helper()
	var pwned bool
	var injected int
	tb.run(
		chromedp.Evaluate(`window.__pwned !== undefined`, &pwned),
		chromedp.Evaluate(`document.querySelectorAll('img, iframe, svg, b, script:not([src])').length`, &injected),
	)
	if pwned {
		tb.t.Error("markup from a tweet ran: window.__pwned is set")
	}
	if injected > 0 {
		tb.t.Errorf("markup from a tweet entered the page: %d elements", injected)
	}
	tb.mu.Lock()
	defer tb.mu.Unlock()
	for _, p := range tb.problems {
		tb.t.Error(p)
	}
	tb.problems = nil
	if len(tb.expected) > 0 {
		tb.t.Errorf("expected log messages never came: %v", tb.expected)
	}
}

// screenshot saves the whole page as name.png in $STARLING_SCREENSHOTS.
func (tb *tab) screenshot(name string) {
	tb.t.Helper()
	var png []byte
	// From the top: the header is sticky, and a page scrolled by the test would show it
	// in the middle of the picture.
	tb.run(chromedp.Evaluate(`window.scrollTo(0, 0)`, nil), chromedp.FullScreenshot(&png, 100)) // quality 100 gives PNG
	dir := os.Getenv("STARLING_SCREENSHOTS")
	if dir == "" {
		dir = tb.t.TempDir()
	}
	path := filepath.Join(dir, name+".png")
	if err := os.WriteFile(path, png, 0o644); err != nil {
		tb.t.Fatal(err)
	}
	tb.t.Logf("screenshot: %s", path)
}

// waitPanels waits until every chart and table of the dashboard tab has drawn data.
func (tb *tab) waitPanels() {
	tb.t.Helper()
	var actions []chromedp.Action
	for _, id := range []string{"chart-timeline", "chart-series", "chart-hashtags", "chart-rising", "chart-sentiment", "chart-languages", "chart-cloud",
		"table-latest", "table-positive", "table-negative", "table-entities"} {
		actions = append(actions, chromedp.WaitVisible(fmt.Sprintf(`#%s[data-state="ready"]`, id)))
	}
	tb.run(actions...)
}

// hover moves the mouse over a grid of points of the element, so that its charts draw
// their tooltips for what lies there.
func (tb *tab) hover(sel string) {
	tb.t.Helper()
	var box []float64
	tb.run(chromedp.ScrollIntoView(sel), chromedp.Evaluate(fmt.Sprintf(`(() => { const r = document.querySelector(%q).getBoundingClientRect(); return [r.left, r.top, r.width, r.height]; })()`, sel), &box))
	var moves []chromedp.Action
	for i := 1; i < 8; i++ {
		for j := 1; j < 6; j++ {
			moves = append(moves, chromedp.MouseEvent(input.MouseMoved, box[0]+box[2]*float64(i)/8, box[1]+box[3]*float64(j)/6))
		}
	}
	tb.run(moves...)
}

// click clicks at a fraction of the element's box.
func (tb *tab) click(sel string, fx, fy float64) {
	tb.t.Helper()
	var box []float64
	tb.run(chromedp.ScrollIntoView(sel), chromedp.Evaluate(fmt.Sprintf(`(() => { const r = document.querySelector(%q).getBoundingClientRect(); return [r.left, r.top, r.width, r.height]; })()`, sel), &box))
	tb.run(chromedp.MouseClickXY(box[0]+box[2]*fx, box[1]+box[3]*fy))
}

// clickUntil clicks the element at points down from its top (at fx across, or, with fx 0,
// around its middle) until cond holds: for charts, whose marks the test cannot address.
func (tb *tab) clickUntil(sel string, fx float64, cond string) {
	tb.t.Helper()
	var points [][2]float64
	if fx > 0 {
		for fy := 0.02; fy < 0.3; fy += 0.02 {
			points = append(points, [2]float64{fx, fy})
		}
	} else {
		for _, d := range [][2]float64{{0, 0}, {0.02, 0}, {-0.02, 0}, {0, 0.03}, {0, -0.03}, {0.05, 0}, {-0.05, 0}, {0.08, 0.02}, {-0.08, -0.02}} {
			points = append(points, [2]float64{0.5 + d[0], 0.5 + d[1]})
		}
	}
	for _, p := range points {
		tb.click(sel, p[0], p[1])
		var ok bool
		tb.eval(cond, &ok)
		if ok {
			return
		}
		// Give the click's handler a moment: poll briefly for the condition.
		if err := chromedp.Run(tb.ctx, chromedp.Poll(cond, nil, chromedp.WithPollingInterval(20*time.Millisecond), chromedp.WithPollingTimeout(300*time.Millisecond))); err == nil {
			return
		}
	}
	tb.t.Fatalf("clicking %s never made %s true", sel, cond)
}

func (tb *tab) eval(js string, v any) {
	tb.t.Helper()
	tb.run(chromedp.Evaluate(js, v))
}

// waitFor polls a JavaScript condition until it holds.
func (tb *tab) waitFor(js string) {
	tb.t.Helper()
	tb.run(chromedp.Poll(js, nil, chromedp.WithPollingInterval(50*time.Millisecond), chromedp.WithPollingTimeout(30*time.Second)))
}

func TestBrowser(t *testing.T) {
	t.Parallel()
	db := seed(t)
	b := startBroker(t)
	h := dashboard.NewHandler(db, dashboard.Config{Brokers: []string{b.Addr}, Console: consoleRunner(t, db)})
	defer h.Close()
	srv := httptest.NewServer(h)
	defer srv.Close()
	br := newBrowser(t)

	t.Run("panels and themes", func(t *testing.T) {
		tb := br.tab(t, 1400, 1000, false)
		tb.run(chromedp.Navigate(srv.URL + "/?theme=dark"))
		tb.waitPanels()
		// The page marks when it drew its first data and every panel (the benchmark reads
		// the same marks; here they are only reported).
		var marks []float64
		tb.waitFor(`document.documentElement.dataset.allPanels !== undefined`)
		tb.eval(`['starling-first-data', 'starling-all-panels'].map(n => performance.getEntriesByName(n)[0].startTime)`, &marks)
		if len(marks) != 2 || marks[0] <= 0 || marks[1] < marks[0] {
			t.Errorf("performance marks = %v", marks)
		} else {
			t.Logf("first data drawn %.0f ms after navigation, every panel %.0f ms", marks[0], marks[1])
		}
		var kpi string
		tb.eval(`document.getElementById('kpi-tweets').textContent`, &kpi)
		if kpi != "900" {
			t.Errorf("tweets KPI %q, want 900", kpi)
		}
		// The payloads show as text.
		var latest string
		tb.eval(`document.getElementById('table-latest').textContent`, &latest)
		for _, p := range []string{xssText, xssUser, xssRich, xssTag} {
			if !strings.Contains(latest, p) {
				t.Errorf("the latest tweets do not show %q as text", p)
			}
		}
		// A direction override in a tweet and in its author's name reorders only that text:
		// the author's "@" stays before the name, the hashtags after the text keep their order.
		var bidi struct{ Found, Isolated, TagsInOrder, AtFirst bool }
		tb.eval(`(() => {
			const td = [...document.querySelectorAll('#table-latest td.text')].find((td) => td.textContent.includes('\u202e'));
			if (!td) return { Found: false };
			const tags = [...td.querySelectorAll('button.tag')].map((b) => b.getBoundingClientRect());
			const user = td.parentElement.querySelector('td.user');
			const at = document.createRange();
			at.setStart(user.firstChild, 0);
			at.setEnd(user.firstChild, 1);
			const name = user.querySelector('bdi');
			return {
				Found: true,
				Isolated: td.querySelector('bdi')?.textContent.includes('\u202e') === true && name?.textContent.includes('\u202e') === true,
				TagsInOrder: tags.length >= 2 && tags.every((r, i) => i === 0 || r.top > tags[i - 1].top + 1 || r.left > tags[i - 1].left),
				AtFirst: name !== null && at.getBoundingClientRect().left < name.getBoundingClientRect().left,
			};
		})()`, &bidi)
		if !bidi.Found || !bidi.Isolated || !bidi.TagsInOrder || !bidi.AtFirst {
			t.Errorf("a tweet with U+202E in the latest tweets: %+v; want its text and author isolated, its tags in order, the @ first", bidi)
		}
		// Tooltips of the charts holding markup: the top hashtags and the word cloud.
		tb.hover("#chart-hashtags")
		tb.hover("#chart-cloud")
		tb.hover("#chart-series")
		tb.screenshot("dashboard-dark")
		tb.run(chromedp.Click("#theme"))
		tb.waitFor(`document.documentElement.dataset.theme === 'light' && location.search.includes('theme=light') === !matchMedia('(prefers-color-scheme: light)').matches`)
		tb.waitPanels()
		tb.screenshot("dashboard-light")
		tb.check()
	})

	t.Run("phone", func(t *testing.T) {
		tb := br.tab(t, 390, 844, true)
		tb.run(chromedp.Navigate(srv.URL + "/?theme=light"))
		tb.waitPanels()
		var overflow bool
		tb.eval(`document.documentElement.scrollWidth > window.innerWidth + 1`, &overflow)
		if overflow {
			t.Error("the page is wider than a phone's screen")
		}
		tb.screenshot("dashboard-phone")
		tb.run(chromedp.Navigate(srv.URL + "/?theme=dark&tab=pipeline"))
		tb.run(chromedp.WaitVisible(`#table-groups[data-state="ready"]`))
		tb.screenshot("pipeline-phone")
		tb.check()
	})

	t.Run("filtering", func(t *testing.T) {
		tb := br.tab(t, 1400, 1000, false)
		tb.run(chromedp.Navigate(srv.URL + "/?range=1h"))
		tb.waitPanels()
		// A hashtag of a tweet in the latest tweets: every panel follows it.
		tb.run(chromedp.Click(`#table-latest tbody tr:first-child button.tag`))
		tb.waitFor(`new URLSearchParams(location.search).get('hashtag') !== null && document.querySelector('[data-filter="hashtag"]') !== null`)
		var tag string
		tb.eval(`new URLSearchParams(location.search).get('hashtag')`, &tag)
		tb.waitFor(`document.getElementById('kpi-tweets').textContent !== '900'`)
		tb.waitFor(fmt.Sprintf(`document.querySelector('#table-latest[data-state="ready"]') !== null &&
			[...document.querySelectorAll('#table-latest tbody tr')].every(r => [...r.querySelectorAll('button.tag')].some(b => b.textContent === '#' + %q))`, tag))
		tb.waitPanels()
		// The top bar of the top hashtags is now the filter's own hashtag (all the
		// filtered tweets carry it): clicking it removes the filter.
		tb.clickUntil("#chart-hashtags", 0.5, `new URLSearchParams(location.search).get('hashtag') === null`)
		// A language of a tweet.
		tb.waitPanels()
		tb.run(chromedp.Click(`#table-latest tbody tr:first-child td:nth-child(4) button`))
		tb.waitFor(`new URLSearchParams(location.search).get('lang') !== null && document.querySelector('[data-filter="lang"]') !== null`)
		tb.waitPanels()
		var langs int
		tb.eval(`document.getElementById('chart-languages').dataset.points === document.getElementById('kpi-tweets').textContent.replace(/[^0-9]/g, '') ? 1 : 0`, &langs)
		if langs != 1 {
			t.Error("the languages pie does not hold just the filtered tweets")
		}
		tb.run(chromedp.Click(`button.clear`))
		tb.waitFor(`location.search.indexOf('lang=') < 0 && document.querySelector('[data-filter]') === null`)
		// A word of the cloud: its biggest word sits in the middle.
		tb.waitPanels()
		tb.clickUntil("#chart-cloud", 0, `new URLSearchParams(location.search).get('word') !== null && document.querySelector('[data-filter="word"]') !== null`)
		// Back restores the view before.
		tb.run(chromedp.NavigateBack())
		tb.waitFor(`new URLSearchParams(location.search).get('word') === null && document.querySelector('[data-filter]') === null`)
		tb.check()
	})

	t.Run("view in the URL", func(t *testing.T) {
		tb := br.tab(t, 1200, 900, false)
		tb.run(chromedp.Navigate(srv.URL + "/?range=6h&hashtag=music&cloud=hashtags&theme=light"))
		tb.waitPanels()
		var state []string
		tb.eval(`[document.querySelector('[data-range][aria-pressed="true"]').dataset.range, document.querySelector('[data-filter="hashtag"]').textContent,
			document.getElementById('cloud-title').textContent, document.documentElement.dataset.theme, document.getElementById('window').textContent]`, &state)
		if state[0] != "6h" || !strings.Contains(state[1], "#music") || state[2] != "Hashtag cloud" || state[3] != "light" || !strings.Contains(state[4], "6 hours") {
			t.Errorf("view from the URL: %q", state)
		}
		// A custom range, from the form.
		tb.run(chromedp.Click(`[data-range="custom"]`), chromedp.WaitVisible(`#custom`))
		from := time.Now().UTC().Add(-30 * time.Minute).Format("2006-01-02T15:04")
		to := time.Now().UTC().Add(-10 * time.Minute).Format("2006-01-02T15:04")
		tb.run(chromedp.SetValue(`#from`, from), chromedp.SetValue(`#to`, to), chromedp.Click(`#custom button[type="submit"]`))
		tb.waitFor(fmt.Sprintf(`location.search.includes('range=custom') && new URLSearchParams(location.search).get('from') === %q`, from))
		tb.waitFor(`document.getElementById('window').textContent.startsWith('custom range')`)
		tb.waitPanels()
		var live string
		tb.eval(`document.getElementById('live').textContent`, &live)
		if live != "Fixed range" {
			t.Errorf("live button on a custom range: %q", live)
		}
		tb.check()
	})

	t.Run("live", func(t *testing.T) {
		tb := br.tab(t, 1400, 1000, false)
		tb.run(chromedp.Navigate(srv.URL + "/?range=15m"))
		tb.waitPanels()
		tb.waitFor(`document.getElementById('status').textContent.startsWith('live')`)
		insert := func(text string) {
			rows := seedRows(1, time.Now().UTC(), time.Second, uint64(time.Now().UnixNano()))
			rows[0].Text = text
			if err := db.InsertTweets(context.Background(), rows); err != nil {
				t.Fatal(err)
			}
		}
		insert("breaking: live from the stream")
		tb.waitFor(`document.getElementById('table-latest').textContent.includes('breaking: live from the stream')`)
		tb.run(chromedp.Click("#live"))
		tb.waitFor(`document.getElementById('status').textContent === 'paused' && location.search.includes('live=0')`)
		insert("arrived while paused")
		tb.run(chromedp.Click("#live"))
		tb.waitFor(`document.getElementById('table-latest').textContent.includes('arrived while paused')`)
		tb.check()
	})

	t.Run("console", func(t *testing.T) {
		tb := br.tab(t, 1400, 1000, false)
		dir := t.TempDir()
		tb.run(browser.SetDownloadBehavior(browser.SetDownloadBehaviorBehaviorAllow).WithDownloadPath(dir).WithEventsEnabled(true))
		tb.run(chromedp.Navigate(srv.URL + "/?tab=console&theme=dark"))
		tb.waitFor(`document.querySelectorAll('#console-examples option').length > 10`)
		// An example fills the editor.
		tb.eval(fmt.Sprintf(`(() => { const s = document.getElementById('console-examples'); s.value = %q; s.dispatchEvent(new Event('change')); return true; })()`,
			warehouse.ConsoleExamples[2].SQL), nil)
		var sql string
		tb.eval(`document.getElementById('console-sql').value`, &sql)
		if sql != warehouse.ConsoleExamples[2].SQL {
			t.Errorf("the example did not fill the editor: %q", sql)
		}
		tb.run(chromedp.SetValue("#console-sql", "SELECT user_screen_name, sentiment, text FROM tweets ORDER BY id DESC LIMIT 5"), chromedp.Click("#console-run"))
		tb.waitFor(`document.querySelector('#console-result[data-state="ready"]') !== null`)
		var rows int
		var cells string
		tb.eval(`document.querySelectorAll('#console-result tbody tr').length`, &rows)
		tb.eval(`document.getElementById('console-result').textContent`, &cells)
		if rows != 5 || !strings.Contains(cells, xssText) {
			t.Errorf("console: %d rows; payload shown as text: %v", rows, strings.Contains(cells, xssText))
		}
		tb.screenshot("console")
		// CSV download.
		tb.run(chromedp.Click("#console-csv"))
		deadline := time.Now().Add(30 * time.Second)
		var csvBody []byte
		for tick := time.NewTicker(50 * time.Millisecond); ; <-tick.C {
			if b, err := os.ReadFile(filepath.Join(dir, "starling-query.csv")); err == nil && len(b) > 0 {
				csvBody = b
				tick.Stop()
				break
			}
			if time.Now().After(deadline) {
				t.Fatal("no CSV downloaded")
			}
		}
		if !strings.HasPrefix(string(csvBody), "user_screen_name,sentiment,text\n") || strings.Count(string(csvBody), "\n") < 6 {
			t.Errorf("CSV = %q", csvBody)
		}
		// A DROP is refused with a clear message; the 400 it answers is logged by the
		// browser, as expected.
		tb.expect("status of 400")
		tb.run(chromedp.SetValue("#console-sql", "DROP TABLE tweets"), chromedp.Click("#console-run"))
		tb.waitFor(`document.getElementById('console-message').classList.contains('error')`)
		var msg string
		tb.eval(`document.getElementById('console-message').textContent`, &msg)
		if !strings.Contains(msg, "Not run") || !strings.Contains(msg, "DROP") {
			t.Errorf("DROP TABLE: %q", msg)
		}
		var n uint64
		if err := db.Conn().QueryRow(context.Background(), "SELECT count() FROM tweets").Scan(&n); err != nil || n < 900 {
			t.Errorf("tweets after DROP: %d, %v", n, err)
		}
		tb.screenshot("console-refused")
		tb.check()
	})

	t.Run("fonts", func(t *testing.T) {
		// Tweets are full of emoji and CJK text: the browser has fonts for them (make deps
		// installs Noto Color Emoji and WenQuanYi Zen Hei), so screenshots show what users
		// see. Each is drawn on a canvas and compared with a code point no font has (the
		// "tofu" box); the emoji must come out in colour.
		tb := br.tab(t, 800, 600, false)
		tb.run(chromedp.Navigate(srv.URL + "/?tab=console"))
		var got struct{ EmojiColour, EmojiGlyph, CJKGlyph bool }
		tb.eval(`(() => {
			const draw = (s) => {
				const c = document.createElement('canvas');
				c.width = c.height = 80;
				const g = c.getContext('2d');
				g.font = '64px system-ui, sans-serif';
				g.textBaseline = 'top';
				g.fillStyle = '#000';
				g.fillText(s, 4, 4);
				return g.getImageData(0, 0, 80, 80).data;
			};
			const same = (a, b) => a.every((v, i) => v === b[i]);
			const emoji = draw('\u{1F525}\u{1F680}'); // fire, rocket: no text font has them
			let colour = false;
			for (let i = 0; i < emoji.length; i += 4) {
				if (emoji[i + 3] > 0 && (emoji[i] !== emoji[i + 1] || emoji[i + 1] !== emoji[i + 2])) { colour = true; break; }
			}
			return { EmojiColour: colour, EmojiGlyph: !same(emoji, draw('\u{10FFFD}\u{10FFFD}')), CJKGlyph: !same(draw('\u65e5\u672c'), draw('\u{10FFFD}\u{10FFFD}')) };
		})()`, &got)
		if !got.EmojiColour || !got.EmojiGlyph || !got.CJKGlyph {
			t.Errorf("fonts: %+v; want an emoji drawn in colour and CJK text drawn as glyphs (make deps installs fonts-noto-color-emoji and fonts-wqy-zenhei)", got)
		}
		tb.check()
	})

	t.Run("models", func(t *testing.T) {
		tb := br.tab(t, 1400, 1000, false)
		tb.run(chromedp.Navigate(srv.URL + "/?tab=models&range=all&theme=dark"))
		tb.run(chromedp.WaitVisible(`#chart-compare[data-state="ready"]`), chromedp.WaitVisible(`#table-confusion[data-state="ready"]`),
			chromedp.WaitVisible(`#table-disagree[data-state="ready"]`))
		var got struct {
			Both, Agree, A, B string
			Options           []string
			Rows              int
			Lines             int
		}
		tb.eval(`({
			Both: document.getElementById('kpi-both').textContent,
			Agree: document.getElementById('kpi-agree').textContent,
			A: document.getElementById('model-a').value,
			B: document.getElementById('model-b').value,
			Options: [...document.getElementById('model-a').options].map((o) => o.value),
			Rows: document.querySelectorAll('#table-disagree tbody tr').length,
			Lines: Number(document.getElementById('chart-compare').dataset.points),
		})`, &got)
		rows := seedRows(900, time.Now(), time.Second, 1)
		want := fmt.Sprintf("%.1f%%", 100*float64(agreement(t, rows))/900)
		// The earlier subtests may have added tweets, scored by vader alone.
		var tweets uint64
		if err := db.Conn().QueryRow(context.Background(), "SELECT count() FROM tweets").Scan(&tweets); err != nil {
			t.Fatal(err)
		}
		if got.Both != "900" || got.Agree != want || got.A != "vader" || got.B != "linear-v1" || strings.Join(got.Options, " ") != "vader linear-v1" || got.Rows != 10 || got.Lines != int(tweets)+900 {
			t.Errorf("models tab: %+v; want 900 tweets scored by both, %s agreeing, vader (live) against linear-v1, 10 disagreements, %d scores charted", got, want, tweets+900)
		}
		// The tweets shown as text, the first the farthest apart.
		var first []string
		tb.eval(`[...document.querySelectorAll('#table-disagree tbody tr:first-child td')].map((td) => td.textContent)`, &first)
		if len(first) != 4 || first[1] == "" {
			t.Errorf("first disagreement row %q", first)
		}
		tb.screenshot("models")
		// The same model on both sides: nothing to compare, said so.
		tb.run(chromedp.SetValue(`#model-b`, "vader"), chromedp.Evaluate(`document.getElementById('model-b').dispatchEvent(new Event('change'))`, nil))
		tb.waitFor(`document.getElementById('table-confusion').textContent.includes('pick two different models') && location.search.includes('b=vader')`)
		tb.check()
	})

	t.Run("pipeline", func(t *testing.T) {
		tb := br.tab(t, 1400, 1000, false)
		tb.run(chromedp.Navigate(srv.URL + "/?tab=pipeline&theme=light"))
		tb.run(chromedp.WaitVisible(`#table-groups[data-state="ready"]`), chromedp.WaitVisible(`#chart-throughput[data-state="ready"]`))
		var kpis []string
		tb.eval(`['kpi-lag-etl', 'kpi-lag-entities', 'kpi-dlq', 'kpi-brokers'].map(id => document.getElementById(id).textContent)`, &kpis)
		if strings.Join(kpis, " ") != "5 40 4 1" {
			t.Errorf("pipeline KPIs = %q, want lag 5 and 40, 4 dead letters, 1 broker", kpis)
		}
		tb.screenshot("pipeline")
		tb.check()
	})

	// The subtests with servers of their own close them after their tab (cleanups run last
	// first), so that the tab's live stream is gone when the server waits for its
	// connections.
	t.Run("no broker", func(t *testing.T) {
		h := dashboard.NewHandler(db, dashboard.Config{ConsoleOff: "The SQL console is off: testing."})
		srv := httptest.NewServer(h)
		t.Cleanup(func() { srv.Close(); h.Close() })
		tb := br.tab(t, 1200, 900, false)
		tb.run(chromedp.Navigate(srv.URL + "/?tab=pipeline&theme=dark"))
		tb.waitFor(`!document.getElementById('kafka-problem').hidden && document.getElementById('kafka-problem').textContent.includes('No Kafka brokers')`)
		tb.run(chromedp.WaitVisible(`#chart-throughput[data-state="ready"]`))
		tb.screenshot("pipeline-no-broker")
		tb.run(chromedp.Click(`[data-tab="console"]`))
		tb.waitFor(`!document.getElementById('console-off').hidden && document.getElementById('console-run').disabled`)
		tb.check()
	})

	t.Run("token", func(t *testing.T) {
		const token = "a-long-access-token"
		h := dashboard.NewHandler(db, dashboard.Config{Token: token})
		srv := httptest.NewServer(h)
		t.Cleanup(func() { srv.Close(); h.Close() })
		tb := br.tab(t, 1200, 900, false)
		tb.run(chromedp.Navigate(srv.URL + "/?range=15m"))
		tb.run(chromedp.WaitVisible(`#token`))
		tb.screenshot("login")
		tb.run(chromedp.SendKeys(`#token`, token), chromedp.Submit(`#token`))
		tb.waitPanels()
		tb.run(chromedp.WaitVisible(`#logout`), chromedp.Click(`#logout button`), chromedp.WaitVisible(`#token`))
		tb.check()
	})
}
