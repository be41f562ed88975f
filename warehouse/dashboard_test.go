package warehouse_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"sort"
	"testing"
	"time"

	"github.com/starling-analytics/starling/warehouse"
	"github.com/starling-analytics/starling/warehouse/warehousetest"
)

// dashboardModel is a set of tweets loaded into a warehouse, and what the dashboard's
// panels must answer about them, computed here in Go.
type dashboardModel struct {
	rows      []warehouse.TweetRow
	withdrawn map[uint64]bool // retracted, not purged: in tweets, out of the aggregates
	base      time.Time
}

var (
	modelTags  = []string{"launch", "music", "news", "football", "tech"}
	modelWords = []string{"amazing", "phone", "update", "concert", "weather", "traffic"}
	modelLangs = []string{"en", "en", "es", "fr"}
)

// loadDashboardModel loads 720 tweets over three hours (four a minute) and their entities,
// and withdraws two of them without purging them.
func loadDashboardModel(t *testing.T) (*warehouse.DB, *dashboardModel) {
	t.Helper()
	db := warehousetest.Open(t)
	return db, loadDashboardModelInto(t, db)
}

// loadDashboardModelInto loads the model's tweets into db.
func loadDashboardModelInto(t *testing.T, db *warehouse.DB) *dashboardModel {
	t.Helper()
	ctx := context.Background()
	m := &dashboardModel{base: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC), withdrawn: map[uint64]bool{}}
	var ents []warehouse.EntityRow
	for i := range 720 {
		s := float32(i%9-4) / 4
		label := warehouse.LabelNeutral
		if s >= 0.05 {
			label = warehouse.LabelPositive
		} else if s <= -0.05 {
			label = warehouse.LabelNegative
		}
		tags := []string{modelTags[i%len(modelTags)]}
		if i%40 == 0 {
			tags = append(tags, "rare")
		}
		// "surge" appears only in the last half hour, to rise against the half hour before.
		if i >= 600 && i%2 == 0 {
			tags = append(tags, "surge")
		}
		r := warehouse.TweetRow{
			SentimentModel: "vader",
			ID:             uint64(1000 + i),
			CreatedAt:      m.base.Add(time.Duration(i*15) * time.Second),
			Text:           fmt.Sprintf("tweet number %d", i),
			Lang:           modelLangs[i%len(modelLangs)],
			UserScreenName: fmt.Sprintf("user%d", i%17),
			Hashtags:       tags,
			Words:          slices.Compact([]string{modelWords[i%len(modelWords)], modelWords[(i/7)%len(modelWords)]}), // as the ETL: each once
			Sentiment:      s,
			SentimentLabel: label,
		}
		if i%10 == 9 {
			r.RetweetOf = uint64(1000 + i - 1)
		}
		m.rows = append(m.rows, r)
		if i%3 == 0 {
			ents = append(ents, warehouse.EntityRow{TweetID: r.ID, CreatedAt: r.CreatedAt, Entity: []string{"Lisbon", "Ada Lovelace"}[i%2],
				Kind: []string{warehouse.KindPlace, warehouse.KindPerson}[i%2], Lang: r.Lang, Sentiment: s, SampledEvery: 3, Hashtags: r.Hashtags, Words: r.Words})
		}
	}
	if err := db.InsertTweets(ctx, m.rows); err != nil {
		t.Fatal(err)
	}
	if err := db.InsertEntities(ctx, ents); err != nil {
		t.Fatal(err)
	}
	var dels []warehouse.DeletionRow
	for _, i := range []int{699, 700} {
		dels = append(dels, warehouse.Retraction(m.rows[i], "deleted", m.base.Add(4*time.Hour)))
		m.withdrawn[m.rows[i].ID] = true
	}
	if err := db.InsertDeletions(ctx, dels); err != nil {
		t.Fatal(err)
	}
	return m
}

// live returns the model's tweets in [from, to) that pass f and are not withdrawn.
func (m *dashboardModel) live(from, to time.Time, f warehouse.Filter) []warehouse.TweetRow {
	var out []warehouse.TweetRow
	for _, r := range m.rows {
		if m.withdrawn[r.ID] || r.CreatedAt.Before(from) || !r.CreatedAt.Before(to) {
			continue
		}
		if f.Hashtag != "" && !slices.Contains(r.Hashtags, f.Hashtag) || f.Word != "" && !slices.Contains(r.Words, f.Word) || f.Lang != "" && r.Lang != f.Lang {
			continue
		}
		out = append(out, r)
	}
	return out
}

func near(a, b float64) bool { return math.Abs(a-b) < 1e-6 }

// TestDashboardSpans resolves live, all-data and absolute spans, and rejects bad ones.
func TestDashboardSpans(t *testing.T) {
	t.Parallel()
	db, m := loadDashboardModel(t)
	ctx := context.Background()
	last := m.base.Add(179 * time.Minute)
	for _, tc := range []struct {
		span     warehouse.Span
		from, to time.Time
	}{
		{warehouse.Span{Last: 15}, last.Add(-14 * time.Minute), last},
		{warehouse.Span{}, m.base, last},
		{warehouse.Span{From: m.base.Add(10*time.Minute + 30*time.Second), To: m.base.Add(20 * time.Minute)}, m.base.Add(10 * time.Minute), m.base.Add(19 * time.Minute)},
		{warehouse.Span{From: m.base.Add(-time.Hour), To: m.base.Add(-time.Minute)}, m.base.Add(-time.Hour), m.base.Add(-2 * time.Minute)},
	} {
		sc, err := db.NewScope(ctx, tc.span, warehouse.Filter{})
		if err != nil {
			t.Fatal(err)
		}
		if !sc.HasData || !sc.Window.From.Equal(tc.from) || !sc.Window.To.Equal(tc.to) {
			t.Errorf("span %+v: window %+v (data %v), want %s..%s", tc.span, sc.Window, sc.HasData, tc.from, tc.to)
		}
	}
	for _, bad := range []warehouse.Span{{Last: -1}, {From: m.base, To: m.base}, {To: m.base}} {
		if _, err := db.NewScope(ctx, bad, warehouse.Filter{}); !errors.Is(err, warehouse.ErrBadQuery) {
			t.Errorf("span %+v: err %v, want ErrBadQuery", bad, err)
		}
	}

	empty := warehousetest.Open(t)
	for _, span := range []warehouse.Span{{Last: 60}, {}} {
		sc, err := empty.NewScope(ctx, span, warehouse.Filter{Hashtag: "x"})
		if err != nil || sc.HasData {
			t.Fatalf("empty warehouse: %+v, %v", sc, err)
		}
		if k, err := sc.KPIs(ctx); err != nil || k.Tweets != 0 {
			t.Errorf("empty KPIs = %+v, %v", k, err)
		}
		if tl, err := sc.Timeline(ctx); err != nil || len(tl.Points) != 0 {
			t.Errorf("empty timeline = %+v, %v", tl, err)
		}
		if l, err := sc.LatestTweets(ctx, 5); err != nil || len(l.Items) != 0 {
			t.Errorf("empty latest = %+v, %v", l, err)
		}
	}
}

// TestDashboardPanelsExact checks every panel against the model, for windows read whole,
// with and without filters: from the aggregates and from the tweets table alike.
func TestDashboardPanelsExact(t *testing.T) {
	t.Parallel()
	db, m := loadDashboardModel(t)
	checkPanelsExact(t, db, m)
}

// TestDashboardPanelsExactOnCluster loads the model into a warehouse on a ClickHouse
// cluster (2 shards × 2 replicas) and checks every panel as on one server: the
// Distributed tables and the replicated aggregates answer the same.
func TestDashboardPanelsExactOnCluster(t *testing.T) {
	t.Parallel()
	db := warehousetest.OpenCluster(t)
	checkPanelsExact(t, db, loadDashboardModelInto(t, db))
}

// checkPanelsExact checks every panel, over several spans and filters, against the model.
func checkPanelsExact(t *testing.T, db *warehouse.DB, m *dashboardModel) {
	ctx := context.Background()
	last := m.base.Add(179 * time.Minute)
	spans := []struct {
		name     string
		span     warehouse.Span
		from, to time.Time
	}{
		{"last 60", warehouse.Span{Last: 60}, last.Add(-59 * time.Minute), last.Add(time.Minute)},
		{"all", warehouse.Span{}, m.base, last.Add(time.Minute)},
		{"custom", warehouse.Span{From: m.base.Add(30 * time.Minute), To: m.base.Add(100 * time.Minute)}, m.base.Add(30 * time.Minute), m.base.Add(100 * time.Minute)},
	}
	filters := []warehouse.Filter{{}, {Hashtag: "news"}, {Word: "phone"}, {Lang: "es"}, {Hashtag: "tech", Lang: "en"}, {Hashtag: "surge", Word: "amazing"}}
	for _, sp := range spans {
		for _, f := range filters {
			t.Run(fmt.Sprintf("%s/%+v", sp.name, f), func(t *testing.T) {
				sc, err := db.NewScope(ctx, sp.span, f)
				if err != nil {
					t.Fatal(err)
				}
				want := m.live(sp.from, sp.to, f)
				checkKPIs(t, ctx, sc, want)
				checkTimeline(t, ctx, sc, want)
				checkTerms(t, ctx, sc, want)
				checkShares(t, ctx, sc, want)
				checkTweetLists(t, ctx, sc, want)
				checkEntities(t, ctx, sc, want)
			})
		}
	}
}

func checkKPIs(t *testing.T, ctx context.Context, sc *warehouse.Scope, want []warehouse.TweetRow) {
	t.Helper()
	k, err := sc.KPIs(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var pos, neg int64
	var sum float64
	tags := map[string]bool{}
	for _, r := range want {
		sum += float64(r.Sentiment)
		switch r.SentimentLabel {
		case warehouse.LabelPositive:
			pos++
		case warehouse.LabelNegative:
			neg++
		}
		for _, h := range r.Hashtags {
			tags[h] = true
		}
	}
	n := int64(len(want))
	if k.Tweets != n || k.Positive != pos || k.Negative != neg || k.ActiveHashtags != int64(len(tags)) || k.Sample.Fraction != 1 {
		t.Errorf("KPIs = %+v; want %d tweets, %d positive, %d negative, %d hashtags", k, n, pos, neg, len(tags))
	}
	// The rate: over the minutes from the window's first tweet to its end.
	minutes := 0
	for _, r := range want {
		minutes = max(minutes, int(sc.Window.To.Sub(r.CreatedAt.UTC().Truncate(time.Minute))/time.Minute)+1)
	}
	if n > 0 && (!near(k.AvgSentiment, sum/float64(n)) || !near(k.PerMinute, float64(n)/float64(minutes))) {
		t.Errorf("KPIs = %+v; want mean sentiment %f, %f tweets a minute", k, sum/float64(n), float64(n)/float64(minutes))
	}
}

func checkTimeline(t *testing.T, ctx context.Context, sc *warehouse.Scope, want []warehouse.TweetRow) {
	t.Helper()
	tl, err := sc.Timeline(ctx)
	if err != nil {
		t.Fatal(err)
	}
	step := time.Duration(tl.BucketMinutes) * time.Minute
	counts := map[time.Time]int64{}
	for _, r := range want {
		counts[r.CreatedAt.Truncate(step)]++
	}
	var total int64
	for i, p := range tl.Points {
		if i > 0 && !p.At.Equal(tl.Points[i-1].At.Add(step)) {
			t.Fatalf("timeline buckets not contiguous at %d: %+v", i, tl.Points[i-1:i+1])
		}
		if p.Tweets != counts[p.At] {
			t.Errorf("timeline %s: %d tweets, want %d", p.At.Format("15:04"), p.Tweets, counts[p.At])
		}
		total += p.Tweets
	}
	if total != int64(len(want)) || tl.Sample.Fraction != 1 || len(tl.Points) > 240 {
		t.Errorf("timeline holds %d tweets in %d points (%+v), want %d", total, len(tl.Points), tl.Sample, len(want))
	}
}

// termCounts ranks the terms of want (hashtags or words) as the panels do: by count, then
// by name.
func termCounts(want []warehouse.TweetRow, of func(warehouse.TweetRow) []string) []warehouse.TermCount {
	n := map[string]int64{}
	s := map[string]float64{}
	for _, r := range want {
		for _, term := range of(r) {
			n[term]++
			s[term] += float64(r.Sentiment)
		}
	}
	var out []warehouse.TermCount
	for term, c := range n {
		out = append(out, warehouse.TermCount{Term: term, Tweets: c, Sentiment: s[term] / float64(c)})
	}
	sort.Slice(out, func(i, j int) bool {
		return out[i].Tweets > out[j].Tweets || out[i].Tweets == out[j].Tweets && out[i].Term < out[j].Term
	})
	return out
}

func sameTerms(got, want []warehouse.TermCount) bool {
	if len(got) != len(want) {
		return false
	}
	for i := range got {
		if got[i].Term != want[i].Term || got[i].Tweets != want[i].Tweets || !near(got[i].Sentiment, want[i].Sentiment) {
			return false
		}
	}
	return true
}

func checkTerms(t *testing.T, ctx context.Context, sc *warehouse.Scope, want []warehouse.TweetRow) {
	t.Helper()
	tags := termCounts(want, func(r warehouse.TweetRow) []string { return r.Hashtags })
	words := termCounts(want, func(r warehouse.TweetRow) []string { return r.Words })
	top, err := sc.TopHashtags(ctx, 4)
	if err != nil {
		t.Fatal(err)
	}
	if !sameTerms(top.Items, tags[:min(4, len(tags))]) || top.Sample.Fraction != 1 {
		t.Errorf("top hashtags = %+v, want %+v", top.Items, tags[:min(4, len(tags))])
	}
	cloud, err := sc.TopWords(ctx, 50)
	if err != nil {
		t.Fatal(err)
	}
	if !sameTerms(cloud.Items, words) {
		t.Errorf("top words = %+v, want %+v", cloud.Items, words)
	}

	series, err := sc.HashtagSeries(ctx, 3)
	if err != nil {
		t.Fatal(err)
	}
	if len(series.Series) != min(3, len(tags)) {
		t.Fatalf("hashtag series = %+v, want the top %d", series, min(3, len(tags)))
	}
	step := time.Duration(series.BucketMinutes) * time.Minute
	for i, s := range series.Series {
		var sum int64
		for j, n := range s.Points {
			var in int64
			at := series.Start.Add(time.Duration(j) * step)
			for _, r := range want {
				if slices.Contains(r.Hashtags, s.Hashtag) && r.CreatedAt.Truncate(step).Equal(at) {
					in++
				}
			}
			if n != in {
				t.Errorf("series %s at %s = %d, want %d", s.Hashtag, at.Format("15:04"), n, in)
			}
			sum += n
		}
		if s.Hashtag != tags[i].Term || sum != tags[i].Tweets {
			t.Errorf("series %d = %s with %d tweets, want %+v", i, s.Hashtag, sum, tags[i])
		}
	}
}

func checkShares(t *testing.T, ctx context.Context, sc *warehouse.Scope, want []warehouse.TweetRow) {
	t.Helper()
	mix, err := sc.SentimentMix(ctx)
	if err != nil {
		t.Fatal(err)
	}
	byLabel := map[string]int64{}
	byLang := map[string]int64{}
	for _, r := range want {
		byLabel[map[int8]string{-1: "negative", 0: "neutral", 1: "positive"}[r.SentimentLabel]]++
		byLang[r.Lang]++
	}
	if len(mix.Items) != 3 || mix.Items[0].Label != "negative" || mix.Items[2].Label != "positive" {
		t.Fatalf("mix = %+v", mix)
	}
	for _, it := range mix.Items {
		if it.Tweets != byLabel[it.Label] {
			t.Errorf("mix %s = %d, want %d", it.Label, it.Tweets, byLabel[it.Label])
		}
	}
	langs, err := sc.Languages(ctx, 2)
	if err != nil {
		t.Fatal(err)
	}
	var total int64
	for _, it := range langs.Items {
		if it.Tweets != byLang[it.Label] {
			t.Errorf("language %s = %d, want %d", it.Label, it.Tweets, byLang[it.Label])
		}
		total += it.Tweets
	}
	if total+langs.Other != int64(len(want)) || len(langs.Items) > 2 {
		t.Errorf("languages = %+v, want %d tweets in all", langs, len(want))
	}
}

func checkTweetLists(t *testing.T, ctx context.Context, sc *warehouse.Scope, want []warehouse.TweetRow) {
	t.Helper()
	latest, err := sc.LatestTweets(ctx, 7)
	if err != nil {
		t.Fatal(err)
	}
	newest := slices.Clone(want)
	slices.Reverse(newest)
	newest = newest[:min(7, len(newest))]
	if len(latest.Items) != len(newest) {
		t.Fatalf("latest = %d tweets, want %d", len(latest.Items), len(newest))
	}
	for i, r := range newest {
		if got := latest.Items[i]; got.ID != r.ID || got.Text != r.Text || !got.CreatedAt.Equal(r.CreatedAt) || got.ScreenName != r.UserScreenName {
			t.Errorf("latest %d = %+v, want tweet %d", i, got, r.ID)
		}
	}

	ex, err := sc.ExtremeTweets(ctx, 3)
	if err != nil {
		t.Fatal(err)
	}
	var originals []warehouse.TweetRow
	for _, r := range want {
		if r.RetweetOf == 0 {
			originals = append(originals, r)
		}
	}
	// Most positive first; among equals, the newest.
	sort.SliceStable(originals, func(i, j int) bool {
		a, b := originals[i], originals[j]
		return a.Sentiment > b.Sentiment || a.Sentiment == b.Sentiment && a.CreatedAt.After(b.CreatedAt)
	})
	for i, got := range ex.Positive {
		if i >= len(originals) || got.ID != originals[i].ID || got.RetweetOf != 0 {
			t.Errorf("most positive %d = %d (%.2f), want %d", i, got.ID, got.Sentiment, originals[i].ID)
		}
	}
	for _, got := range ex.Negative {
		if got.Sentiment >= 0 || got.RetweetOf != 0 {
			t.Errorf("most negative holds %+v", got)
		}
	}
	if len(originals) > 0 && originals[0].Sentiment > 0 && len(ex.Positive) != min(3, len(originals)) {
		t.Errorf("most positive = %d tweets", len(ex.Positive))
	}
}

func checkEntities(t *testing.T, ctx context.Context, sc *warehouse.Scope, want []warehouse.TweetRow) {
	t.Helper()
	el, err := sc.TopEntities(ctx, "", 10)
	if err != nil {
		t.Fatal(err)
	}
	// The model names an entity in every third tweet: Lisbon (even i), Ada Lovelace (odd),
	// each sampled every 3.
	n := map[string]int64{}
	for _, r := range want {
		if i := int(r.ID - 1000); i%3 == 0 {
			n[[]string{"Lisbon", "Ada Lovelace"}[i%2]] += 3
		}
	}
	if len(el.Items) != len(n) {
		t.Fatalf("entities = %+v, want %v", el.Items, n)
	}
	for _, e := range el.Items {
		if e.Tweets != n[e.Entity] {
			t.Errorf("entity %s = %d tweets, want %d", e.Entity, e.Tweets, n[e.Entity])
		}
	}
	places, err := sc.TopEntities(ctx, warehouse.KindPlace, 10)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range places.Items {
		if e.Kind != warehouse.KindPlace {
			t.Errorf("places hold %+v", e)
		}
	}
	if _, err := sc.TopEntities(ctx, "planet", 10); !errors.Is(err, warehouse.ErrBadQuery) {
		t.Errorf("unknown kind: %v", err)
	}
}

// TestDashboardRising finds the hashtag that appears only in the last half hour.
func TestDashboardRising(t *testing.T) {
	t.Parallel()
	db, m := loadDashboardModel(t)
	ctx := context.Background()
	// uses counts the model's live tweets of w with the hashtag, and their sentiment.
	uses := func(w warehouse.Window, f warehouse.Filter, tag string) (n int64, sum float64) {
		for _, r := range m.live(w.From, w.To.Add(time.Minute), f) {
			if slices.Contains(r.Hashtags, tag) {
				n++
				sum += float64(r.Sentiment)
			}
		}
		return n, sum
	}
	for _, f := range []warehouse.Filter{{}, {Lang: "en"}} {
		sc, err := db.NewScope(ctx, warehouse.Span{Last: 30}, f)
		if err != nil {
			t.Fatal(err)
		}
		r, err := sc.RisingHashtags(ctx, 3, false)
		if err != nil {
			t.Fatal(err)
		}
		if len(r.Items) == 0 || r.Items[0].Term != "surge" || r.Items[0].Before != 0 || r.Items[0].Recent == 0 {
			t.Errorf("filter %+v: rising = %+v", f, r)
		}
		// Every count exact: a recount of each window.
		for _, it := range r.Items {
			recent, sum := uses(r.Current, f, it.Term)
			before, _ := uses(r.Previous, f, it.Term)
			if it.Recent != recent || it.Before != before || math.Abs(it.Sentiment-sum/float64(recent)) > 1e-6 {
				t.Errorf("filter %+v: %s recent %d before %d sentiment %.4f; recounted %d, %d, %.4f", f, it.Term, it.Recent, it.Before, it.Sentiment, recent, before, sum/float64(recent))
			}
		}
		if !r.Previous.To.Add(time.Minute).Equal(r.Current.From) || r.Previous.Minutes() != 30 {
			t.Errorf("windows compared: %+v then %+v", r.Previous, r.Current)
		}
	}
	// All the data: the newer half against the older.
	sc, err := db.NewScope(ctx, warehouse.Span{}, warehouse.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	r, err := sc.RisingHashtags(ctx, 3, true)
	if err != nil || len(r.Items) == 0 || r.Items[0].Term != "surge" || r.Current.Minutes() != 90 {
		t.Errorf("all: rising = %+v, %v", r, err)
	}
}

// TestTopTermsOfOneScope asks one scope for its top hashtags and words at several lengths,
// shorter and longer than the ranking the scope keeps for its panels: each list is the
// head of the full ranking, and a list changed by its caller leaves the others alone.
func TestTopTermsOfOneScope(t *testing.T) {
	t.Parallel()
	db, m := loadDashboardModel(t)
	ctx := context.Background()
	last := m.base.Add(179 * time.Minute)
	want := map[string][]warehouse.TermCount{
		"hashtags": termCounts(m.live(m.base, last.Add(time.Minute), warehouse.Filter{}), func(r warehouse.TweetRow) []string { return r.Hashtags }),
		"words":    termCounts(m.live(m.base, last.Add(time.Minute), warehouse.Filter{}), func(r warehouse.TweetRow) []string { return r.Words }),
	}
	sc, err := db.NewScope(ctx, warehouse.Span{}, warehouse.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	for kind, top := range map[string]func(context.Context, int) (warehouse.Terms, error){"hashtags": sc.TopHashtags, "words": sc.TopWords} {
		for _, n := range []int{2, 300, 1, 5, 100} {
			got, err := top(ctx, n)
			if err != nil {
				t.Fatal(err)
			}
			if w := want[kind][:min(n, len(want[kind]))]; !sameTerms(got.Items, w) {
				t.Errorf("top %d %s = %+v, want %+v", n, kind, got.Items, w)
			}
			for i := range got.Items {
				got.Items[i].Term = "changed"
			}
		}
	}
}

// TestDashboardSampled makes every panel sample (a budget of 100 tweets a window) and checks
// that the estimates hold together: every timeline bucket read, counts scaled up to the
// window. The model's periodic tweets alias with the evenly spaced slices, so estimates
// are held only to 40% (an unscaled count would be off by 80%).
func TestDashboardSampled(t *testing.T) {
	t.Parallel()
	db, m := loadDashboardModel(t)
	ctx := context.Background()
	for _, f := range []warehouse.Filter{{}, {Hashtag: "news"}, {Word: "phone"}, {Hashtag: "news", Lang: "en"}} {
		sc, err := db.NewScope(ctx, warehouse.Span{}, f)
		if err != nil {
			t.Fatal(err)
		}
		sc.SetBudgets(100)
		want := int64(len(m.live(m.base, m.base.Add(3*time.Hour), f)))
		k, err := sc.KPIs(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if f.IsZero() {
			if k.Tweets != want || k.Sample.Fraction != 1 || k.HashtagSample.Fraction >= 1 {
				t.Errorf("unfiltered KPIs = %+v, want %d exact", k, want)
			}
		} else if k.Sample.Fraction >= 1 || math.Abs(float64(k.Tweets-want)) > 0.4*float64(want) {
			t.Errorf("filter %+v: KPIs = %+v, want about %d", f, k, want)
		}
		tl, err := sc.Timeline(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var total int64
		for _, p := range tl.Points {
			total += p.Tweets
			if p.Tweets == 0 && (f.Hashtag == "" || f.Lang == "") { // a combined filter may miss a slice
				t.Errorf("filter %+v: timeline bucket %s read nothing", f, p.At)
			}
		}
		if math.Abs(float64(total-want)) > 0.4*float64(want) {
			t.Errorf("filter %+v: timeline sums to %d, want about %d (%+v)", f, total, want, tl.Sample)
		}
		words, err := sc.TopWords(ctx, 10)
		if err != nil {
			t.Fatal(err)
		}
		if words.Sample.Fraction >= 1 || len(words.Items) == 0 {
			t.Errorf("filter %+v: words = %+v", f, words)
		}
		for _, panel := range []func() error{
			func() error { _, err := sc.TopHashtags(ctx, 5); return err },
			func() error { _, err := sc.HashtagSeries(ctx, 3); return err },
			func() error { _, err := sc.RisingHashtags(ctx, 5, true); return err },
			func() error { _, err := sc.SentimentMix(ctx); return err },
			func() error { _, err := sc.Languages(ctx, 5); return err },
			func() error { _, err := sc.ExtremeTweets(ctx, 3); return err },
			func() error { _, err := sc.TopEntities(ctx, "", 5); return err },
		} {
			if err := panel(); err != nil {
				t.Errorf("filter %+v: %v", f, err)
			}
		}
	}
}

func TestPlanWindow(t *testing.T) {
	t.Parallel()
	w := warehouse.Window{From: time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC), To: time.Date(2026, 3, 1, 23, 59, 0, 0, time.UTC)}
	if s, f := warehouse.PlanWindow(w, 1000, 1000); len(s) != 1 || f != 1 || s[0] != [2]string{"00:00", "00:00"} {
		t.Errorf("within budget: %v %v", s, f)
	}
	for _, tc := range []struct {
		tweets, budget int64
		fraction       float64
	}{{100_000, 10_000, 0.1}, {1_000_000, 1000, 16.0 / 1440}, {2000, 1000, 0.5}} {
		s, f := warehouse.PlanWindow(w, tc.tweets, tc.budget)
		if len(s) != 16 || math.Abs(f-tc.fraction) > 0.02 {
			t.Errorf("%d tweets, budget %d: %d slices, fraction %.4f, want 16 and %.4f", tc.tweets, tc.budget, len(s), f, tc.fraction)
		}
		for i := 1; i < len(s); i++ {
			if s[i][0] < s[i-1][1] {
				t.Errorf("slices overlap: %v", s)
			}
		}
	}
}

// TestThroughput counts tweets by the second ClickHouse loaded them: from parts of two
// months' partitions written one after another, and again once they are merged (the query
// reads parts by their block numbers).
func TestThroughput(t *testing.T) {
	t.Parallel()
	db := warehousetest.Open(t)
	ctx := context.Background()
	var n int
	for i, month := range []time.Month{time.March, time.April, time.March} {
		var rows []warehouse.TweetRow
		for j := range 50 + 10*i {
			rows = append(rows, warehouse.TweetRow{ID: uint64(1000*(i+1) + j), CreatedAt: time.Date(2026, month, 1+i, 12, j, 0, 0, time.UTC),
				Text: "loaded", Lang: "en", SentimentModel: "vader", SentimentLabel: warehouse.LabelNeutral})
		}
		if err := db.InsertTweets(ctx, rows); err != nil {
			t.Fatal(err)
		}
		n += len(rows)
	}
	// The tweets were loaded moments ago, perhaps in this very second, which the series
	// leaves out: wait for the warehouse's clock to pass it.
	waitThroughput(t, db, 120, n, 10*time.Second, "")
	if err := db.Conn().Exec(ctx, "OPTIMIZE TABLE tweets FINAL"); err != nil {
		t.Fatal(err)
	}
	waitThroughput(t, db, 120, n, 10*time.Second, "")
}

// TestThroughputReadsNewParts watches the table for longer than the span first, so that
// Throughput reads only the parts written since: it counts the rows loaded after, through
// a merge and a mutation (which rewrites every part), and leaves out a part written before
// (in a month of its own, so that no merge joins it to the new rows), whose rows claim a
// load time inside the span (set by hand: ClickHouse would not).
func TestThroughputReadsNewParts(t *testing.T) {
	t.Parallel()
	db := warehousetest.Open(t)
	db.SetBlockSlack(time.Second)
	ctx := context.Background()
	const span = 5
	if err := db.Conn().Exec(ctx, `INSERT INTO tweets (id, created_at, text, lang, sentiment_label, loaded_at)
		SELECT number + 1, toDateTime('2025-01-01 12:00:00'), 'old part', 'en', 'neutral', now() + 6 FROM system.numbers LIMIT 7`); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Throughput(ctx, span); err != nil { // the moment to read from
		t.Fatal(err)
	}
	time.Sleep(time.Duration(span+2) * time.Second)
	var n int
	for i, month := range []time.Month{time.March, time.April} {
		var rows []warehouse.TweetRow
		for j := range 20 + 10*i {
			rows = append(rows, warehouse.TweetRow{ID: uint64(1000*(i+1) + j), CreatedAt: time.Date(2026, month, 2, 12, j, 0, 0, time.UTC),
				Text: "loaded", Lang: "en", SentimentModel: "vader", SentimentLabel: warehouse.LabelNeutral})
		}
		if err := db.InsertTweets(ctx, rows); err != nil {
			t.Fatal(err)
		}
		n += len(rows)
	}
	for _, q := range []string{"OPTIMIZE TABLE tweets FINAL", "ALTER TABLE tweets DELETE WHERE id = 999999"} {
		if err := db.Conn().Exec(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	// The old part's rows now claim a load time inside the span; the new rows, once the
	// server's clock has passed their second, are counted.
	waitThroughput(t, db, span, n, span*time.Second/2, "the tweets loaded after the moment it reads from")
}

// waitThroughput asks Throughput over seconds until its points add up to want, for at most
// within; what names the tweets wanted in the failure.
func waitThroughput(t *testing.T, db *warehouse.DB, seconds, want int, within time.Duration, what string) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		th, err := db.Throughput(context.Background(), seconds)
		if err != nil {
			t.Fatal(err)
		}
		if len(th.Points) != seconds {
			t.Fatalf("throughput = %d points, want %d", len(th.Points), seconds)
		}
		var got int64
		for _, p := range th.Points {
			got += p
		}
		if got == int64(want) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("throughput counts %d tweets, want %d %s", got, want, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestWordFilterQueriesReadTimeFirst checks the setting a scope's queries run with: a word
// filter alone turns ClickHouse's automatic PREWHERE off (it would read and search every
// tweet's words before the time condition), a hashtag filter keeps it, and the settings
// the connection was opened with stay.
func TestWordFilterQueriesReadTimeFirst(t *testing.T) {
	t.Parallel()
	db, _ := loadDashboardModel(t)
	ctx := context.Background()
	for _, tc := range []struct {
		filter warehouse.Filter
		move   string
	}{
		{warehouse.Filter{}, "1"},
		{warehouse.Filter{Word: "phone"}, "0"},
		{warehouse.Filter{Word: "phone", Lang: "en"}, "0"},
		{warehouse.Filter{Hashtag: "news"}, "1"},
		{warehouse.Filter{Hashtag: "surge", Word: "amazing"}, "1"},
	} {
		sc, err := db.NewScope(ctx, warehouse.Span{}, tc.filter)
		if err != nil {
			t.Fatal(err)
		}
		var move, pushdown string
		if err := db.Conn().QueryRow(sc.QueryContext(ctx), `SELECT
			(SELECT value FROM system.settings WHERE name = 'optimize_move_to_prewhere'),
			(SELECT value FROM system.settings WHERE name = 'enable_optimize_predicate_expression')`).Scan(&move, &pushdown); err != nil {
			t.Fatal(err)
		}
		if move != tc.move || pushdown != "1" {
			t.Errorf("filter %+v: optimize_move_to_prewhere %s, enable_optimize_predicate_expression %s; want %s and 1", tc.filter, move, pushdown, tc.move)
		}
	}
}
