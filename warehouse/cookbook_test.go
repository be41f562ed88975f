package warehouse_test

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/starling-analytics/starling/warehouse"
	"github.com/starling-analytics/starling/warehouse/warehousetest"
)

// cookbookQueries returns the statements of the README's SQL cookbook section.
func cookbookQueries(t *testing.T) []string {
	t.Helper()
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(readme), "## SQL cookbook")
	if !ok {
		t.Fatal("README has no SQL cookbook section")
	}
	_, block, ok := strings.Cut(section, "```sql\n")
	block, _, ok2 := strings.Cut(block, "```")
	if !ok || !ok2 {
		t.Fatal("the SQL cookbook has no sql block")
	}
	var queries []string
	var cur []string
	for _, line := range strings.Split(block, "\n") {
		if strings.HasPrefix(strings.TrimSpace(line), "--") {
			continue
		}
		cur = append(cur, line)
		if strings.HasSuffix(strings.TrimSpace(line), ";") {
			queries = append(queries, strings.TrimSuffix(strings.TrimSpace(strings.Join(cur, "\n")), ";"))
			cur = nil
		}
	}
	return queries
}

// TestCookbookQueries runs every query of the README's SQL cookbook on a warehouse holding
// tweets, on one server and on a cluster, and checks that each answers with rows.
func TestCookbookQueries(t *testing.T) {
	t.Parallel()
	queries := cookbookQueries(t)
	if len(queries) < 10 {
		t.Fatalf("the cookbook has %d queries, want at least 10", len(queries))
	}
	t.Run("one server", func(t *testing.T) {
		t.Parallel()
		checkCookbook(t, warehousetest.Open(t), queries)
	})
	t.Run("cluster", func(t *testing.T) {
		t.Parallel()
		checkCookbook(t, warehousetest.OpenCluster(t), queries)
	})
}

func checkCookbook(t *testing.T, db *warehouse.DB, queries []string) {
	ctx := context.Background()
	base := time.Date(2026, 3, 14, 17, 0, 0, 0, time.UTC)
	var rows []warehouse.TweetRow
	tags := [][]string{{"outage", "news"}, {"outage"}, {"music"}, {"news", "music"}}
	for i := range 400 {
		s := float32(i%5-2) / 2
		label := warehouse.LabelNeutral
		if s >= 0.05 {
			label = warehouse.LabelPositive
		} else if s <= -0.05 {
			label = warehouse.LabelNegative
		}
		row := warehouse.TweetRow{
			SentimentModel: "vader",
			ID:             uint64(i + 1), CreatedAt: base.Add(time.Duration(i*15) * time.Second),
			Text: "tweet text", Lang: []string{"en", "es"}[i%2], UserID: uint64(i % 13), UserScreenName: "user" + string(rune('a'+i%13)),
			UserFollowers: uint64(i * 10), Hashtags: tags[i%4], Mentions: []string{"bob"}, Words: []string{"service", "down"}, Cashtags: []string{"TSLA"},
			Sentiment: s, SentimentLabel: label, KafkaTopic: "tweets", KafkaPartition: int32(i % 3), KafkaOffset: int64(i),
		}
		if i%7 == 0 {
			row.RetweetOf = 1
		}
		rows = append(rows, row)
	}
	if err := db.InsertTweets(ctx, rows); err != nil {
		t.Fatal(err)
	}
	// The learned model's scores of them, as a rescore writes them.
	for p := range int32(3) {
		b := warehouse.ScoreBatch{Model: "linear-v1", Topic: "tweets", Partition: p, First: 0, Last: 399}
		for _, r := range rows {
			if r.KafkaPartition == p {
				b.Scores = append(b.Scores, warehouse.ScoreRow{ID: r.ID, CreatedAt: r.CreatedAt, Lang: r.Lang, Sentiment: -r.Sentiment, SentimentLabel: -r.SentimentLabel,
					KafkaTopic: r.KafkaTopic, KafkaPartition: r.KafkaPartition, KafkaOffset: r.KafkaOffset})
			}
		}
		if err := db.LoadScores(ctx, b); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.InsertEntities(ctx, []warehouse.EntityRow{{TweetID: 3, CreatedAt: base, Entity: "Chicago", Kind: warehouse.KindPlace, Lang: "en", SampledEvery: 4}}); err != nil {
		t.Fatal(err)
	}
	if err := db.InsertDeletions(ctx, []warehouse.DeletionRow{warehouse.Retraction(rows[5], "deleted", base.Add(time.Hour))}); err != nil {
		t.Fatal(err)
	}
	for _, q := range queries {
		r, err := db.Conn().Query(ctx, q)
		if err != nil {
			t.Errorf("cookbook query failed: %v\n%s", err, q)
			continue
		}
		n := 0
		for r.Next() {
			n++
		}
		if err := r.Err(); err != nil {
			t.Errorf("cookbook query: %v\n%s", err, q)
		}
		r.Close()
		if n == 0 {
			t.Errorf("cookbook query returned no rows:\n%s", q)
		}
	}
}
