package dashboard_test

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/starling-analytics/starling/broker/brokertest"
	"github.com/starling-analytics/starling/dashboard"
	"github.com/starling-analytics/starling/etl/sentiment"
	"github.com/starling-analytics/starling/internal/tweet"
	"github.com/starling-analytics/starling/warehouse"
	"github.com/starling-analytics/starling/warehouse/chlocal"
	"github.com/starling-analytics/starling/warehouse/warehousetest"
)

// Markup in tweets, user names, hashtags and words: it must show as text and never run.
const (
	xssText    = `<script>window.__pwned=1</script><img src=x onerror="window.__pwned=1;alert(1)">`
	xssTag     = `<img src=x onerror=alert(1)>`
	xssWord    = `<svg/onload=window.__pwned=1>`
	xssUser    = `"><iframe src=javascript:alert(1)>`
	xssRich    = `{a|b}</div><b>bold</b>`
	xssTooltip = `'-alert(1)-'`
	// A right-to-left override (U+202E) reverses the text after it up to the end of its
	// paragraph unless the text is isolated: it must not reorder what shares its cell.
	bidiText = "\u202egnp.exe "
	bidiUser = "\u202emallory"
)

var (
	seedTags  = []string{"LaunchDay", "music", "news", "football", "tech", "coffee", "StormWatch", "travel", xssTag, xssRich}
	seedLangs = []string{"en", "en", "en", "es", "pt", "fr", "de"}
	subjects  = []string{"the new phone", "this album", "the game last night", "my morning coffee", "the update", "the keynote", "the concert",
		"the weather", "my commute", "the airline", "customer support", "the final"}
	templates = []string{
		"I love %s, honestly the best thing this week",
		"%s was amazing, so happy right now",
		"really impressed by %s, great work everyone",
		"%s is a total disaster, so disappointed",
		"so frustrated with %s, nothing works",
		"%s is broken again, terrible",
		"thinking about %s today",
		"anyone else watching %s?",
	}
)

// seedRows makes n tweets, one every step, ending at end: real-looking text scored by
// the ETL's own sentiment engine, with markup payloads among them.
func seedRows(n int, end time.Time, step time.Duration, firstID uint64) []warehouse.TweetRow {
	an := sentiment.New()
	rows := make([]warehouse.TweetRow, 0, n)
	for i := range n {
		text := fmt.Sprintf(templates[i%len(templates)], subjects[(i/3)%len(subjects)])
		tags := []string{seedTags[(i*7)%len(seedTags)]}
		if i%3 == 0 {
			tags = append(tags, seedTags[(i/5)%4])
		}
		user, name := fmt.Sprintf("user%d", i%23), fmt.Sprintf("User %d", i%23)
		switch i % 50 { // the two newest tweets carry payloads, so the page shows them
		case 49:
			text, user, name = xssText+" "+text, xssUser, xssUser
		case 48:
			text = xssRich + " " + xssTooltip + " " + text
		case 47: // two hashtags follow the text in its cell
			text, user = bidiText+text, bidiUser
		}
		score, label, words := an.Analyze(text, nil)
		if i%40 == 3 {
			words = append(words, xssWord)
		}
		rows = append(rows, warehouse.TweetRow{
			SentimentModel: "vader",
			ID:             firstID + uint64(i), CreatedAt: end.Add(-time.Duration(n-1-i) * step), Text: text, Lang: seedLangs[i%len(seedLangs)],
			UserScreenName: user, UserName: name, Hashtags: slices.Compact(tags), Words: words,
			Sentiment: float32(score), SentimentLabel: int8(label), KafkaTopic: "tweets", KafkaPartition: int32(i % 3), KafkaOffset: int64(i / 3),
		})
	}
	return rows
}

// seed loads 900 tweets over the last 45 minutes, scored by vader, the learned model's
// scores of them as a rescore writes them, and entities for a third of them.
func seed(t *testing.T) *warehouse.DB {
	t.Helper()
	db := warehousetest.Open(t)
	ctx := context.Background()
	rows := seedRows(900, time.Now().UTC().Add(-time.Minute), 3*time.Second, 1)
	if err := db.InsertTweets(ctx, rows); err != nil {
		t.Fatal(err)
	}
	for p, b := range rescored(t, rows) {
		if err := db.LoadScores(ctx, warehouse.ScoreBatch{Model: sentiment.ModelLinear, Topic: "tweets", Partition: int32(p), First: 0, Last: 1000, Scores: b}); err != nil {
			t.Fatal(err)
		}
	}
	var ents []warehouse.EntityRow
	names := []struct{ name, kind string }{{"Lisbon", warehouse.KindPlace}, {"Ada Lovelace", warehouse.KindPerson}, {"Acme Corp", warehouse.KindOrganisation}, {xssUser, warehouse.KindPerson}}
	for i, r := range rows {
		if i%3 == 0 {
			e := names[i%len(names)]
			ents = append(ents, warehouse.EntityRow{TweetID: r.ID, CreatedAt: r.CreatedAt, Entity: e.name, Kind: e.kind, Lang: r.Lang, Sentiment: r.Sentiment, SampledEvery: 2, Hashtags: r.Hashtags, Words: r.Words})
		}
	}
	if err := db.InsertEntities(ctx, ents); err != nil {
		t.Fatal(err)
	}
	return db
}

// startBroker runs a built-in broker with the pipeline's topics, some records and the
// committed offsets of groups etl (behind by 5) and entities (behind by 40).
func startBroker(t *testing.T) *brokertest.Broker {
	t.Helper()
	b := brokertest.Start(t, nil)
	ctx := context.Background()
	if err := b.CreateTopic("tweets", 3, nil); err != nil {
		t.Fatal(err)
	}
	if err := b.CreateTopic("tweets.dlq", 1, nil); err != nil {
		t.Fatal(err)
	}
	w := &kafka.Writer{Addr: kafka.TCP(b.Addr), Balancer: &kafka.RoundRobin{}, BatchTimeout: time.Millisecond, RequiredAcks: kafka.RequireAll}
	defer w.Close()
	var msgs []kafka.Message
	for i := range 60 {
		msgs = append(msgs, kafka.Message{Topic: "tweets", Value: []byte(fmt.Sprintf(`{"id":"%d"}`, i))})
	}
	for i := range 4 {
		msgs = append(msgs, kafka.Message{Topic: "tweets.dlq", Value: []byte(fmt.Sprintf("bad %d", i))})
	}
	if err := w.WriteMessages(ctx, msgs...); err != nil {
		t.Fatal(err)
	}
	cl := &kafka.Client{Addr: kafka.TCP(b.Addr)}
	for group, behind := range map[string]int64{"etl": 5, "entities": 40} {
		topics := map[string][]kafka.OffsetCommit{}
		left := behind
		for p := range 3 {
			back := min(left, 20)
			left -= back
			topics["tweets"] = append(topics["tweets"], kafka.OffsetCommit{Partition: p, Offset: 20 - back})
		}
		res, err := cl.OffsetCommit(ctx, &kafka.OffsetCommitRequest{GroupID: group, GenerationID: -1, Topics: topics})
		if err != nil {
			t.Fatal(err)
		}
		for _, ps := range res.Topics {
			for _, p := range ps {
				if p.Error != nil {
					t.Fatalf("commit %s: %v", group, p.Error)
				}
			}
		}
	}
	return b
}

// consoleRunner opens the read-only console on db's database.
func consoleRunner(t *testing.T, db *warehouse.DB) *warehouse.Console {
	t.Helper()
	c, err := warehouse.OpenConsole(context.Background(), warehouse.Config{Addr: []string{warehousetest.Addr(t)}, Database: db.Database(), Username: chlocal.ConsoleUser}, warehouse.ConsoleLimits{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

type client struct {
	t    *testing.T
	base string
	http *http.Client
	auth string // Authorization header
}

func newClient(t *testing.T, base string) *client {
	jar, _ := cookiejar.New(nil)
	return &client{t: t, base: base, http: &http.Client{Jar: jar, Timeout: 30 * time.Second}}
}

// get fetches path, checks its status and security headers, and decodes JSON into v.
func (c *client) get(path string, status int, v any) []byte {
	c.t.Helper()
	req, _ := http.NewRequest(http.MethodGet, c.base+path, nil)
	if c.auth != "" {
		req.Header.Set("Authorization", c.auth)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != status {
		c.t.Fatalf("GET %s: %s, want %d: %s", path, resp.Status, status, body)
	}
	if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") || strings.Contains(csp, "unsafe") {
		c.t.Errorf("GET %s: CSP %q", path, csp)
	}
	if v != nil {
		if err := json.Unmarshal(body, v); err != nil {
			c.t.Fatalf("GET %s: %v: %s", path, err, body)
		}
	}
	return body
}

func (c *client) post(path, contentType, body string, status int) (*http.Response, []byte) {
	c.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, c.base+path, strings.NewReader(body))
	req.Header.Set("Content-Type", contentType)
	if c.auth != "" {
		req.Header.Set("Authorization", c.auth)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != status {
		c.t.Fatalf("POST %s: %s, want %d: %s", path, resp.Status, status, b)
	}
	return resp, b
}

// TestPanelEndpoints calls every panel's endpoint on a real ClickHouse, for the named
// ranges, a custom one, and filters, and checks what each answers.
func TestPanelEndpoints(t *testing.T) {
	t.Parallel()
	db := seed(t)
	h := dashboard.NewHandler(db, dashboard.Config{})
	defer h.Close()
	srv := httptest.NewServer(h)
	defer srv.Close()
	c := newClient(t, srv.URL)

	type scope struct {
		Window  warehouse.Window `json:"window"`
		Filter  warehouse.Filter `json:"filter"`
		HasData bool             `json:"has_data"`
	}
	var k struct {
		scope
		warehouse.KPIs
	}
	c.get("/api/kpis?range=1h", 200, &k)
	if k.Tweets != 900 || !k.HasData || k.Window.Minutes() != 60 || k.ActiveHashtags != int64(len(seedTags)) || k.Positive == 0 || k.Negative == 0 {
		t.Errorf("kpis = %+v", k)
	}
	c.get("/api/kpis?range=15m", 200, &k)
	var sum15 warehouse.Summary
	c.get("/api/summary?minutes=15", 200, &sum15)
	if k.Tweets != sum15.WindowTweets || k.Tweets < 280 || k.Window.Minutes() != 15 {
		t.Errorf("kpis of 15 minutes = %d tweets over %d minutes; the summary counts %d", k.Tweets, k.Window.Minutes(), sum15.WindowTweets)
	}
	c.get("/api/kpis?range=all&hashtag=news", 200, &k)
	if k.Tweets == 0 || k.Tweets >= 900 || k.Filter.Hashtag != "news" {
		t.Errorf("kpis filtered by #news = %+v", k)
	}
	from := time.Now().UTC().Add(-20 * time.Minute).Truncate(time.Minute)
	q := url.Values{"range": {"custom"}, "from": {from.Format(time.RFC3339)}, "to": {from.Add(10 * time.Minute).Format("2006-01-02T15:04")}}
	c.get("/api/kpis?"+q.Encode(), 200, &k)
	if !k.Window.From.Equal(from) || k.Window.Minutes() != 10 || k.Tweets != 200 {
		t.Errorf("custom range: %+v", k)
	}

	var tl struct{ warehouse.Timeline }
	c.get("/api/timeline?range=1h&lang=es", 200, &tl)
	var n int64
	for _, p := range tl.Points {
		n += p.Tweets
	}
	if len(tl.Points) != 60 || n == 0 || n >= 900 {
		t.Errorf("timeline of es = %d points, %d tweets", len(tl.Points), n)
	}

	var top struct {
		scope
		warehouse.Terms
	}
	c.get("/api/hashtags/top?limit=3", 200, &top)
	if len(top.Items) != 3 || top.Items[0].Tweets < top.Items[2].Tweets || top.Window.Minutes() != 60 {
		t.Errorf("top = %+v", top)
	}
	c.get("/api/hashtags/top?range=6h&word=amazing&limit=50", 200, &top)
	if len(top.Items) == 0 || top.Filter.Word != "amazing" {
		t.Errorf("top hashtags of tweets with the word amazing = %+v", top)
	}
	var vol struct{ warehouse.SeriesSet }
	c.get("/api/hashtags/volume?minutes=30&top=2", 200, &vol)
	if len(vol.Series) != 2 || len(vol.Series[0].Points) != 30 {
		t.Errorf("volume = %+v", vol)
	}
	var rising struct{ warehouse.Rising }
	c.get("/api/hashtags/rising?range=15m", 200, &rising)
	if rising.Previous.Minutes() != 15 {
		t.Errorf("rising = %+v", rising)
	}
	var mix struct{ warehouse.Shares }
	c.get("/api/sentiment?range=24h", 200, &mix)
	if len(mix.Items) != 3 || mix.Items[0].Label != "negative" || mix.Items[0].Tweets+mix.Items[1].Tweets+mix.Items[2].Tweets != 900 {
		t.Errorf("sentiment = %+v", mix)
	}
	var langs struct{ warehouse.Shares }
	c.get("/api/languages?limit=2", 200, &langs)
	if len(langs.Items) != 2 || langs.Items[0].Label != "en" || langs.Other == 0 {
		t.Errorf("languages = %+v", langs)
	}
	var words struct{ warehouse.Terms }
	c.get("/api/words/top?limit=10&hashtag=music", 200, &words)
	if len(words.Items) == 0 || len(words.Items) > 10 {
		t.Errorf("words = %+v", words)
	}
	var latest struct{ warehouse.TweetList }
	c.get("/api/tweets/latest?limit=4", 200, &latest)
	if len(latest.Items) != 4 || latest.Items[0].ID != 900 || latest.Items[3].ID != 897 {
		t.Errorf("latest = %+v", latest)
	}
	var ex struct{ warehouse.Extremes }
	c.get("/api/tweets/extremes?limit=3&lang=en", 200, &ex)
	if len(ex.Positive) != 3 || len(ex.Negative) != 3 || ex.Positive[0].Sentiment <= 0 || ex.Negative[0].Sentiment >= 0 || ex.Positive[0].Lang != "en" {
		t.Errorf("extremes = %+v", ex)
	}
	var ents struct{ warehouse.EntityList }
	c.get("/api/entities?kind=place", 200, &ents)
	if len(ents.Items) != 1 || ents.Items[0].Entity != "Lisbon" || ents.Items[0].Tweets != 2*75 {
		t.Errorf("entities = %+v", ents)
	}

	var sum warehouse.Summary
	c.get("/api/summary?minutes=60", 200, &sum)
	if sum.Tweets != 900 || sum.WindowTweets != 900 {
		t.Errorf("summary = %+v", sum)
	}
	c.get("/healthz", 200, nil)
	var about map[string]bool
	c.get("/api/about", 200, &about)
	if about["token"] || about["kafka"] || about["console"] {
		t.Errorf("about = %v", about)
	}
	for _, bad := range []string{
		"/api/words/top?limit=0", "/api/summary?minutes=abc", "/api/kpis?range=2h", "/api/kpis?range=custom&from=x&to=y",
		"/api/kpis?range=custom&from=2026-03-02T00:00:00Z&to=2026-03-01T00:00:00Z", "/api/entities?kind=planet",
		"/api/kpis?hashtag=" + strings.Repeat("x", 300), "/api/hashtags/volume?top=99",
	} {
		var e struct{ Error string }
		c.get(bad, 400, &e)
		if e.Error == "" {
			t.Errorf("GET %s: no error message", bad)
		}
	}
}

// TestPipelineEndpoint shows the built-in broker's topics, groups and lag; says when no
// broker is configured or none answers; and counts the ETL's throughput.
func TestPipelineEndpoint(t *testing.T) {
	t.Parallel()
	db := seed(t)
	b := startBroker(t)
	ln, _ := net.Listen("tcp", "127.0.0.1:0") // a port where no broker answers
	deadAddr := ln.Addr().String()
	ln.Close()
	for _, tc := range []struct {
		name    string
		brokers []string
		problem string
	}{{"broker", []string{b.Addr}, ""}, {"none", nil, "No Kafka brokers are configured"}, {"unreachable", []string{deadAddr}, "Kafka is not reachable"}} {
		t.Run(tc.name, func(t *testing.T) {
			h := dashboard.NewHandler(db, dashboard.Config{Brokers: tc.brokers})
			defer h.Close()
			srv := httptest.NewServer(h)
			defer srv.Close()
			var p dashboard.Pipeline
			newClient(t, srv.URL).get("/api/pipeline", 200, &p)
			if p.Throughput == nil || len(p.Throughput.Points) != 300 {
				t.Fatalf("throughput = %+v (errors %v)", p.Throughput, p.Errors)
			}
			if tc.problem != "" {
				if p.Kafka != nil || !strings.Contains(p.KafkaError, tc.problem) {
					t.Errorf("kafka = %+v, error %q; want %q", p.Kafka, p.KafkaError, tc.problem)
				}
				return
			}
			k := p.Kafka
			if k == nil {
				t.Fatalf("kafka error: %s", p.KafkaError)
			}
			if len(k.Brokers) != 1 || k.DeadLetters != 4 || len(k.Topics) != 2 {
				t.Errorf("kafka = %+v", k)
			}
			if len(k.Problems) > 0 {
				t.Errorf("problems: %v", k.Problems)
			}
			for _, tp := range k.Topics {
				if tp.Name == "tweets" && (len(tp.Partitions) != 3 || tp.Records != 60 || tp.RetentionMs == "") {
					t.Errorf("topic tweets = %+v", tp)
				}
				// Sizes in bytes from DescribeLogDirs: every partition holds records.
				var sum int64
				for _, p := range tp.Partitions {
					if p.Bytes <= 0 {
						t.Errorf("%s/%d: %d bytes", tp.Name, p.ID, p.Bytes)
					}
					sum += p.Bytes
				}
				if tp.Bytes != sum {
					t.Errorf("%s: %d bytes, its partitions %d", tp.Name, tp.Bytes, sum)
				}
			}
			lags := map[string]int64{}
			for _, g := range k.Groups {
				lags[g.ID] = g.Lag
				if g.State != "Empty" || g.Members != 0 { // committed offsets, no members: as Kafka shows it
					t.Errorf("group %s: state %q, %d members", g.ID, g.State, g.Members)
				}
			}
			if lags["etl"] != 5 || lags["entities"] != 40 {
				t.Errorf("groups = %+v", k.Groups)
			}
		})
	}
}

// TestPipelineWatchesTheConfiguredNames: a pipeline whose ETL runs with other groups and
// topics is watched under those names, and the page is told them.
func TestPipelineWatchesTheConfiguredNames(t *testing.T) {
	t.Parallel()
	db := seed(t)
	b := startBroker(t)
	names := tweet.Names{Topic: "tweets", DLQTopic: "tweets", Group: "loader", EntitiesGroup: "sampler"}
	h := dashboard.NewHandler(db, dashboard.Config{Brokers: []string{b.Addr}, Names: names})
	defer h.Close()
	srv := httptest.NewServer(h)
	defer srv.Close()
	var p dashboard.Pipeline
	newClient(t, srv.URL).get("/api/pipeline", 200, &p)
	if p.Names != names || p.Kafka == nil {
		t.Fatalf("names %+v, kafka %+v (%s); want %+v", p.Names, p.Kafka, p.KafkaError, names)
	}
	var groups []string
	for _, g := range p.Kafka.Groups {
		groups = append(groups, g.ID)
	}
	if len(groups) < 2 || groups[0] != "loader" || groups[1] != "sampler" || p.Kafka.DeadLetters != 60 {
		t.Errorf("groups %v, dead letters %d; want loader and sampler watched first, the 60 records of the dead-letter topic", groups, p.Kafka.DeadLetters)
	}
}

// TestSnapshotAndStream gets every panel at once, then reads a live stream: every panel,
// the window and a tick, and, after new tweets arrive, the panels that changed.
func TestSnapshotAndStream(t *testing.T) {
	t.Parallel()
	db := seed(t)
	h := dashboard.NewHandler(db, dashboard.Config{})
	defer h.Close()
	srv := httptest.NewServer(h)
	defer srv.Close()
	var snap struct {
		Scope  map[string]any             `json:"scope"`
		Panels map[string]json.RawMessage `json:"panels"`
	}
	newClient(t, srv.URL).get("/api/snapshot?range=1h&cloud=hashtags", 200, &snap)
	want := []string{"kpis", "timeline", "hashtags", "series", "rising", "sentiment", "languages", "cloud", "latest", "extremes", "entities", "pipeline"}
	for _, p := range want {
		if body, ok := snap.Panels[p]; !ok || strings.Contains(string(body), `"error"`) {
			t.Errorf("snapshot panel %s = %s", p, body)
		}
	}

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+"/api/stream?range=15m", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Fatalf("content type %q", ct)
	}
	events := readEvents(resp.Body)
	seen := map[string]bool{}
	ticks := 0
	inserted := false
	for ev := range events {
		switch ev.name {
		case "panel":
			var p struct {
				Name string          `json:"name"`
				Data json.RawMessage `json:"data"`
			}
			if err := json.Unmarshal([]byte(ev.data), &p); err != nil {
				t.Fatal(err)
			}
			seen[p.Name] = true
			if inserted && p.Name == "latest" && strings.Contains(string(p.Data), "fresh from the stream") {
				return // the new tweet arrived
			}
		case "tick":
			ticks++
			if !inserted && ticks == 1 {
				for _, p := range want {
					if !seen[p] {
						t.Errorf("first round lacks panel %s", p)
					}
				}
				rows := seedRows(1, time.Now().UTC(), time.Second, 5000)
				rows[0].Text = "fresh from the stream #live"
				if err := db.InsertTweets(ctx, rows); err != nil {
					t.Fatal(err)
				}
				inserted = true
			}
		}
	}
	t.Fatalf("the stream ended after %d ticks without the new tweet (%v)", ticks, ctx.Err())
}

type event struct{ name, data string }

// readEvents parses a server-sent event stream.
func readEvents(r io.Reader) <-chan event {
	ch := make(chan event)
	go func() {
		defer close(ch)
		buf := make([]byte, 0, 1<<20)
		tmp := make([]byte, 64<<10)
		for {
			n, err := r.Read(tmp)
			buf = append(buf, tmp[:n]...)
			for {
				i := strings.Index(string(buf), "\n\n")
				if i < 0 {
					break
				}
				var ev event
				for _, line := range strings.Split(string(buf[:i]), "\n") {
					if v, ok := strings.CutPrefix(line, "event: "); ok {
						ev.name = v
					} else if v, ok := strings.CutPrefix(line, "data: "); ok {
						ev.data = v
					}
				}
				buf = buf[i+2:]
				if ev.name != "" {
					ch <- ev
				}
			}
			if err != nil {
				return
			}
		}
	}()
	return ch
}

// TestStreamOnce sends one round and ends.
func TestStreamOnce(t *testing.T) {
	t.Parallel()
	db := seed(t)
	h := dashboard.NewHandler(db, dashboard.Config{})
	defer h.Close()
	srv := httptest.NewServer(h)
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/api/stream?range=all&once=1&word=amazing")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var names []string
	for ev := range readEvents(resp.Body) {
		names = append(names, ev.name)
	}
	if len(names) < 15 || names[len(names)-1] != "end" || !slices.Contains(names, "scope") {
		t.Errorf("events = %v", names)
	}
}

// TestToken checks the access token: refused without it, accepted as a bearer header and as
// the login form's cookie, compared in full.
func TestToken(t *testing.T) {
	t.Parallel()
	db := seed(t)
	const token = "s3cret-token"
	h := dashboard.NewHandler(db, dashboard.Config{Token: token})
	defer h.Close()
	srv := httptest.NewServer(h)
	defer srv.Close()
	c := newClient(t, srv.URL)
	c.get("/healthz", 200, nil)
	c.get("/api/kpis", 401, nil)
	c.get("/api/stream?once=1", 401, nil)
	c.get("/api/console", 401, nil)
	if body := string(c.get("/", 200, nil)); !strings.Contains(body, `action="/login"`) {
		t.Fatalf("/ without the token does not lead to the login form: %s", body)
	}
	for _, wrong := range []string{"Bearer s3cret-toke", "Bearer s3cret-token2", "Basic " + token, token} {
		c.auth = wrong
		c.get("/api/kpis", 401, nil)
	}
	c.auth = "Bearer " + token
	c.get("/api/kpis", 200, nil)

	c = newClient(t, srv.URL)
	c.post("/login", "application/x-www-form-urlencoded", "token=wrong", 200) // redirected to the form
	c.get("/api/kpis", 401, nil)
	resp, _ := c.post("/login", "application/x-www-form-urlencoded", url.Values{"token": {token}}.Encode(), 200)
	if resp.Request.URL.Path != "/" {
		t.Errorf("login led to %s", resp.Request.URL)
	}
	u, _ := url.Parse(srv.URL)
	cookies := c.http.Jar.Cookies(u)
	if len(cookies) != 1 || strings.Contains(cookies[0].Value, token) {
		t.Fatalf("session cookie = %+v", cookies)
	}
	c.get("/api/kpis", 200, nil)
	c.post("/logout", "application/x-www-form-urlencoded", "", 200)
	c.get("/api/kpis", 401, nil)
}

// TestConsoleEndpoints runs statements through the API as the read-only user: rows, CSV,
// refusals and ClickHouse's own messages; and a console that is off says why.
func TestConsoleEndpoints(t *testing.T) {
	t.Parallel()
	db := seed(t)
	h := dashboard.NewHandler(db, dashboard.Config{Console: consoleRunner(t, db)})
	defer h.Close()
	srv := httptest.NewServer(h)
	defer srv.Close()
	c := newClient(t, srv.URL)
	var st struct {
		Enabled  bool
		Examples []warehouse.ConsoleExample
	}
	c.get("/api/console", 200, &st)
	if !st.Enabled || len(st.Examples) != len(warehouse.ConsoleExamples) {
		t.Errorf("console status = %+v", st)
	}
	_, body := c.post("/api/console/query", "application/json", `{"sql":"SELECT hashtag, sum(tweets) AS n FROM hashtag_minute GROUP BY hashtag ORDER BY n DESC LIMIT 3"}`, 200)
	var res warehouse.ConsoleResult
	if err := json.Unmarshal(body, &res); err != nil || len(res.Rows) != 3 || res.Columns[1].Name != "n" || !res.Columns[1].Numeric {
		t.Errorf("result = %s, %v", body, err)
	}
	_, body = c.post("/api/console/query", "application/json", `{"sql":"DROP TABLE tweets"}`, 400)
	if !strings.Contains(string(body), "Not run: only SELECT") {
		t.Errorf("DROP TABLE: %s", body)
	}
	_, body = c.post("/api/console/query", "application/json", `{"sql":"SELECT nope FROM tweets"}`, 400)
	if !strings.Contains(string(body), "ClickHouse error 47") || !strings.Contains(string(body), "nope") {
		t.Errorf("unknown column: %s", body)
	}
	c.post("/api/console/query", "text/plain", `{"sql":"SELECT 1"}`, 415)
	resp, body := c.post("/api/console/query", "application/json", `{"sql":"SELECT '=cmd|calc' AS f, -1.5 AS n, text FROM tweets WHERE id = 50","format":"csv"}`, 200)
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/csv") || !strings.Contains(resp.Header.Get("Content-Disposition"), "attachment") {
		t.Errorf("CSV headers: %v", resp.Header)
	}
	recs, err := csv.NewReader(strings.NewReader(string(body))).ReadAll()
	if err != nil || len(recs) != 2 || recs[0][0] != "f" || recs[1][0] != "'=cmd|calc" || recs[1][1] != "-1.5" || !strings.Contains(recs[1][2], "<script>") {
		t.Errorf("CSV = %q, %v", body, err)
	}

	off := dashboard.NewHandler(db, dashboard.Config{ConsoleOff: "The SQL console is off: testing."})
	defer off.Close()
	srvOff := httptest.NewServer(off)
	defer srvOff.Close()
	c = newClient(t, srvOff.URL)
	var st2 struct {
		Enabled bool
		Reason  string
	}
	c.get("/api/console", 200, &st2)
	if st2.Enabled || !strings.Contains(st2.Reason, "testing") {
		t.Errorf("console off: %+v", st2)
	}
	c.post("/api/console/query", "application/json", `{"sql":"SELECT 1"}`, 403)
}

// TestConsoleOff: the console runs only with a read-only user that is not the writer, and,
// beyond loopback, only behind a token.
func TestConsoleOff(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		cfg  dashboard.Config
		want string
	}{
		{dashboard.Config{Addr: "127.0.0.1:8080", ConsoleUser: "starling_console"}, ""},
		{dashboard.Config{Addr: "[::1]:8080", ConsoleUser: "starling_console"}, ""},
		{dashboard.Config{Addr: "localhost:8080", ConsoleUser: "starling_console"}, ""},
		{dashboard.Config{Addr: ":8080", ConsoleUser: "starling_console", Token: "0123456789"}, ""},
		{dashboard.Config{Addr: ":8080", ConsoleUser: "starling_console"}, "without an access token"},
		{dashboard.Config{Addr: "0.0.0.0:8080", ConsoleUser: "starling_console"}, "without an access token"},
		{dashboard.Config{Addr: "192.168.1.5:8080", ConsoleUser: "starling_console"}, "without an access token"},
		{dashboard.Config{Addr: "127.0.0.1:8080"}, "no read-only ClickHouse user"},
		{dashboard.Config{Addr: "127.0.0.1:8080", ConsoleUser: "default"}, "writing user"},
		{dashboard.Config{Addr: "127.0.0.1:8080", ConsoleUser: "starling", Warehouse: warehouse.Config{Username: "starling"}}, "writing user"},
	} {
		got := dashboard.ConsoleOff(tc.cfg)
		if tc.want == "" && got != "" || tc.want != "" && !strings.Contains(got, tc.want) {
			t.Errorf("%+v: %q, want %q", tc.cfg, got, tc.want)
		}
	}
	if err := (dashboard.Config{Token: "short"}).Validate(); err == nil {
		t.Error("a 5-character token was accepted")
	}
}

// TestTokenGuessesAreThrottled: wrong tokens count per client address, whether sent as a
// bearer header, a session cookie or through the login form; past ten in a minute the
// address gets 429 even with the right token, and other addresses are not affected.
func TestTokenGuessesAreThrottled(t *testing.T) {
	t.Parallel()
	const token = "s3cret-token"
	h := dashboard.NewHandler(nil, dashboard.Config{Token: token})
	defer h.Close()
	call := func(addr, method, path, auth, cookie, form string) *httptest.ResponseRecorder {
		var body io.Reader
		if form != "" {
			body = strings.NewReader(form)
		}
		r := httptest.NewRequest(method, path, body)
		r.RemoteAddr = addr + ":40000"
		if auth != "" {
			r.Header.Set("Authorization", auth)
		}
		if cookie != "" {
			r.AddCookie(&http.Cookie{Name: "starling_session", Value: cookie})
		}
		if form != "" {
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w
	}
	const attacker, other = "192.0.2.7", "192.0.2.8"
	for i := range 10 {
		var w *httptest.ResponseRecorder
		switch i % 3 {
		case 0:
			w = call(attacker, "GET", "/api/about", fmt.Sprintf("Bearer guess-%d", i), "", "")
		case 1:
			w = call(attacker, "GET", "/api/about", "", fmt.Sprintf("forged-%d", i), "")
		case 2:
			w = call(attacker, "POST", "/login", "", "", "token=guess")
			if loc := w.Header().Get("Location"); loc != "/login?failed=1" {
				t.Fatalf("wrong token %d through the login form led to %q", i+1, loc)
			}
			continue
		}
		if w.Code != http.StatusUnauthorized {
			t.Fatalf("wrong token %d: status %d, want 401", i+1, w.Code)
		}
	}
	if w := call(attacker, "GET", "/api/about", "Bearer "+token, "", ""); w.Code != http.StatusTooManyRequests || w.Header().Get("Retry-After") == "" {
		t.Fatalf("the right token after ten wrong ones: status %d, Retry-After %q; want 429 with Retry-After", w.Code, w.Header().Get("Retry-After"))
	}
	if w := call(attacker, "POST", "/login", "", "", "token="+token); w.Header().Get("Location") != "/login?failed=wait" {
		t.Fatalf("login form after ten wrong tokens led to %q", w.Header().Get("Location"))
	}
	if w := call(other, "GET", "/api/about", "Bearer "+token, "", ""); w.Code == http.StatusTooManyRequests || w.Code == http.StatusUnauthorized {
		t.Fatalf("another address with the right token: status %d", w.Code)
	}
	if w := call(attacker, "GET", "/api/about", "", "", ""); w.Code != http.StatusUnauthorized {
		t.Fatalf("no token at all: status %d, want 401", w.Code)
	}
}

// rescored is the learned model's scores of rows, by partition.
func rescored(t *testing.T, rows []warehouse.TweetRow) map[int32][]warehouse.ScoreRow {
	t.Helper()
	linear, err := sentiment.Linear()
	if err != nil {
		t.Fatal(err)
	}
	out := map[int32][]warehouse.ScoreRow{}
	for _, r := range rows {
		score, label := linear.Score(r.Text)
		out[r.KafkaPartition] = append(out[r.KafkaPartition], warehouse.ScoreRow{ID: r.ID, CreatedAt: r.CreatedAt, Lang: r.Lang, Sentiment: float32(score),
			SentimentLabel: int8(label), KafkaTopic: r.KafkaTopic, KafkaPartition: r.KafkaPartition, KafkaOffset: r.KafkaOffset})
	}
	return out
}

// agreement is how many of rows vader and the learned model label alike.
func agreement(t *testing.T, rows []warehouse.TweetRow) int {
	t.Helper()
	n := 0
	for _, scores := range rescored(t, rows) {
		for _, s := range scores {
			for _, r := range rows {
				if r.ID == s.ID && r.SentimentLabel == s.SentimentLabel {
					n++
				}
			}
		}
	}
	return n
}
