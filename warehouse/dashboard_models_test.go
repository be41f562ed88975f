package warehouse_test

import (
	"context"
	"math"
	"testing"
	"time"

	"github.com/starling-analytics/starling/warehouse"
	"github.com/starling-analytics/starling/warehouse/warehousetest"
)

// TestCompareModels loads the dashboard's model feed scored by vader, another model's
// scores of it as a rescore writes them (one batch cut short before its commit, then
// loaded again), withdraws tweets before and after the scores came, and compares the two
// models on one server and on a cluster: every minute, the agreement and the
// disagreements equal a recount of the live tweets.
func TestCompareModels(t *testing.T) {
	t.Parallel()
	for name, open := range map[string]func(testing.TB) *warehouse.DB{"one server": warehousetest.Open, "cluster": warehousetest.OpenCluster} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			db := open(t)
			m := loadDashboardModelInto(t, db)
			// The other model: the opposite score, labelled by its sign, for two thirds.
			other := map[uint64]warehouse.ScoreRow{}
			batches := map[int32]*warehouse.ScoreBatch{}
			for i, r := range m.rows {
				if i%3 == 2 {
					continue
				}
				s := -r.Sentiment * 0.5
				label := warehouse.LabelNeutral
				if s >= 0.05 {
					label = warehouse.LabelPositive
				} else if s <= -0.05 {
					label = warehouse.LabelNegative
				}
				p := int32(i % 3)
				b := batches[p]
				if b == nil {
					b = &warehouse.ScoreBatch{Model: "linear-v1", Topic: "tweets", Partition: p, First: 0, Last: 999}
					batches[p] = b
				}
				sr := warehouse.ScoreRow{ID: r.ID, CreatedAt: r.CreatedAt, Lang: r.Lang, Sentiment: s, SentimentLabel: label, KafkaTopic: "tweets", KafkaPartition: p, KafkaOffset: int64(i)}
				b.Scores = append(b.Scores, sr)
				other[r.ID] = sr
			}
			if err := db.WriteScoresOnly(ctx, *batches[1]); err != nil {
				t.Fatal(err)
			}
			for _, b := range batches {
				if err := db.LoadScores(ctx, *b); err != nil {
					t.Fatal(err)
				}
			}
			marks, err := db.ScoreMarks(ctx, "linear-v1", "tweets")
			if err != nil || len(marks) != 2 || len(marks[0]) != 1 || marks[0][0] != (warehouse.OffsetRange{First: 0, Last: 999}) {
				t.Errorf("marks %v, %v; want 0-999 of partitions 0 and 1", marks, err)
			}
			// Withdrawn after the scores came.
			var dels []warehouse.DeletionRow
			for _, i := range []int{0, 1, 300} {
				dels = append(dels, warehouse.Retraction(m.rows[i], "deleted", m.base.Add(5*time.Hour)))
				m.withdrawn[m.rows[i].ID] = true
			}
			if err := db.InsertDeletions(ctx, dels); err != nil {
				t.Fatal(err)
			}
			if n, u := count(t, db, "SELECT count() FROM tweet_scores"), count(t, db, "SELECT uniqExact(id) FROM tweet_scores"); n != uint64(len(other)) || u != n {
				t.Errorf("tweet_scores: %d rows of %d ids, want %d", n, u, len(other))
			}

			sc, err := db.NewScope(ctx, warehouse.Span{}, warehouse.Filter{})
			if err != nil {
				t.Fatal(err)
			}
			c, err := sc.CompareModels(ctx, "vader", "linear-v1", 3)
			if err != nil {
				t.Fatal(err)
			}
			type sums struct {
				n   [2]int64
				s   [2]float64
				pos [2]int64
			}
			want := map[time.Time]*sums{}
			var confusion [3][3]int64
			var farthest float64
			for _, r := range m.live(m.base, m.base.Add(24*time.Hour), warehouse.Filter{}) {
				mt := r.CreatedAt.Truncate(time.Minute)
				w := want[mt]
				if w == nil {
					w = &sums{}
					want[mt] = w
				}
				w.n[0]++
				w.s[0] += float64(r.Sentiment)
				if r.SentimentLabel == warehouse.LabelPositive {
					w.pos[0]++
				}
				o, ok := other[r.ID]
				if !ok {
					continue
				}
				w.n[1]++
				w.s[1] += float64(o.Sentiment)
				if o.SentimentLabel == warehouse.LabelPositive {
					w.pos[1]++
				}
				confusion[r.SentimentLabel+1][o.SentimentLabel+1]++
				farthest = max(farthest, math.Abs(float64(r.Sentiment-o.Sentiment)))
			}
			bad := 0
			for _, p := range c.Points {
				w := want[p.At]
				if w == nil {
					w = &sums{}
				}
				for k := range 2 {
					if p.Tweets[k] != w.n[k] || w.n[k] > 0 && (!near(p.Sentiment[k], w.s[k]/float64(w.n[k])) || !near(p.Positive[k], float64(w.pos[k])/float64(w.n[k]))) {
						if bad++; bad < 5 {
							t.Errorf("%s %s: %d tweets, mean %f, positive %f; want %d, %+v", c.Models[k], p.At.Format(time.TimeOnly), p.Tweets[k], p.Sentiment[k], p.Positive[k], w.n[k], w)
						}
					}
				}
			}
			if c.Confusion != confusion || c.Sample.Fraction != 1 {
				t.Errorf("confusion %v (sample %v), want %v", c.Confusion, c.Sample, confusion)
			}
			if len(c.Disagreements) != 3 || c.Disagreements[0].Text == "" || !near(math.Abs(c.Disagreements[0].Scores[0]-c.Disagreements[0].Scores[1]), farthest) {
				t.Errorf("disagreements %+v, want 3, the first %f apart", c.Disagreements, farthest)
			}
			models, err := db.Models(ctx)
			if err != nil || len(models) != 2 || models[0].Name != "vader" || !models[0].Live || models[1].Name != "linear-v1" {
				t.Errorf("models %+v, %v; want vader (live), linear-v1", models, err)
			}
		})
	}
}
