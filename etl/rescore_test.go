package etl_test

import (
	"context"
	"errors"
	"math"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/starling-analytics/starling/etl"
	"github.com/starling-analytics/starling/etl/sentiment"
	"github.com/starling-analytics/starling/internal/tweet"
	"github.com/starling-analytics/starling/warehouse"
	"github.com/starling-analytics/starling/warehouse/warehousetest"
)

// minuteSums is one model's figures of a minute, recounted from the feed.
type minuteSums struct {
	tweets, pos, neg int64
	sum              float64
}

// recount scores the feed's tweets with ids in [from, to] that the warehouse must hold,
// with scorer, per minute.
func recount(t *testing.T, f *feed, scorer sentiment.Scorer, from, to uint64) map[time.Time]*minuteSums {
	t.Helper()
	out := map[time.Time]*minuteSums{}
	for id := range f.ids {
		if id < from || id > to {
			continue
		}
		r := f.recs[id]
		compound, label := scorer.Score(r.Text)
		m := r.CreatedAt.UTC().Truncate(time.Minute)
		s := out[m]
		if s == nil {
			s = &minuteSums{}
			out[m] = s
		}
		s.tweets++
		s.sum += float64(float32(compound))
		switch label {
		case sentiment.Positive:
			s.pos++
		case sentiment.Negative:
			s.neg++
		}
	}
	return out
}

// checkModel compares side k of a comparison with a recount.
func checkModel(t *testing.T, c warehouse.ModelComparison, k int, want map[time.Time]*minuteSums) {
	t.Helper()
	if c.BucketMinutes != 1 {
		t.Fatalf("buckets of %d minutes, want 1", c.BucketMinutes)
	}
	bad, seen := 0, 0
	for _, p := range c.Points {
		w := want[p.At]
		if w == nil {
			if p.Tweets[k] != 0 {
				t.Errorf("%s %s: %d tweets, want none", c.Models[k], p.At.Format(time.TimeOnly), p.Tweets[k])
			}
			continue
		}
		seen++
		n := float64(w.tweets)
		if p.Tweets[k] != w.tweets || math.Abs(p.Sentiment[k]-w.sum/n) > 1e-5 ||
			math.Abs(p.Positive[k]-float64(w.pos)/n) > 1e-9 || math.Abs(p.Negative[k]-float64(w.neg)/n) > 1e-9 {
			if bad++; bad <= 5 {
				t.Errorf("%s %s: %d tweets, mean %.6f, positive %.4f, negative %.4f; want %d, %.6f, %.4f, %.4f", c.Models[k], p.At.Format(time.TimeOnly),
					p.Tweets[k], p.Sentiment[k], p.Positive[k], p.Negative[k], w.tweets, w.sum/n, float64(w.pos)/n, float64(w.neg)/n)
			}
		}
	}
	if seen != len(want) {
		t.Errorf("%s: %d minutes of the recount in the comparison, want %d", c.Models[k], seen, len(want))
	}
}

// TestRescoreFromTheLog loads a feed with the ETL scoring by vader, then rescores it with
// the learned model from a time in the middle of the log, cut off half way and run again:
// the warehouse ends with each tweet of the rescored stretch scored once by the new model,
// both models' per-minute sentiment equal to a recount of the feed, tweets withdrawn
// after the rescore left out of both, and another run adds nothing.
func TestRescoreFromTheLog(t *testing.T) {
	t.Parallel()
	b := builtInBroker(t)
	whCfg := warehousetest.Start(t)
	db := openDB(t, whCfg)
	ctx := context.Background()

	// The first 1,500 tweets were produced at the feed's start, the next 1,500 an hour
	// later; of those, 100 come again (duplicates) and 50 are withdrawn.
	f := newFeed()
	stamp := func(recs []*kgo.Record, at time.Time) []*kgo.Record {
		for _, r := range recs {
			r.Timestamp = at
		}
		return recs
	}
	early, late := feedBase, feedBase.Add(time.Hour)
	produce(t, b.Addr, stamp(f.tweets(t, 1, 1500), early))
	second := stamp(f.tweets(t, 1501, 1500), late)
	produce(t, b.Addr, second)
	var more []*kgo.Record
	for _, r := range second[100:200] {
		more = append(more, &kgo.Record{Topic: r.Topic, Key: r.Key, Value: r.Value}) // a fresh record: kgo keeps state in each
	}
	for id := uint64(1501); id <= 1550; id++ {
		more = append(more, tombstoneOf(t, id, 0, "deleted"))
		f.withdraw(id)
	}
	produce(t, b.Addr, stamp(more, late.Add(time.Minute)))

	cfg := etl.Config{Brokers: []string{b.Addr}, Warehouse: whCfg, SentimentModel: sentiment.ModelVADER, BatchSize: 300,
		FlushInterval: 20 * time.Millisecond, Entities: false, Logger: testLogger(t)}
	_, stop := runETL(t, cfg)
	ends := endOffsets(t, b.Addr, tweet.TopicTweets, 3)
	waitFor(t, time.Minute, "the feed loaded", func() bool { return allLoaded(t, db, ends) })
	checkExactlyOnce(t, db, f)

	// The first run stops half way (its context ends); the second finishes.
	rcfg := etl.RescoreConfig{Brokers: []string{b.Addr}, Warehouse: whCfg, Model: sentiment.ModelLinear, Since: feedBase.Add(30 * time.Minute),
		BatchSize: 97, ProgressEvery: 20 * time.Millisecond, Logger: testLogger(t)}
	cut, cancel := context.WithCancel(within(t, ctx, 5*time.Minute))
	half := rcfg
	half.Progress = func(p etl.RescoreProgress) {
		if p.Total == 0 {
			t.Errorf("the rescore found nothing to read")
		}
		if p.Scored > 0 && p.Records >= p.Total/3 {
			cancel()
		}
	}
	first, err := etl.Rescore(cut, half)
	cancel()
	if !errors.Is(err, context.Canceled) || first.Scored >= 1450 {
		t.Fatalf("first run: %+v, %v; want it cut off part way", first, err)
	}
	second2, err := etl.Rescore(within(t, ctx, 5*time.Minute), rcfg)
	if err != nil || !second2.Done {
		t.Fatalf("second run: %+v, %v", second2, err)
	}
	t.Logf("rescore: first run %d records, %d scored; second %d of %d records, %d scored", first.Records, first.Scored, second2.Records, second2.Total, second2.Scored)
	// The late tweets, less the withdrawn, each once. (A withdrawn tweet the tweets table
	// still held, its purge being a mutation under way, may have been scored too: the
	// figures leave it out.)
	const rescored = 1450
	const live = " FROM tweet_scores WHERE model = 'linear-v1' AND id NOT IN (SELECT id FROM tweet_deletions WHERE retracted = 1)"
	if n, u := count(t, db, "SELECT count()"+live), count(t, db, "SELECT uniqExact(id)"+live); n != rescored || u != rescored {
		t.Errorf("tweet_scores: %d rows, %d ids of live tweets; want %d of each", n, u, rescored)
	}
	scores := count(t, db, "SELECT count() FROM tweet_scores")
	if u := count(t, db, "SELECT uniqExact(id) FROM tweet_scores"); u != scores {
		t.Errorf("tweet_scores: %d rows of %d ids", scores, u)
	}
	if n := count(t, db, "SELECT count() FROM tweet_scores WHERE id < 1501 OR id > 3000"); n != 0 {
		t.Errorf("tweet_scores holds %d tweets outside the rescored stretch", n)
	}
	for p, off := range committed(t, b.Addr, "rescore-linear-v1", tweet.TopicTweets, 3) {
		if off <= 0 {
			t.Errorf("the rescore group committed offset %d of partition %d", off, p)
		}
	}

	compare := func() warehouse.ModelComparison {
		t.Helper()
		sc, err := db.NewScope(ctx, warehouse.Span{}, warehouse.Filter{})
		if err != nil {
			t.Fatal(err)
		}
		c, err := sc.CompareModels(ctx, sentiment.ModelVADER, sentiment.ModelLinear, 5)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	check := func(live int64) {
		t.Helper()
		c := compare()
		checkModel(t, c, 0, recount(t, f, sentiment.New(), 1, 3000))
		linear, err := sentiment.Linear()
		if err != nil {
			t.Fatal(err)
		}
		checkModel(t, c, 1, recount(t, f, linear, 1501, 3000))
		// Agreement: the tweets both scored, by label pair, recounted.
		var want [3][3]int64
		for id := range f.ids {
			if id <= 1500 {
				continue
			}
			_, a := sentiment.New().Score(f.recs[id].Text)
			_, b := linear.Score(f.recs[id].Text)
			want[a+1][b+1]++
		}
		if c.Confusion != want || c.Both != live {
			t.Errorf("confusion %v of %d tweets, want %v of %d", c.Confusion, c.Both, want, live)
		}
		if len(c.Disagreements) != 5 || c.Disagreements[0].Text == "" ||
			math.Abs(c.Disagreements[0].Scores[0]-c.Disagreements[0].Scores[1]) < math.Abs(c.Disagreements[4].Scores[0]-c.Disagreements[4].Scores[1]) {
			t.Errorf("disagreements %+v, want the 5 farthest apart first, with their text", c.Disagreements)
		}
	}
	check(rescored)

	// Tweets withdrawn after the rescore leave both models' figures.
	var tombs []*kgo.Record
	for id := uint64(2001); id <= 2020; id++ {
		tombs = append(tombs, tombstoneOf(t, id, 0, "deleted"))
		f.withdraw(id)
	}
	produce(t, b.Addr, tombs)
	ends = endOffsets(t, b.Addr, tweet.TopicTweets, 3)
	waitFor(t, time.Minute, "the withdrawals loaded", func() bool { return allLoaded(t, db, ends) })
	check(rescored - 20)
	stop()

	// Again: nothing left to score, nothing written twice. And with the ETL's own model,
	// nothing to do at all.
	again, err := etl.Rescore(within(t, ctx, 5*time.Minute), rcfg)
	if err != nil || again.Scored != 0 {
		t.Errorf("a third run: %+v, %v; want nothing scored", again, err)
	}
	same := rcfg
	same.Model = sentiment.ModelVADER
	if p, err := etl.Rescore(within(t, ctx, 5*time.Minute), same); err != nil || p.Scored != 0 {
		t.Errorf("rescore with the ETL's model: %+v, %v; want nothing scored", p, err)
	}
	if n := count(t, db, "SELECT count() FROM tweet_scores"); n != scores {
		t.Errorf("tweet_scores went from %d to %d rows", scores, n)
	}
}

// TestRescoreWithPartitionsOfNothing rescores a topic whose records are all in one of its
// three partitions: the two with nothing to rescore are done at once, and must not end the
// group's generation (kafka-go ends one as soon as a function it started returns) while
// the third is still reading: that rejoined the group every second or two, and the busy
// partition's readers were closed before their first fetch, over and over.
func TestRescoreWithPartitionsOfNothing(t *testing.T) {
	t.Parallel()
	b := builtInBroker(t)
	whCfg := warehousetest.Start(t)
	db := openDB(t, whCfg)
	ctx := context.Background()
	f := newFeed()
	recs := f.tweets(t, 1, 3000)
	for _, r := range recs {
		r.Partition, r.Timestamp = 0, feedBase
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(b.Addr), kgo.RecordPartitioner(kgo.ManualPartitioner()))
	if err != nil {
		t.Fatal(err)
	}
	pctx, cancel := context.WithTimeout(ctx, time.Minute)
	err = cl.ProduceSync(pctx, recs...).FirstErr()
	cancel()
	cl.Close()
	if err != nil {
		t.Fatal(err)
	}
	cfg := etl.Config{Brokers: []string{b.Addr}, Warehouse: whCfg, SentimentModel: sentiment.ModelVADER, BatchSize: 500,
		FlushInterval: 20 * time.Millisecond, Entities: false, Logger: testLogger(t)}
	_, stop := runETL(t, cfg)
	defer stop()
	ends := endOffsets(t, b.Addr, tweet.TopicTweets, 3)
	if ends[0] != 3000 || ends[1] != 0 || ends[2] != 0 {
		t.Fatalf("partition ends %v; want every record in partition 0", ends)
	}
	waitFor(t, time.Minute, "the feed loaded", func() bool { return allLoaded(t, db, ends) })

	rcfg := etl.RescoreConfig{Brokers: []string{b.Addr}, Warehouse: whCfg, Model: sentiment.ModelLinear, Since: feedBase.Add(-time.Minute),
		BatchSize: 50, ProgressEvery: 20 * time.Millisecond, Logger: testLogger(t)}
	p, err := etl.Rescore(within(t, ctx, 3*time.Minute), rcfg)
	if err != nil || !p.Done || p.Scored != 3000 {
		t.Fatalf("rescore: %+v, %v; want 3,000 tweets scored", p, err)
	}
	if n := count(t, db, "SELECT uniqExact(id) FROM tweet_scores WHERE model = 'linear-v1'"); n != 3000 {
		t.Errorf("tweet_scores holds %d tweets, want 3,000", n)
	}
}
