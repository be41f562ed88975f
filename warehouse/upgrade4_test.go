package warehouse_test

import (
	"context"
	"testing"
	"time"

	"github.com/starling-analytics/starling/warehouse"
	"github.com/starling-analytics/starling/warehouse/warehousetest"
)

// TestUpgradeToVersion4KeepsTheLexiconScores migrates a warehouse of schema version 3,
// loaded as its ETL loaded it, to version 4: its tweets and aggregates are the lexicon
// engine's (vader), a tweet loaded before is withdrawn from vader's figures after, and
// the learned model's tweets count apart.
func TestUpgradeToVersion4KeepsTheLexiconScores(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := openAtVersion(t, ctx, warehousetest.Empty(t), 3, sampleRows(1, 30, 0))
	// Version 3's ETL wrote the aggregates itself, with no model.
	if err := db.Conn().Exec(ctx, `INSERT INTO minute_stats (kind, minute, key, label, partition, first_offset, last_offset, tweets, sentiment_sum)
		SELECT 'sentiment', toStartOfMinute(created_at), lang, sentiment_label, 0, 0, 0, count(), sum(sentiment) FROM tweets GROUP BY toStartOfMinute(created_at), lang, sentiment_label`); err != nil {
		t.Fatal(err)
	}
	if err := db.Conn().Exec(ctx, "INSERT INTO tweet_ids (id, created_at, kafka_partition, kafka_offset) SELECT id, created_at, kafka_partition, kafka_offset FROM tweets"); err != nil {
		t.Fatal(err)
	}
	if err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	if n := count(t, db, "SELECT count() FROM tweets WHERE sentiment_model = 'vader'"); n != 30 {
		t.Errorf("%d tweets of version 3 scored by vader, want 30", n)
	}
	loaded, err := db.LoadedTweets(ctx, []uint64{1, 2, 3})
	if err != nil || len(loaded) != 3 || loaded[0].SentimentModel != "vader" {
		t.Fatalf("LoadedTweets = %+v, %v", loaded, err)
	}
	var dels []warehouse.DeletionRow
	for _, r := range loaded {
		dels = append(dels, warehouse.Retraction(r, "deleted", time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)))
	}
	if err := db.InsertDeletions(ctx, dels); err != nil {
		t.Fatal(err)
	}
	newer := sampleRows(100, 10, 1)
	for i := range newer {
		newer[i].SentimentModel = "linear-v1"
	}
	if err := db.InsertTweets(ctx, newer); err != nil {
		t.Fatal(err)
	}
	got := warehousetest.Counts(t, db, "SELECT sentiment_model, sum(tweets) FROM sentiment_minute GROUP BY sentiment_model")
	if len(got) != 2 || got["vader"] != 27 || got["linear-v1"] != 10 {
		t.Errorf("sentiment_minute by model = %v, want vader 27, linear-v1 10", got)
	}
	models, err := db.Models(ctx)
	if err != nil || len(models) != 2 || models[0].Name != "linear-v1" || !models[0].Live || models[1].Name != "vader" || models[1].Tweets != 27 {
		t.Errorf("Models = %+v, %v; want linear-v1 (live), then vader with 27 tweets", models, err)
	}
}
