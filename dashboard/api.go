package dashboard

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"time"
	"unicode/utf8"

	"golang.org/x/sync/errgroup"
	"golang.org/x/sync/singleflight"

	"github.com/starling-analytics/starling/internal/tweet"
	"github.com/starling-analytics/starling/warehouse"
)

// The JSON API. Every panel has an endpoint taking the view's parameters:
//
//	range   15m, 1h (default), 6h, 24h: the last minutes of data, anchored at the newest
//	        minute the warehouse holds; all: everything; custom: from and to
//	from,to an absolute range, RFC 3339 or 2006-01-02T15:04 (UTC), with range=custom
//	minutes the last N minutes, instead of range
//	hashtag, word, lang  filters
//
// and answers with the panel's figures beside "window" (the minutes it covers), "filter"
// and "has_data". /api/snapshot answers every panel at once; /api/stream pushes them as
// server-sent events, every second, each panel only when it changed.

// ranges are the named live spans, in minutes.
var ranges = map[string]int{"15m": 15, "1h": 60, "6h": 360, "24h": 1440}

// view is a request's time range and filters.
type view struct {
	span   warehouse.Span
	filter warehouse.Filter
	all    bool   // range=all: rising hashtags compare the halves of the data
	cloud  string // the word cloud's terms: "words" or "hashtags"
	key    string // canonical form, for the shared cache
}

// maxFilterBytes bounds a filter value.
const maxFilterBytes = 280

func parseView(r *http.Request) (view, error) {
	q := r.URL.Query()
	var v view
	rng := q.Get("range")
	switch {
	case rng == "" && q.Has("minutes"):
		n, err := intParam(r, "minutes", 60, 1, 525_600)
		if err != nil {
			return v, err
		}
		v.span.Last = n
		rng = strconv.Itoa(n) + "m"
	case rng == "":
		rng = "1h"
		v.span.Last = 60
	case rng == "all":
		v.all = true
	case rng == "custom":
		from, err := parseTime(q.Get("from"))
		if err != nil {
			return v, fmt.Errorf("parameter from: %w", err)
		}
		to, err := parseTime(q.Get("to"))
		if err != nil {
			return v, fmt.Errorf("parameter to: %w", err)
		}
		if !from.Before(to) {
			return v, errors.New("parameter from must be before to")
		}
		v.span.From, v.span.To = from, to
		rng = "custom:" + from.Format(time.RFC3339) + "/" + to.Format(time.RFC3339)
	default:
		n, ok := ranges[rng]
		if !ok {
			return v, fmt.Errorf("parameter range must be 15m, 1h, 6h, 24h, all or custom, not %q", rng)
		}
		v.span.Last = n
	}
	for _, f := range []struct {
		name string
		into *string
	}{{"hashtag", &v.filter.Hashtag}, {"word", &v.filter.Word}, {"lang", &v.filter.Lang}} {
		s := q.Get(f.name)
		if len(s) > maxFilterBytes || !utf8.ValidString(s) {
			return v, fmt.Errorf("parameter %s must be UTF-8 text of at most %d bytes", f.name, maxFilterBytes)
		}
		*f.into = s
	}
	v.cloud = "words"
	if q.Get("cloud") == "hashtags" {
		v.cloud = "hashtags"
	}
	key := url.Values{"r": {rng}, "h": {v.filter.Hashtag}, "w": {v.filter.Word}, "l": {v.filter.Lang}, "c": {v.cloud}}
	v.key = key.Encode()
	return v, nil
}

// parseTime reads an RFC 3339 time, or a datetime-local input's value as UTC.
func parseTime(s string) (time.Time, error) {
	for _, layout := range []string{time.RFC3339, "2006-01-02T15:04:05", "2006-01-02T15:04"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("%q is not a time such as 2026-03-14T17:30:00Z", s)
}

// intParam reads a bounded integer query parameter.
func intParam(r *http.Request, name string, def, lo, hi int) (int, error) {
	s := r.URL.Query().Get(name)
	if s == "" {
		return def, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < lo || n > hi {
		return 0, fmt.Errorf("parameter %s must be a whole number from %d to %d", name, lo, hi)
	}
	return n, nil
}

// panel is one panel of the page and its endpoint.
type panel struct {
	name string
	path string
	// run answers for a scope; q holds the request's own parameters (limits), absent in
	// snapshots and streams, which use the defaults.
	run func(ctx context.Context, sc *warehouse.Scope, v view, q limits) (any, error)
}

// limits reads a panel's size parameters.
type limits struct{ r *http.Request }

func (l limits) get(name string, def, hi int) (int, error) {
	if l.r == nil {
		return def, nil
	}
	return intParam(l.r, name, def, 1, hi)
}

func (l limits) str(name string) string {
	if l.r == nil {
		return ""
	}
	return l.r.URL.Query().Get(name)
}

// errBadParam marks a request's own mistake in a panel's parameters.
type errBadParam struct{ error }

func limited(l limits, name string, def, hi int, f func(n int) (any, error)) (any, error) {
	n, err := l.get(name, def, hi)
	if err != nil {
		return nil, errBadParam{err}
	}
	return f(n)
}

// PanelPaths lists the endpoint of every panel, in the order a snapshot lists them.
func PanelPaths() []string {
	out := make([]string, len(panels))
	for i, p := range panels {
		out[i] = p.path
	}
	return out
}

// panels are the page's panels, in the order a snapshot lists them.
var panels = []panel{
	{"kpis", "/api/kpis", func(ctx context.Context, sc *warehouse.Scope, _ view, _ limits) (any, error) { return sc.KPIs(ctx) }},
	{"timeline", "/api/timeline", func(ctx context.Context, sc *warehouse.Scope, _ view, _ limits) (any, error) { return sc.Timeline(ctx) }},
	{"hashtags", "/api/hashtags/top", func(ctx context.Context, sc *warehouse.Scope, _ view, l limits) (any, error) {
		return limited(l, "limit", 15, 200, func(n int) (any, error) { return sc.TopHashtags(ctx, n) })
	}},
	{"series", "/api/hashtags/volume", func(ctx context.Context, sc *warehouse.Scope, _ view, l limits) (any, error) {
		return limited(l, "top", 5, 20, func(n int) (any, error) { return sc.HashtagSeries(ctx, n) })
	}},
	{"rising", "/api/hashtags/rising", func(ctx context.Context, sc *warehouse.Scope, v view, l limits) (any, error) {
		return limited(l, "limit", 10, 100, func(n int) (any, error) { return sc.RisingHashtags(ctx, n, v.all) })
	}},
	{"sentiment", "/api/sentiment", func(ctx context.Context, sc *warehouse.Scope, _ view, _ limits) (any, error) {
		return sc.SentimentMix(ctx)
	}},
	{"languages", "/api/languages", func(ctx context.Context, sc *warehouse.Scope, _ view, l limits) (any, error) {
		return limited(l, "limit", 8, 50, func(n int) (any, error) { return sc.Languages(ctx, n) })
	}},
	{"cloud", "/api/words/top", func(ctx context.Context, sc *warehouse.Scope, v view, l limits) (any, error) {
		return limited(l, "limit", 80, 300, func(n int) (any, error) {
			if v.cloud == "hashtags" {
				return sc.TopHashtags(ctx, n)
			}
			return sc.TopWords(ctx, n)
		})
	}},
	{"latest", "/api/tweets/latest", func(ctx context.Context, sc *warehouse.Scope, _ view, l limits) (any, error) {
		return limited(l, "limit", 15, 100, func(n int) (any, error) { return sc.LatestTweets(ctx, n) })
	}},
	{"extremes", "/api/tweets/extremes", func(ctx context.Context, sc *warehouse.Scope, _ view, l limits) (any, error) {
		return limited(l, "limit", 5, 20, func(n int) (any, error) { return sc.ExtremeTweets(ctx, n) })
	}},
	{"entities", "/api/entities", func(ctx context.Context, sc *warehouse.Scope, _ view, l limits) (any, error) {
		kind := l.str("kind")
		switch kind {
		case "", warehouse.KindPerson, warehouse.KindPlace, warehouse.KindOrganisation:
		default:
			return nil, errBadParam{fmt.Errorf("parameter kind must be person, place or organisation, not %q", kind)}
		}
		return limited(l, "limit", 12, 100, func(n int) (any, error) { return sc.TopEntities(ctx, kind, n) })
	}},
}

// panelTimeout bounds one panel's queries.
const panelTimeout = 15 * time.Second

// scopeJSON is the part of every panel answer that says what it covers.
func scopeJSON(sc *warehouse.Scope) []byte {
	b, _ := json.Marshal(sc)
	return b
}

// withScope merges the scope's fields into a panel's JSON object.
func withScope(scope, body []byte) []byte {
	if len(body) < 2 || body[0] != '{' {
		return body
	}
	out := make([]byte, 0, len(scope)+len(body)+1)
	out = append(out, scope[:len(scope)-1]...)
	if len(body) > 2 {
		out = append(out, ',')
	}
	return append(out, body[1:]...)
}

func (h *Handler) panelHandler(p panel) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		v, err := parseView(r)
		if err != nil {
			h.fail(w, http.StatusBadRequest, err)
			return
		}
		ctx, cancel := context.WithTimeout(r.Context(), panelTimeout)
		defer cancel()
		sc, err := h.store.NewScope(ctx, v.span, v.filter)
		if err != nil {
			h.fail(w, scopeStatus(err), err)
			return
		}
		out, err := p.run(ctx, sc, v, limits{r})
		var bad errBadParam
		switch {
		case errors.As(err, &bad) || errors.Is(err, warehouse.ErrBadQuery):
			h.fail(w, http.StatusBadRequest, err)
			return
		case err != nil:
			h.fail(w, http.StatusBadGateway, err)
			return
		}
		body, err := json.Marshal(out)
		if err != nil {
			h.fail(w, http.StatusInternalServerError, err)
			return
		}
		h.writeRaw(w, http.StatusOK, withScope(scopeJSON(sc), body))
	}
}

func scopeStatus(err error) int {
	if errors.Is(err, warehouse.ErrBadQuery) {
		return http.StatusBadRequest
	}
	return http.StatusBadGateway
}

// Pipeline is the pipeline health panel: the Kafka cluster, the ETL's throughput and what
// the warehouse has loaded.
type Pipeline struct {
	// Names are the topics and groups the pipeline runs on.
	Names tweet.Names `json:"names"`
	// Kafka is nil when no broker is configured or none answered; KafkaError says which.
	Kafka      *KafkaStatus `json:"kafka"`
	KafkaError string       `json:"kafka_error,omitempty"`
	// Throughput is tweets loaded per second over the last five minutes.
	Throughput *warehouse.Throughput `json:"throughput"`
	// Loaded is the last offset the warehouse holds for each partition of topic tweets
	// (LoadedEntities: of the entities group).
	Loaded         map[int32]int64 `json:"loaded"`
	LoadedEntities map[int32]int64 `json:"loaded_entities"`
	// Errors lists warehouse reads that failed.
	Errors []string `json:"errors,omitempty"`
}

// throughputSeconds is the span of the throughput chart.
const throughputSeconds = 300

func (h *Handler) pipeline(ctx context.Context) Pipeline {
	p := Pipeline{Names: h.names}
	var mu sync.Mutex
	var g errgroup.Group
	g.Go(func() error {
		if h.kafka == nil {
			p.KafkaError = "No Kafka brokers are configured (--brokers, STARLING_BROKERS): topics, consumer groups and lag are not shown."
			return nil
		}
		st, err := h.kafka.status(ctx)
		mu.Lock()
		defer mu.Unlock()
		if err != nil {
			p.KafkaError = "Kafka is not reachable: " + err.Error()
		} else {
			p.Kafka = &st
		}
		return nil
	})
	g.Go(func() error {
		th, err := h.store.Throughput(ctx, throughputSeconds)
		mu.Lock()
		defer mu.Unlock()
		if err != nil {
			p.Errors = append(p.Errors, publicError(err))
		} else {
			p.Throughput = &th
		}
		return nil
	})
	g.Go(func() error {
		loaded, err := h.store.LoadedOffsets(ctx, h.names.Topic)
		var ents map[int32]int64
		if err == nil {
			ents, err = h.store.LoadedOffsets(ctx, tweet.EntityProgress(h.names.Topic))
		}
		mu.Lock()
		defer mu.Unlock()
		if err != nil {
			p.Errors = append(p.Errors, publicError(err))
		}
		p.Loaded, p.LoadedEntities = loaded, ents
		return nil
	})
	g.Wait()
	return p
}

func (h *Handler) pipelineHandler(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), panelTimeout)
	defer cancel()
	h.writeJSON(w, http.StatusOK, h.pipeline(ctx))
}

// panelResult is one panel's answer within a snapshot or a stream.
type panelResult struct {
	name string
	body []byte // JSON; {"error": ...} when the panel failed
}

// compute answers every panel of v, at most four at a time, handing each result to emit as
// soon as it is ready. The scope and the panels come from the shared cache when another
// request computed them within the last second.
func (h *Handler) compute(ctx context.Context, v view, shared bool, emit func(panelResult)) ([]byte, error) {
	if shared {
		// A shared computation serves other streams too: it must not end when the stream
		// that started it does (panelTimeout bounds it instead).
		ctx = context.WithoutCancel(ctx)
	}
	got, err := h.cache.get(shared, v.key+"|scope", func() (any, error) { return h.store.NewScope(ctx, v.span, v.filter) })
	if err != nil {
		return nil, err
	}
	sc := got.(*warehouse.Scope)
	results := make(chan panelResult)
	var g errgroup.Group
	g.SetLimit(4)
	go func() {
		for _, p := range panels {
			g.Go(func() error {
				got, err := h.cache.get(shared, v.key+"|"+p.name, func() (any, error) {
					pctx, cancel := context.WithTimeout(ctx, panelTimeout)
					defer cancel()
					out, err := p.run(pctx, sc, v, limits{})
					if err != nil {
						return nil, err
					}
					return json.Marshal(out)
				})
				var body []byte
				if err != nil {
					h.log.Warn("panel failed", "panel", p.name, "err", err)
					body, _ = json.Marshal(map[string]string{"error": publicError(err)})
				} else {
					body = got.([]byte)
				}
				results <- panelResult{p.name, body}
				return nil
			})
		}
		g.Go(func() error {
			got, _ := h.cache.get(shared, "pipeline", func() (any, error) {
				pctx, cancel := context.WithTimeout(ctx, panelTimeout)
				defer cancel()
				return json.Marshal(h.pipeline(pctx))
			})
			results <- panelResult{"pipeline", got.([]byte)}
			return nil
		})
		g.Wait()
		close(results)
	}()
	for r := range results {
		emit(r)
	}
	return scopeJSON(sc), nil
}

// snapshot answers every panel of the view in one JSON object: {"scope", "panels"}.
func (h *Handler) snapshot(w http.ResponseWriter, r *http.Request) {
	v, err := parseView(r)
	if err != nil {
		h.fail(w, http.StatusBadRequest, err)
		return
	}
	got := map[string]json.RawMessage{}
	scope, err := h.compute(r.Context(), v, false, func(p panelResult) { got[p.name] = p.body })
	if err != nil {
		h.fail(w, scopeStatus(err), err)
		return
	}
	h.writeJSON(w, http.StatusOK, map[string]any{"scope": json.RawMessage(scope), "panels": got})
}

// streamInterval is how often a live stream recomputes its panels.
const streamInterval = time.Second

// stream pushes the view's panels as server-sent events: "scope" (the window), "panel"
// ({"name", "data"}) for each panel that changed, then "tick" ({"at"}), every second.
// With once=1 it sends one round and an "end" event, for a paused page.
func (h *Handler) stream(w http.ResponseWriter, r *http.Request) {
	v, err := parseView(r)
	if err != nil {
		h.fail(w, http.StatusBadRequest, err)
		return
	}
	flusher, ok := w.(http.Flusher)
	if !ok {
		h.fail(w, http.StatusInternalServerError, errors.New("streaming unsupported"))
		return
	}
	once := r.URL.Query().Get("once") == "1"
	hd := w.Header()
	hd.Set("Content-Type", "text/event-stream")
	hd.Set("Cache-Control", "no-store")
	hd.Set("X-Accel-Buffering", "no") // a proxy must not hold the events back
	w.WriteHeader(http.StatusOK)
	rc := http.NewResponseController(w)
	var buf bytes.Buffer
	send := func(event string, data []byte) error {
		buf.Reset()
		buf.WriteString("event: ")
		buf.WriteString(event)
		buf.WriteString("\ndata: ")
		buf.Write(data)
		buf.WriteString("\n\n")
		rc.SetWriteDeadline(time.Now().Add(10 * time.Second))
		if _, err := w.Write(buf.Bytes()); err != nil {
			return err
		}
		flusher.Flush()
		return nil
	}
	if _, err := fmt.Fprint(w, "retry: 2000\n\n"); err != nil {
		return
	}
	ctx := r.Context()
	sent := map[string][]byte{}
	var lastScope []byte
	tick := time.NewTicker(streamInterval)
	defer tick.Stop()
	for {
		var werr error
		scope, err := h.compute(ctx, v, true, func(p panelResult) {
			if werr != nil || bytes.Equal(sent[p.name], p.body) {
				return
			}
			sent[p.name] = p.body
			data, _ := json.Marshal(struct {
				Name string          `json:"name"`
				Data json.RawMessage `json:"data"`
			}{p.name, p.body})
			werr = send("panel", data)
		})
		switch {
		case ctx.Err() != nil || werr != nil:
			return
		case err != nil:
			msg, _ := json.Marshal(map[string]string{"error": publicError(err)})
			if send("problem", msg) != nil {
				return
			}
		case !bytes.Equal(scope, lastScope):
			// The scope goes after the panels it describes; the page shows the window
			// only once panels have arrived for it.
			if send("scope", scope) != nil {
				return
			}
			lastScope = scope
		}
		at, _ := json.Marshal(map[string]time.Time{"at": time.Now().UTC()})
		if send("tick", at) != nil {
			return
		}
		if once {
			send("end", []byte("{}"))
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// panelCache shares computed scopes and panels between live streams of the same view for
// up to cacheTTL, so that a dashboard open in many tabs costs the warehouse one set of
// queries a second. Direct API calls and snapshots bypass it (shared false).
type panelCache struct {
	group singleflight.Group

	mu      sync.Mutex // guards entries
	entries map[string]cacheEntry
}

type cacheEntry struct {
	value any
	at    time.Time
}

// cacheTTL is shorter than the stream's interval, so every tick sees fresh data.
const cacheTTL = 900 * time.Millisecond

func newPanelCache() *panelCache { return &panelCache{entries: map[string]cacheEntry{}} }

// get returns key's value, computing it when it is not cached or older than cacheTTL.
// Concurrent callers of one key share one computation.
func (c *panelCache) get(shared bool, key string, compute func() (any, error)) (any, error) {
	if !shared {
		return compute()
	}
	c.mu.Lock()
	if e, ok := c.entries[key]; ok && time.Since(e.at) < cacheTTL {
		c.mu.Unlock()
		return e.value, nil
	}
	c.mu.Unlock()
	v, err, _ := c.group.Do(key, func() (any, error) {
		v, err := compute()
		if err != nil {
			return nil, err
		}
		c.mu.Lock()
		defer c.mu.Unlock()
		now := time.Now()
		for k, e := range c.entries {
			if now.Sub(e.at) > 10*cacheTTL {
				delete(c.entries, k)
			}
		}
		c.entries[key] = cacheEntry{v, now}
		return v, nil
	})
	return v, err
}
