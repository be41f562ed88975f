package warehouse

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
)

// The dashboard's panels. A request names a span of time (the last N minutes of data, all of
// it, or an absolute range) and optional filters (a hashtag, a word, a language); Scope
// resolves the span to a window of whole minutes once, and each panel method answers for
// that window and filter.
//
// Where the answers come from:
//   - Without a filter, from the per-minute aggregates (sentiment_minute, hashtag_minute,
//     word_minute): views of minute_stats, a SummingMergeTree table, always read with
//     sum(...) GROUP BY, whose counts are signed because withdrawn tweets are subtracted.
//   - With a filter, from the tweets table over the window's created_at range, which the
//     aggregates cannot answer (which words go with a hashtag, which languages use a word).
//     Tweets that were withdrawn but are not purged yet are left out by their id in
//     tweet_deletions. A timeline filtered by one hashtag, one word or one language is still
//     read from the aggregate keyed by it, and so are the counts a language alone filters
//     (the KPIs' tweets and sentiment, the sentiment mix, the languages).
//
// The panels of one scope (a snapshot, a live stream's tick) share what they read alike:
// the ranking of the top hashtags and words (Scope.topTerms; with a filter, the hashtags'
// with their volume, Scope.rankedHashtags), and a filtered window's tally by label and
// language (Scope.tallied).
//
// Every panel reads a bounded amount: when a window holds more tweets than a panel's budget
// (measured with `starling bench dashboard`: reading that much takes ClickHouse 18.16 about
// 20-40 ms on two busy cores), the panel reads a systematic sample instead: up to maxSlices
// slices of whole minutes spread evenly over the window, and scales its counts by the share
// of the window read. Sample.Fraction says how much was read; 1 means all of it. Live
// windows of the sample feed's rate are read whole; a week of a busy stream is sampled.
//
// SQL text comes only from the constants of this file: table and column names are chosen by
// the code, and every value from a request is a bound parameter.

// Filter narrows every panel to the tweets with a hashtag, a word and a language; empty
// fields do not filter.
type Filter struct {
	Hashtag string `json:"hashtag,omitempty"`
	Word    string `json:"word,omitempty"`
	Lang    string `json:"lang,omitempty"`
}

// IsZero reports whether f filters nothing.
func (f Filter) IsZero() bool { return f == Filter{} }

// count is how many of the fields are set.
func (f Filter) count() int {
	n := 0
	for _, s := range []string{f.Hashtag, f.Word, f.Lang} {
		if s != "" {
			n++
		}
	}
	return n
}

// byLang reports whether f is a language alone, or nothing: what sentiment_minute, keyed by
// language, answers exactly.
func (f Filter) byLang() bool { return f.Hashtag == "" && f.Word == "" }

// Span says which window a request asks for: the Last minutes of data, anchored at the
// newest minute the warehouse holds (a replayed feed may carry old timestamps, and "live"
// means the newest data); an absolute range [From, To) when To is set; or all the data when
// neither is set.
type Span struct {
	Last     int
	From, To time.Time
}

// Sample says how much of its window a panel read.
type Sample struct {
	// Fraction is the share of the window's minutes read, in (0, 1]; 1 means the whole
	// window, so the figures are exact. Below 1, counts are estimates scaled up from
	// evenly spread slices of the window.
	Fraction float64 `json:"fraction"`
}

var exact = Sample{Fraction: 1}

// budgets are how many tweets a window may hold for a panel to read it whole, by the table
// the panel reads; past them it samples. The tweets of a window stand for the rows a panel
// reads: at 1,000 tweets a minute, a minute is about 21 rows of sentiment_minute (read
// whole, always), 250 of hashtag_minute, 2,000 of word_minute, and 1,000 rows of tweets
// with their arrays. The budget of tweets is what a filtered panel reads in about 60 ms on
// two busy cores (starling bench dashboard): 400,000 took about 100.
type budgets struct {
	hashtagMinute, wordMinute, tweets, entities int64
}

var defaultBudgets = budgets{hashtagMinute: 2_000_000, wordMinute: 300_000, tweets: 250_000, entities: 1_000_000}

const (
	// maxSlices bounds the OR'd created_at ranges of a sampled query: ClickHouse 18.16
	// evaluates each range for each row, and 168 ranges took a second where 16 take 50 ms.
	maxSlices = 16
	// maxPoints bounds the points of a timeline.
	maxPoints = 240
)

// ErrBadQuery is wrapped by the errors of dashboard queries asked for something that cannot
// be answered: a span that names no window, an unknown entity kind.
var ErrBadQuery = errors.New("warehouse: bad dashboard query")

// Scope is one request's window and filter, shared by the panels it asks for.
type Scope struct {
	// Window is the resolved window; zero when HasData is false.
	Window Window `json:"window"`
	// Filter is the request's filter.
	Filter Filter `json:"filter"`
	// HasData is false for a live or all-data span when the warehouse holds no tweets yet.
	HasData bool `json:"has_data"`

	db     *DB
	budget budgets
	// tweets in the window, unfiltered: the measure of what a panel would read; and
	// whether tweet_deletions holds retracted tweets of the window. Computed once, by the
	// first panel that needs them.
	once      sync.Once
	tweets    int64
	withdrawn bool
	err       error
	// tops holds the first sharedTop hashtags and words of the window, read once for the
	// panels that rank them (the top hashtags, their volume, the cloud).
	tops [2]topTermsMemo
	// ranking is a filtered window's top hashtags with their volume, read once for both.
	rankOnce sync.Once
	ranking  hashtagRanking
	// tally is the filtered window's tweets by label and language, read once for the
	// panels that count them (the KPIs, the sentiment mix, the languages).
	tallyOnce sync.Once
	tally     tally
}

// topTermsMemo is one term source's ranking, computed by the first panel that asks.
type topTermsMemo struct {
	once  sync.Once
	terms Terms
	err   error
}

// sharedTop is how many terms a scope ranks once for its panels; a longer list is
// asked for on its own.
const sharedTop = 100

// NewScope resolves span to a window of whole minutes.
func (db *DB) NewScope(ctx context.Context, span Span, f Filter) (*Scope, error) {
	sc := &Scope{db: db, Filter: f, budget: defaultBudgets}
	switch {
	case !span.To.IsZero():
		if span.From.IsZero() || !span.From.Before(span.To) {
			return nil, fmt.Errorf("%w: from %s is not before to %s", ErrBadQuery, span.From.UTC().Format(time.RFC3339), span.To.UTC().Format(time.RFC3339))
		}
		sc.Window = Window{From: span.From.UTC().Truncate(time.Minute), To: span.To.UTC().Add(-time.Second).Truncate(time.Minute)}
		sc.HasData = true
	case span.Last > 0:
		w, ok, err := db.LatestWindow(ctx, span.Last)
		if err != nil {
			return nil, err
		}
		sc.Window, sc.HasData = w, ok
	case span.Last < 0:
		return nil, fmt.Errorf("%w: last %d minutes", ErrBadQuery, span.Last)
	default:
		var first, last time.Time
		var n uint64
		if err := db.conn.QueryRow(ctx, "SELECT min(minute), max(minute), count() FROM sentiment_minute").Scan(&first, &last, &n); err != nil {
			return nil, fmt.Errorf("warehouse: data range: %w", err)
		}
		if n > 0 {
			sc.Window, sc.HasData = Window{From: first.UTC(), To: last.UTC()}, true
		}
	}
	return sc, nil
}

// Minutes is the window's length in minutes.
func (w Window) Minutes() int { return int(w.To.Sub(w.From)/time.Minute) + 1 }

// end is the first minute after the window.
func (w Window) end() time.Time { return w.To.Add(time.Minute) }

// windowTweets returns the tweets in the window, unfiltered, and whether any of its
// tweets is withdrawn but still in the tweets table (see cond.tweets).
func (sc *Scope) windowTweets(ctx context.Context) (int64, bool, error) {
	sc.once.Do(func() {
		var withdrawn uint64
		err := sc.queryRow(ctx, "SELECT ("+tweetsOfMinutes+"), ("+withdrawnOfSpan+")",
			sc.Window.From, sc.Window.end(), sc.Window.From, sc.Window.end()).Scan(&sc.tweets, &withdrawn)
		if err != nil {
			sc.err = fmt.Errorf("warehouse: count tweets: %w", err)
		}
		sc.withdrawn = withdrawn > 0
	})
	return sc.tweets, sc.withdrawn, sc.err
}

// queryCtx is ctx for a query of the scope. With a word filter and no hashtag filter it
// turns off ClickHouse's automatic PREWHERE (optimize_move_to_prewhere), which moves
// has(words, ?) there, a condition not on the primary key. PREWHERE pays for a cheap,
// selective condition read first; this one is neither (words is the tweets table's
// largest column, and a common word is in rows all over each granule), and the first pass
// costs more than it saves: on a 24-hour window of ten million tweets, read in 16 slices
// of two minutes, the panels' queries took 73-114 ms with it and 34-62 ms without, on
// ClickHouse 18.16. A hashtag filter keeps the automatic choice, has(hashtags, ?): a small
// column that drops most rows first (it measured faster with it).
func (sc *Scope) queryCtx(ctx context.Context) context.Context {
	if sc.Filter.Word == "" || sc.Filter.Hashtag != "" {
		return ctx
	}
	return clickhouse.Context(ctx, clickhouse.WithSettings(clickhouse.Settings{"optimize_move_to_prewhere": 0}))
}

// query and queryRow run a query of the scope's panels, with queryCtx's settings.
func (sc *Scope) query(ctx context.Context, q string, args ...any) (driver.Rows, error) {
	return sc.db.conn.Query(sc.queryCtx(ctx), q, args...)
}

func (sc *Scope) queryRow(ctx context.Context, q string, args ...any) driver.Row {
	return sc.db.conn.QueryRow(sc.queryCtx(ctx), q, args...)
}

// tweetsOfMinutes counts the tweets of the minutes [?, ?) from the aggregate.
const tweetsOfMinutes = "SELECT sum(tweets) FROM sentiment_minute WHERE minute >= ? AND minute < ?"

// withdrawnOfSpan counts the withdrawn tweets made in [?, ?) that tweet_deletions holds.
const withdrawnOfSpan = "SELECT count() FROM tweet_deletions WHERE retracted = 1 AND created_at >= ? AND created_at < ?"

// span is a half-open range of whole minutes, [from, to).
type span struct{ from, to time.Time }

// plan is what a panel reads of its window: the whole of it (one span) or evenly spread
// slices.
type plan struct {
	win      Window
	slices   []span
	fraction float64       // minutes read / minutes of the window
	stride   time.Duration // sampled: the distance between slice starts
	// noneWithdrawn: tweet_deletions holds no retracted tweet of the window, so a query of
	// the tweets table need not leave any out (cond.tweets). False when not known.
	noneWithdrawn bool
	// deletions is the table a subquery of a tweets query reads withdrawn ids from: on a
	// cluster, the shard's own (tweet_deletions_local), which holds every withdrawal of
	// the shard's tweets (cluster.go).
	deletions string
}

func (p plan) sample() Sample { return Sample{Fraction: p.fraction} }

func (p plan) sampled() bool { return len(p.slices) > 1 || p.fraction < 1 }

// planWindow decides what to read of w, which holds tweets tweets, within budget; its
// queries of the tweets table read withdrawn ids from deletions (plan.deletions).
func planWindow(w Window, tweets, budget int64, deletions string) plan {
	whole := plan{win: w, slices: []span{{w.From, w.end()}}, fraction: 1, deletions: deletions}
	m := w.Minutes()
	if tweets <= budget || m < 2 {
		return whole
	}
	n := min(maxSlices, m)
	strideMin := m / n
	length := int(math.Round(float64(budget) / float64(tweets) * float64(m) / float64(n)))
	length = max(1, min(length, strideMin))
	if length == strideMin && strideMin*n == m {
		return whole
	}
	p := plan{win: w, fraction: float64(n*length) / float64(m), stride: time.Duration(strideMin) * time.Minute, deletions: deletions}
	for i := range n {
		// Each slice sits in the middle of its stride, so that the window's two ends are
		// read alike.
		start := w.From.Add(time.Duration(i*strideMin+(strideMin-length)/2) * time.Minute)
		p.slices = append(p.slices, span{start, start.Add(time.Duration(length) * time.Minute)})
	}
	return p
}

// plan returns what to read of the window within budget.
func (sc *Scope) plan(ctx context.Context, budget int64) (plan, error) {
	n, withdrawn, err := sc.windowTweets(ctx)
	if err != nil {
		return plan{}, err
	}
	p := planWindow(sc.Window, n, budget, sc.db.table("tweet_deletions"))
	p.noneWithdrawn = !withdrawn
	return p, nil
}

// scale turns a count from the slices read into an estimate for the whole window.
func (p plan) scale(n int64) int64 {
	if p.fraction >= 1 {
		return n
	}
	return int64(math.Round(float64(n) / p.fraction))
}

// cond is a WHERE clause under construction: parts are constants of this file, args the
// values bound to their placeholders.
type cond struct {
	parts []string
	args  []any
}

func (c *cond) add(part string, args ...any) *cond {
	c.parts = append(c.parts, part)
	c.args = append(c.args, args...)
	return c
}

func (c *cond) sql() string {
	if len(c.parts) == 0 {
		return "1"
	}
	return strings.Join(c.parts, " AND ")
}

// timeCond adds the plan's slices as a condition on the time column col (a column name
// from this file, never from a request).
func (c *cond) time(col string, p plan) *cond {
	ranges := make([]string, len(p.slices))
	for i, s := range p.slices {
		ranges[i] = col + " >= ? AND " + col + " < ?"
		c.args = append(c.args, s.from, s.to)
	}
	if len(ranges) == 1 {
		c.parts = append(c.parts, ranges[0])
	} else {
		c.parts = append(c.parts, "(("+strings.Join(ranges, ") OR (")+"))")
	}
	return c
}

// tweets adds the filter and the withdrawn-tweet exclusion for a query on the tweets table
// within plan p.
func (c *cond) tweets(f Filter, p plan) *cond {
	if f.Hashtag != "" {
		c.add("has(hashtags, ?)", f.Hashtag)
	}
	if f.Word != "" {
		c.add("has(words, ?)", f.Word)
	}
	if f.Lang != "" {
		c.add("lang = ?", f.Lang)
	}
	// A withdrawn tweet leaves the aggregates at once and the tweets table a few seconds
	// later (a mutation): until then, its id in tweet_deletions keeps it out. The set is
	// bounded by the window, and small: the purger empties it of what it removed. Mostly
	// it is empty, and then the condition, which costs a read of every row's id, is left
	// out.
	if p.noneWithdrawn {
		return c
	}
	return c.add("id NOT IN (SELECT id FROM "+p.deletions+" WHERE retracted = 1 AND created_at >= ? AND created_at < ?)",
		p.win.From, p.win.end())
}

// KPIs are the headline figures of a window.
type KPIs struct {
	Tweets        int64   `json:"tweets"`
	PerMinute     float64 `json:"per_minute"`
	AvgSentiment  float64 `json:"avg_sentiment"`
	Positive      int64   `json:"positive"`
	Negative      int64   `json:"negative"`
	PositiveShare float64 `json:"positive_share"`
	NegativeShare float64 `json:"negative_share"`
	// ActiveHashtags is the number of distinct hashtags used; from a sample it counts only
	// the hashtags of the slices read (a lower bound).
	ActiveHashtags int64  `json:"active_hashtags"`
	Sample         Sample `json:"sample"`
	HashtagSample  Sample `json:"hashtag_sample"`
}

// KPIs returns the window's headline figures.
func (sc *Scope) KPIs(ctx context.Context) (KPIs, error) {
	k := KPIs{Sample: exact, HashtagSample: exact}
	if !sc.HasData {
		return k, nil
	}
	var sentSum float64
	// The rate is over the minutes from the window's first tweet on: a window reaching back
	// before the data began (an hour, five minutes after the start) is not an empty hour.
	first := sc.Window.From
	if sc.Filter.byLang() {
		var c cond
		c.add("minute >= ? AND minute < ?", sc.Window.From, sc.Window.end())
		if sc.Filter.Lang != "" {
			c.add("lang = ?", sc.Filter.Lang)
		}
		err := sc.queryRow(ctx, `SELECT sum(tweets), sum(sentiment_sum),
			sumIf(tweets, sentiment_label = 'positive'), sumIf(tweets, sentiment_label = 'negative'), minIf(minute, tweets > 0)
			FROM sentiment_minute WHERE `+c.sql(), c.args...,
		).Scan(&k.Tweets, &sentSum, &k.Positive, &k.Negative, &first)
		if err != nil {
			return k, fmt.Errorf("warehouse: kpis: %w", err)
		}
		var tags uint64
		var p plan
		if sc.Filter.IsZero() {
			if p, err = sc.plan(ctx, sc.budget.hashtagMinute); err != nil {
				return k, err
			}
			var c cond
			c.time("minute", p)
			err = sc.queryRow(ctx, "SELECT count() FROM (SELECT hashtag FROM hashtag_minute WHERE "+c.sql()+
				" GROUP BY hashtag HAVING sum(tweets) > 0)", c.args...).Scan(&tags)
		} else {
			// hashtag_minute has no language: the hashtags come from the tweets.
			if p, err = sc.plan(ctx, sc.budget.tweets); err != nil {
				return k, err
			}
			var c cond
			c.time("created_at", p).tweets(sc.Filter, p)
			err = sc.queryRow(ctx, "SELECT uniqExactArray(hashtags) FROM tweets WHERE "+c.sql(), c.args...).Scan(&tags)
		}
		if err != nil {
			return k, fmt.Errorf("warehouse: active hashtags: %w", err)
		}
		k.ActiveHashtags, k.HashtagSample = int64(tags), p.sample()
	} else {
		tl, err := sc.tallied(ctx)
		if err != nil {
			return k, err
		}
		p := tl.plan
		var n, pos, neg int64
		for _, g := range tl.groups {
			n += g.tweets
			sentSum += g.sum
			switch g.label {
			case "positive":
				pos += g.tweets
			case "negative":
				neg += g.tweets
			}
		}
		first = tl.first
		if p.sampled() {
			first = sc.Window.From // the first slice read is not where the data begins
		}
		k.Tweets, k.Positive, k.Negative = p.scale(n), p.scale(pos), p.scale(neg)
		k.ActiveHashtags = int64(tl.hashtags)
		k.Sample, k.HashtagSample = p.sample(), p.sample()
		sentSum /= p.fraction
	}
	if k.Tweets > 0 {
		k.AvgSentiment = sentSum / float64(k.Tweets)
		k.PositiveShare = float64(k.Positive) / float64(k.Tweets)
		k.NegativeShare = float64(k.Negative) / float64(k.Tweets)
	}
	minutes := sc.Window.Minutes()
	if first = first.UTC().Truncate(time.Minute); k.Tweets > 0 && first.After(sc.Window.From) && !first.After(sc.Window.To) {
		minutes = Window{From: first, To: sc.Window.To}.Minutes()
	}
	k.PerMinute = float64(k.Tweets) / float64(minutes)
	return k, nil
}

// TimePoint is one bucket of a timeline.
type TimePoint struct {
	At        time.Time `json:"t"`
	Tweets    int64     `json:"tweets"`
	Sentiment float64   `json:"sentiment"` // mean compound score; 0 without tweets
}

// Timeline is tweet volume and mean sentiment over a window, in buckets.
type Timeline struct {
	BucketMinutes int         `json:"bucket_minutes"`
	Points        []TimePoint `json:"points"`
	Sample        Sample      `json:"sample"`
}

// bucketSteps are the bucket lengths a timeline may use, in minutes.
var bucketSteps = []int{1, 2, 5, 10, 15, 30, 60, 120, 180, 360, 720, 1440}

// buckets lays out the timeline buckets of a plan: for a whole window, aligned buckets of
// the smallest step that keeps the points within maxPoints; for a sampled one, one bucket a
// slice stride, so that every bucket holds a slice and none is empty for want of reading.
type buckets struct {
	start time.Time
	step  time.Duration
	n     int
}

func bucketsFor(p plan) buckets {
	if p.sampled() {
		return buckets{start: p.win.From, step: p.stride, n: len(p.slices)}
	}
	m := p.win.Minutes()
	step := bucketSteps[len(bucketSteps)-1]
	for _, s := range bucketSteps {
		if m/s <= maxPoints {
			step = s
			break
		}
	}
	d := time.Duration(step) * time.Minute
	start := p.win.From.Truncate(d)
	return buckets{start: start, step: d, n: int(p.win.To.Sub(start)/d) + 1}
}

// index is the bucket of minute t, or -1.
func (b buckets) index(t time.Time) int {
	if t.Before(b.start) {
		return -1
	}
	i := int(t.UTC().Sub(b.start) / b.step)
	if i >= b.n {
		return -1
	}
	return i
}

func (b buckets) times() []time.Time {
	out := make([]time.Time, b.n)
	for i := range out {
		out[i] = b.start.Add(time.Duration(i) * b.step)
	}
	return out
}

// Timeline returns volume and sentiment over the window.
func (sc *Scope) Timeline(ctx context.Context) (Timeline, error) {
	if !sc.HasData {
		return Timeline{BucketMinutes: 1, Points: []TimePoint{}, Sample: exact}, nil
	}
	f := sc.Filter
	var q string
	var c cond
	var p plan
	var err error
	// A filter on one key of an aggregate is read from that aggregate: exact, and with
	// no empty buckets.
	switch {
	case f.byLang():
		p = planWindow(sc.Window, 0, 1, sc.db.table("tweet_deletions"))
		c.time("minute", p)
		if f.Lang != "" {
			c.add("lang = ?", f.Lang)
		}
		q = "SELECT minute, sum(tweets), sum(sentiment_sum) FROM sentiment_minute WHERE %s GROUP BY minute"
	case f.count() == 1 && f.Hashtag != "":
		if p, err = sc.plan(ctx, sc.budget.hashtagMinute); err != nil {
			return Timeline{}, err
		}
		c.time("minute", p).add("hashtag = ?", f.Hashtag)
		q = "SELECT minute, sum(tweets), sum(sentiment_sum) FROM hashtag_minute WHERE %s GROUP BY minute"
	case f.count() == 1 && f.Word != "":
		if p, err = sc.plan(ctx, sc.budget.wordMinute); err != nil {
			return Timeline{}, err
		}
		c.time("minute", p).add("word = ?", f.Word)
		q = "SELECT minute, sum(tweets), sum(sentiment_sum) FROM word_minute WHERE %s GROUP BY minute"
	default:
		if p, err = sc.plan(ctx, sc.budget.tweets); err != nil {
			return Timeline{}, err
		}
		c.time("created_at", p).tweets(f, p)
		q = "SELECT toStartOfMinute(created_at) AS m, toInt64(count()), sum(toFloat64(sentiment)) FROM tweets WHERE %s GROUP BY m"
	}
	b := bucketsFor(p)
	tl := Timeline{BucketMinutes: int(b.step / time.Minute), Sample: p.sample()}
	sums := make([]float64, b.n)
	tl.Points = make([]TimePoint, b.n)
	for i, t := range b.times() {
		tl.Points[i].At = t
	}
	rows, err := sc.query(ctx, fmt.Sprintf(q, c.sql()), c.args...)
	if err != nil {
		return tl, fmt.Errorf("warehouse: timeline: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var m time.Time
		var n int64
		var s float64
		if err := rows.Scan(&m, &n, &s); err != nil {
			return tl, fmt.Errorf("warehouse: scan timeline: %w", err)
		}
		if i := b.index(m); i >= 0 {
			tl.Points[i].Tweets += n
			sums[i] += s
		}
	}
	if err := rows.Err(); err != nil {
		return tl, fmt.Errorf("warehouse: timeline: %w", err)
	}
	for i := range tl.Points {
		if n := tl.Points[i].Tweets; n > 0 {
			tl.Points[i].Sentiment = sums[i] / float64(n)
		}
		tl.Points[i].Tweets = p.scale(tl.Points[i].Tweets)
	}
	return tl, nil
}

// Terms is a ranked list of hashtags or words.
type Terms struct {
	Items  []TermCount `json:"items"`
	Sample Sample      `json:"sample"`
}

// TopHashtags returns the limit most used hashtags of the window, with their mean sentiment.
func (sc *Scope) TopHashtags(ctx context.Context, limit int) (Terms, error) {
	return sc.topTerms(ctx, hashtagTerms, limit)
}

// TopWords returns the limit most used words of the window (the word cloud's).
func (sc *Scope) TopWords(ctx context.Context, limit int) (Terms, error) {
	return sc.topTerms(ctx, wordTerms, limit)
}

// termSource names, for hashtags or words, the aggregate, its key column, the tweets
// column holding them, and the aggregate's budget. Only the two values below exist.
type termSource struct {
	table, key, array string
	budget            func(budgets) int64
	index             int // in Scope.tops
}

var (
	hashtagTerms = termSource{table: "hashtag_minute", key: "hashtag", array: "hashtags", budget: func(b budgets) int64 { return b.hashtagMinute }, index: 0}
	wordTerms    = termSource{table: "word_minute", key: "word", array: "words", budget: func(b budgets) int64 { return b.wordMinute }, index: 1}
)

// termsQuery returns the query of the top terms of src within p: from the aggregate
// without a filter, from the tweets table with one. Columns: term, tweets (Int64),
// sentiment sum (Float64).
func (sc *Scope) termsQuery(src termSource, p plan, extra func(*cond)) (string, []any) {
	var c cond
	if sc.Filter.IsZero() {
		c.time("minute", p)
		if extra != nil {
			extra(&c)
		}
		return fmt.Sprintf("SELECT %[2]s AS term, sum(tweets) AS n, sum(sentiment_sum) FROM %[1]s WHERE %[3]s GROUP BY term",
			src.table, src.key, c.sql()), c.args
	}
	c.time("created_at", p).tweets(sc.Filter, p)
	if extra != nil {
		extra(&c)
	}
	return fmt.Sprintf("SELECT term, toInt64(count()) AS n, sum(toFloat64(sentiment)) FROM tweets ARRAY JOIN %[1]s AS term WHERE %[2]s GROUP BY term",
		src.array, c.sql()), c.args
}

// termPlan returns what a terms panel reads: the aggregate's budget without a filter, the
// tweets table's with one.
func (sc *Scope) termPlan(ctx context.Context, src termSource) (plan, error) {
	if sc.Filter.IsZero() {
		return sc.plan(ctx, src.budget(sc.budget))
	}
	return sc.plan(ctx, sc.budget.tweets)
}

// topTerms returns the limit most used terms of src. Up to sharedTop, they come from the
// scope's ranking, so that the panels of one scope read them once.
func (sc *Scope) topTerms(ctx context.Context, src termSource, limit int) (Terms, error) {
	if limit > sharedTop {
		return sc.rankTerms(ctx, src, limit)
	}
	m := &sc.tops[src.index]
	m.once.Do(func() {
		if src.index == hashtagTerms.index && !sc.Filter.IsZero() {
			m.terms, m.err = sc.filteredHashtagTerms(ctx)
		} else {
			m.terms, m.err = sc.rankTerms(ctx, src, sharedTop)
		}
	})
	t := m.terms
	t.Items = slices.Clone(t.Items[:min(limit, len(t.Items))])
	return t, m.err
}

// rankTerms reads the limit most used terms of src.
func (sc *Scope) rankTerms(ctx context.Context, src termSource, limit int) (Terms, error) {
	t := Terms{Items: []TermCount{}, Sample: exact}
	if !sc.HasData {
		return t, nil
	}
	p, err := sc.termPlan(ctx, src)
	if err != nil {
		return t, err
	}
	t.Sample = p.sample()
	q, args := sc.termsQuery(src, p, nil)
	rows, err := sc.query(ctx, "SELECT * FROM ("+q+") WHERE n > 0 ORDER BY n DESC, term LIMIT ?", append(args, uint64(limit))...)
	if err != nil {
		return t, fmt.Errorf("warehouse: top %s: %w", src.key, err)
	}
	defer rows.Close()
	for rows.Next() {
		var tc TermCount
		var s float64
		if err := rows.Scan(&tc.Term, &tc.Tweets, &s); err != nil {
			return t, fmt.Errorf("warehouse: scan top %s: %w", src.key, err)
		}
		tc.Sentiment = s / float64(tc.Tweets)
		tc.Tweets = p.scale(tc.Tweets)
		t.Items = append(t.Items, tc)
	}
	return t, rows.Err()
}

// SeriesSet is the volume of several hashtags over a window, in buckets.
type SeriesSet struct {
	BucketMinutes int       `json:"bucket_minutes"`
	Start         time.Time `json:"start"` // the first bucket
	Series        []Series  `json:"series"`
	Sample        Sample    `json:"sample"`
}

// HashtagSeries returns the volume over time of the window's top hashtags.
func (sc *Scope) HashtagSeries(ctx context.Context, top int) (SeriesSet, error) {
	set := SeriesSet{BucketMinutes: 1, Series: []Series{}, Sample: exact, Start: sc.Window.From}
	if !sc.Filter.IsZero() {
		return sc.filteredHashtagSeries(ctx, top, set)
	}
	tops, err := sc.TopHashtags(ctx, top)
	if err != nil || len(tops.Items) == 0 {
		return set, err
	}
	p, err := sc.termPlan(ctx, hashtagTerms)
	if err != nil {
		return set, err
	}
	b := bucketsFor(p)
	set.BucketMinutes, set.Start, set.Sample = int(b.step/time.Minute), b.start, p.sample()
	names := make([]string, len(tops.Items))
	index := make(map[string]int, len(names))
	for i, t := range tops.Items {
		names[i], index[t.Term] = t.Term, i
		set.Series = append(set.Series, Series{Hashtag: t.Term, Points: make([]int64, b.n)})
	}
	var c cond
	c.time("minute", p).add("has(?, hashtag)", names)
	q := "SELECT minute, hashtag, sum(tweets) FROM hashtag_minute WHERE " + c.sql() + " GROUP BY minute, hashtag"
	rows, err := sc.query(ctx, q, c.args...)
	if err != nil {
		return set, fmt.Errorf("warehouse: hashtag series: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var m time.Time
		var h string
		var n int64
		if err := rows.Scan(&m, &h, &n); err != nil {
			return set, fmt.Errorf("warehouse: scan hashtag series: %w", err)
		}
		if s, ok := index[h]; ok {
			if i := b.index(m); i >= 0 {
				set.Series[s].Points[i] += n
			}
		}
	}
	if err := rows.Err(); err != nil {
		return set, fmt.Errorf("warehouse: hashtag series: %w", err)
	}
	for _, s := range set.Series {
		for i := range s.Points {
			s.Points[i] = p.scale(s.Points[i])
		}
	}
	return set, nil
}

// filteredHashtagSeries is HashtagSeries for a filtered scope, from the scope's ranking of
// hashtags (at most sharedTop of them; the API asks for 20 at most).
func (sc *Scope) filteredHashtagSeries(ctx context.Context, top int, set SeriesSet) (SeriesSet, error) {
	if !sc.HasData {
		return set, nil
	}
	r, err := sc.rankedHashtags(ctx)
	if err != nil {
		return set, err
	}
	set.BucketMinutes, set.Start, set.Sample = int(r.buckets.step/time.Minute), r.buckets.start, r.plan.sample()
	for _, h := range r.items[:min(top, len(r.items))] {
		s := Series{Hashtag: h.term, Points: make([]int64, len(h.points))}
		for i, n := range h.points {
			s.Points[i] = r.plan.scale(n)
		}
		set.Series = append(set.Series, s)
	}
	if len(set.Series) == 0 { // as HashtagSeries answers when there is no top hashtag
		set.BucketMinutes, set.Start = 1, sc.Window.From
	}
	return set, nil
}

// filteredHashtagTerms is the scope's ranking of hashtags as Terms.
func (sc *Scope) filteredHashtagTerms(ctx context.Context) (Terms, error) {
	t := Terms{Items: []TermCount{}, Sample: exact}
	if !sc.HasData {
		return t, nil
	}
	r, err := sc.rankedHashtags(ctx)
	if err != nil {
		return t, err
	}
	t.Sample = r.plan.sample()
	for _, h := range r.items {
		t.Items = append(t.Items, TermCount{Term: h.term, Tweets: r.plan.scale(h.tweets), Sentiment: h.sum / float64(h.tweets)})
	}
	return t, nil
}

// hashtagRanking is a filtered window's top hashtags (sharedTop of them), each with its
// tweets per bucket of the window: what the top hashtags and their volume both show.
type hashtagRanking struct {
	plan    plan
	buckets buckets
	items   []rankedHashtag
	err     error
}

// rankedHashtag is one hashtag of a ranking, its counts as read (not scaled).
type rankedHashtag struct {
	term   string
	tweets int64
	sum    float64 // sentiment
	points []int64 // tweets in each bucket
}

// rankedHashtags reads the scope's ranking of hashtags once: one scan of the tweets table
// for the top hashtags and their volume, which took one each. The rows are summed by
// bucket in the query (a bucket's index from the tweet's time), so that what it returns is
// bounded by sharedTop × the buckets of a timeline.
func (sc *Scope) rankedHashtags(ctx context.Context) (*hashtagRanking, error) {
	sc.rankOnce.Do(func() {
		r := &sc.ranking
		if r.plan, r.err = sc.termPlan(ctx, hashtagTerms); r.err != nil {
			return
		}
		r.buckets = bucketsFor(r.plan)
		var c cond
		c.time("created_at", r.plan).tweets(sc.Filter, r.plan)
		q := `SELECT hashtag, sum(c) AS n, sum(s), groupArray(b), groupArray(c) FROM (
			SELECT intDiv(toInt64(toUInt32(created_at)) - ?, ?) AS b, hashtag, toInt64(count()) AS c, sum(toFloat64(sentiment)) AS s
			FROM tweets ARRAY JOIN hashtags AS hashtag WHERE ` + c.sql() + ` GROUP BY b, hashtag
		) GROUP BY hashtag HAVING n > 0 ORDER BY n DESC, hashtag LIMIT ?`
		args := append([]any{r.buckets.start.Unix(), int64(r.buckets.step / time.Second)}, c.args...)
		rows, err := sc.query(ctx, q, append(args, uint64(sharedTop))...)
		if err != nil {
			r.err = fmt.Errorf("warehouse: top hashtags: %w", err)
			return
		}
		defer rows.Close()
		for rows.Next() {
			h := rankedHashtag{points: make([]int64, r.buckets.n)}
			var bs, counts []int64
			if err := rows.Scan(&h.term, &h.tweets, &h.sum, &bs, &counts); err != nil {
				r.err = fmt.Errorf("warehouse: scan top hashtags: %w", err)
				return
			}
			for i, b := range bs {
				if b >= 0 && b < int64(r.buckets.n) {
					h.points[b] += counts[i]
				}
			}
			r.items = append(r.items, h)
		}
		if err := rows.Err(); err != nil {
			r.err = fmt.Errorf("warehouse: top hashtags: %w", err)
		}
	})
	return &sc.ranking, sc.ranking.err
}

// RisingTerm is a hashtag with its use in a window and in the window before.
type RisingTerm struct {
	Term      string  `json:"term"`
	Recent    int64   `json:"recent"`
	Before    int64   `json:"before"`
	Growth    float64 `json:"growth"` // (recent + 1) / (before + 1)
	Sentiment float64 `json:"sentiment"`
}

// Rising lists the hashtags that grew most against the previous window.
type Rising struct {
	Items []RisingTerm `json:"items"`
	// Current and Previous are the windows compared: the scope's window and the one of
	// the same length before it; for all the data, its newer and older halves.
	Current  Window `json:"current"`
	Previous Window `json:"previous"`
	Sample   Sample `json:"sample"`
}

// RisingHashtags returns the limit hashtags that grew most against the previous window of
// the same length, among those used enough to matter (at least 5 tweets, and at least one
// in a thousand of the window's tweets).
func (sc *Scope) RisingHashtags(ctx context.Context, limit int, all bool) (Rising, error) {
	r := Rising{Items: []RisingTerm{}, Sample: exact, Current: sc.Window}
	if !sc.HasData {
		return r, nil
	}
	w := sc.Window
	cur, prev := w, Window{From: w.From.Add(-time.Duration(w.Minutes()) * time.Minute), To: w.From.Add(-time.Minute)}
	if all {
		half := w.Minutes() / 2
		if half == 0 {
			return r, nil
		}
		cur = Window{From: w.end().Add(-time.Duration(half) * time.Minute), To: w.To}
		prev = Window{From: cur.From.Add(-time.Duration(half) * time.Minute), To: cur.From.Add(-time.Minute)}
	}
	r.Current, r.Previous = cur, prev
	both := Window{From: prev.From, To: cur.To}
	// The tweets of both windows (what the plan reads), of the current one (the threshold),
	// and whether both hold a withdrawn tweet (as Scope.windowTweets for the scope's window).
	var n, recentTweets int64
	var withdrawn uint64
	if err := sc.queryRow(ctx, "SELECT ("+tweetsOfMinutes+"), ("+tweetsOfMinutes+"), ("+withdrawnOfSpan+")",
		both.From, both.end(), cur.From, cur.end(), both.From, both.end()).Scan(&n, &recentTweets, &withdrawn); err != nil {
		return r, fmt.Errorf("warehouse: count tweets: %w", err)
	}
	budget := sc.budget.hashtagMinute
	if !sc.Filter.IsZero() {
		budget = sc.budget.tweets
	}
	p := planWindow(both, n, budget, sc.db.table("tweet_deletions"))
	p.noneWithdrawn = withdrawn == 0
	r.Sample = p.sample()
	// The threshold is in the units of the rows read, before scaling.
	minRecent := max(5, int64(math.Round(float64(recentTweets)/1000*p.fraction)))
	inner, args := sc.termsQueryByTime(p)
	q := fmt.Sprintf(`SELECT term, sumIf(n, t >= ?) AS recent, sumIf(n, t < ?) AS before, sumIf(s, t >= ?) AS recent_sum
		FROM (%s) GROUP BY term HAVING recent >= ? ORDER BY (recent + 1) / (before + 1) DESC, recent DESC, term LIMIT ?`, inner)
	rows, err := sc.query(ctx, q, append([]any{cur.From, cur.From, cur.From}, append(args, minRecent, uint64(limit))...)...)
	if err != nil {
		return r, fmt.Errorf("warehouse: rising hashtags: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var it RisingTerm
		var s float64
		if err := rows.Scan(&it.Term, &it.Recent, &it.Before, &s); err != nil {
			return r, fmt.Errorf("warehouse: scan rising hashtags: %w", err)
		}
		it.Growth = float64(it.Recent+1) / float64(it.Before+1)
		it.Sentiment = s / float64(it.Recent)
		it.Recent, it.Before = p.scale(it.Recent), p.scale(it.Before)
		r.Items = append(r.Items, it)
	}
	return r, rows.Err()
}

// termsQueryByTime returns the hashtag rows within p, as columns term, t (a time within
// the row's minute), n (tweets) and s (their sentiment sum), for the caller to sum: a
// GROUP BY of its own by term and minute would cost more than the sums that follow it
// (at a million tweets over a day, 212 ms against 22 for rising hashtags over 48 hours,
// on ClickHouse 18.16).
func (sc *Scope) termsQueryByTime(p plan) (string, []any) {
	var c cond
	if sc.Filter.IsZero() {
		c.time("minute", p)
		return "SELECT hashtag AS term, minute AS t, tweets AS n, sentiment_sum AS s FROM hashtag_minute WHERE " + c.sql(), c.args
	}
	c.time("created_at", p).tweets(sc.Filter, p)
	return "SELECT term, created_at AS t, toInt64(1) AS n, toFloat64(sentiment) AS s FROM tweets ARRAY JOIN hashtags AS term WHERE " +
		c.sql(), c.args
}

// LabelCount is the tweets of one sentiment label or one language.
type LabelCount struct {
	Label     string  `json:"label"`
	Tweets    int64   `json:"tweets"`
	Sentiment float64 `json:"sentiment"` // mean compound score
}

// Shares is a breakdown of the window's tweets.
type Shares struct {
	Items []LabelCount `json:"items"`
	// Other counts the tweets of the labels past the limit (languages).
	Other  int64  `json:"other"`
	Sample Sample `json:"sample"`
}

// SentimentMix returns the window's tweets by sentiment label: negative, neutral,
// positive, in that order.
func (sc *Scope) SentimentMix(ctx context.Context) (Shares, error) {
	sh, err := sc.breakdown(ctx, "sentiment_label", 3)
	if err != nil {
		return sh, err
	}
	byLabel := map[string]LabelCount{}
	for _, it := range sh.Items {
		byLabel[it.Label] = it
	}
	sh.Items = sh.Items[:0]
	for _, l := range []string{"negative", "neutral", "positive"} {
		it := byLabel[l]
		it.Label = l
		sh.Items = append(sh.Items, it)
	}
	return sh, nil
}

// Languages returns the limit most used languages of the window, and the tweets of the rest.
func (sc *Scope) Languages(ctx context.Context, limit int) (Shares, error) {
	return sc.breakdown(ctx, "lang", limit)
}

// breakdown counts the window's tweets by col, sentiment_label or lang: columns of
// sentiment_minute, which answers a language filter or none, and of the scope's tally,
// which answers the others.
func (sc *Scope) breakdown(ctx context.Context, col string, limit int) (Shares, error) {
	sh := Shares{Items: []LabelCount{}, Sample: exact}
	if !sc.HasData {
		return sh, nil
	}
	type count struct {
		n   int64
		sum float64
	}
	by := map[string]count{}
	p := planWindow(sc.Window, 0, 1, sc.db.table("tweet_deletions"))
	if sc.Filter.byLang() {
		var c cond
		c.time("minute", p)
		if sc.Filter.Lang != "" {
			c.add("lang = ?", sc.Filter.Lang)
		}
		rows, err := sc.query(ctx, fmt.Sprintf("SELECT toString(%s) AS label, sum(tweets) AS n, sum(sentiment_sum) FROM sentiment_minute WHERE %s GROUP BY label", col, c.sql()), c.args...)
		if err != nil {
			return sh, fmt.Errorf("warehouse: tweets by %s: %w", col, err)
		}
		defer rows.Close()
		for rows.Next() {
			var label string
			var c count
			if err := rows.Scan(&label, &c.n, &c.sum); err != nil {
				return sh, fmt.Errorf("warehouse: scan tweets by %s: %w", col, err)
			}
			by[label] = c
		}
		if err := rows.Err(); err != nil {
			return sh, fmt.Errorf("warehouse: tweets by %s: %w", col, err)
		}
	} else {
		tl, err := sc.tallied(ctx)
		if err != nil {
			return sh, err
		}
		p = tl.plan
		for _, g := range tl.groups {
			key := g.label
			if col == "lang" {
				key = g.lang
			}
			c := by[key]
			c.n += g.tweets
			c.sum += g.sum
			by[key] = c
		}
	}
	sh.Sample = p.sample()
	for label, c := range by {
		if c.n <= 0 {
			continue
		}
		sh.Items = append(sh.Items, LabelCount{Label: label, Tweets: p.scale(c.n), Sentiment: c.sum / float64(c.n)})
	}
	sort.Slice(sh.Items, func(i, j int) bool {
		a, b := sh.Items[i], sh.Items[j]
		return a.Tweets > b.Tweets || a.Tweets == b.Tweets && a.Label < b.Label
	})
	if len(sh.Items) > limit {
		for _, it := range sh.Items[limit:] {
			sh.Other += it.Tweets
		}
		sh.Items = sh.Items[:limit]
	}
	return sh, nil
}

// tally is a filtered window's tweets, read from the tweets table within plan: counted and
// summed by sentiment label and language, with the first tweet's time and the distinct
// hashtags of them all.
type tally struct {
	plan     plan
	groups   []tallyGroup
	first    time.Time
	hashtags uint64
	err      error
}

type tallyGroup struct {
	label, lang string
	tweets      int64
	sum         float64
}

// tallied reads the scope's tally once, for every panel that asks: one scan of the tweets
// table where the KPIs, the sentiment mix and the languages took one each. The totals row
// (WITH TOTALS) holds what does not add up over the groups: the first tweet and the
// distinct hashtags.
func (sc *Scope) tallied(ctx context.Context) (*tally, error) {
	sc.tallyOnce.Do(func() {
		tl := &sc.tally
		if tl.plan, tl.err = sc.plan(ctx, sc.budget.tweets); tl.err != nil {
			return
		}
		var c cond
		c.time("created_at", tl.plan).tweets(sc.Filter, tl.plan)
		rows, err := sc.query(ctx, `SELECT toString(sentiment_label), lang, toInt64(count()), sum(toFloat64(sentiment)),
			min(created_at), uniqExactArray(hashtags) FROM tweets WHERE `+c.sql()+` GROUP BY sentiment_label, lang WITH TOTALS`, c.args...)
		if err != nil {
			tl.err = fmt.Errorf("warehouse: filtered tally: %w", err)
			return
		}
		defer rows.Close()
		for rows.Next() {
			var g tallyGroup
			var first time.Time
			var tags uint64
			if err := rows.Scan(&g.label, &g.lang, &g.tweets, &g.sum, &first, &tags); err != nil {
				tl.err = fmt.Errorf("warehouse: scan filtered tally: %w", err)
				return
			}
			tl.groups = append(tl.groups, g)
		}
		if err := rows.Err(); err != nil {
			tl.err = fmt.Errorf("warehouse: filtered tally: %w", err)
			return
		}
		if len(tl.groups) == 0 {
			return // no totals row without rows
		}
		var label, lang string
		var n int64
		var sum float64
		if err := rows.Totals(&label, &lang, &n, &sum, &tl.first, &tl.hashtags); err != nil {
			tl.err = fmt.Errorf("warehouse: filtered tally's totals: %w", err)
		}
	})
	return &sc.tally, sc.tally.err
}
