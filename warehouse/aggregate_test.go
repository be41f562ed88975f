package warehouse

import (
	"math/rand/v2"
	"strconv"
	"testing"
	"time"
)

// aggregateBatch is a batch shaped like the generator's archive: tweets a second apart
// (60 a minute), three hashtags and a dozen words each from small vocabularies, five
// languages, two sentiment models, some retractions.
func aggregateBatch(n int) LoadBatch {
	rng := rand.New(rand.NewPCG(1, 2))
	word := func(k int) string { return "w" + strconv.Itoa(rng.IntN(k)) }
	start := time.Date(2026, 3, 14, 0, 0, 0, 0, time.UTC)
	b := LoadBatch{Topic: "tweets", Partition: 0, First: 0, Last: int64(n - 1)}
	for i := range n {
		t := TweetRow{SentimentModel: []string{"vader", "linear-v1"}[i%2], ID: uint64(i + 1), CreatedAt: start.Add(time.Duration(i) * time.Second), Lang: []string{"en", "es", "ja", "pt", "und"}[rng.IntN(5)],
			Sentiment: float32(rng.Float64()*2 - 1), SentimentLabel: int8(rng.IntN(3) - 1)}
		for range 3 {
			t.Hashtags = append(t.Hashtags, "h"+word(300))
		}
		for range 12 {
			t.Words = append(t.Words, word(5000))
		}
		b.Tweets = append(b.Tweets, t)
		if i%50 == 0 {
			b.Deletions = append(b.Deletions, DeletionRow{ID: t.ID, Retracted: true, CreatedAt: t.CreatedAt, Lang: t.Lang, Hashtags: t.Hashtags,
				Words: t.Words, Sentiment: t.Sentiment, SentimentLabel: t.SentimentLabel, SentimentModel: t.SentimentModel})
		}
	}
	return b
}

// TestAggregateSumsPerMinuteKey checks aggregate against a plain recount: every
// (kind, minute, key, label, model) once, with the tweets and sentiment of what the batch adds
// less what it retracts, and a mark per batch.
func TestAggregateSumsPerMinuteKey(t *testing.T) {
	b := aggregateBatch(5000)
	type k struct {
		kind   int8
		minute int64
		key    string
		label  int8
		model  string
	}
	want := map[k]float64{}
	count := map[k]int64{}
	note := func(sign int64, at time.Time, hashtags, words []string, lang string, label int8, s float32, model string) {
		m := at.Unix() - at.Unix()%60
		for _, h := range hashtags {
			count[k{statHashtag, m, h, 0, ""}] += sign
			want[k{statHashtag, m, h, 0, ""}] += float64(sign) * float64(s)
		}
		for _, w := range words {
			count[k{statWord, m, w, 0, ""}] += sign
			want[k{statWord, m, w, 0, ""}] += float64(sign) * float64(s)
		}
		count[k{statSentiment, m, lang, label, model}] += sign
		want[k{statSentiment, m, lang, label, model}] += float64(sign) * float64(s)
	}
	for _, t := range b.Tweets {
		note(1, t.CreatedAt, t.Hashtags, t.Words, t.Lang, t.SentimentLabel, t.Sentiment, t.SentimentModel)
	}
	for _, d := range b.Deletions {
		note(-1, d.CreatedAt, d.Hashtags, d.Words, d.Lang, d.SentimentLabel, d.Sentiment, d.SentimentModel)
	}
	rows := aggregate([]LoadBatch{b})
	seen := map[k]bool{}
	marks := 0
	for _, r := range rows {
		if r.kind == statBatch {
			marks++
			continue
		}
		key := k{r.kind, r.minute.Unix(), r.key, r.label, r.model}
		if seen[key] {
			t.Fatalf("%+v twice", key)
		}
		seen[key] = true
		if count[key] != r.tweets || abs(want[key]-r.sentimentSum) > 1e-6 {
			t.Fatalf("%+v: %d tweets, sum %f; want %d, %f", key, r.tweets, r.sentimentSum, count[key], want[key])
		}
	}
	for key, n := range count {
		if n != 0 && !seen[key] {
			t.Fatalf("%+v missing", key)
		}
	}
	if marks != 1 {
		t.Errorf("%d marks, want 1", marks)
	}
}

func abs(f float64) float64 {
	if f < 0 {
		return -f
	}
	return f
}

func BenchmarkAggregate(b *testing.B) {
	batch := []LoadBatch{aggregateBatch(50000)}
	b.ReportAllocs()
	for b.Loop() {
		aggregate(batch)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/50000, "ns/tweet")
}
