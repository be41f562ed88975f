package warehouse_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/starling-analytics/starling/warehouse"
	"github.com/starling-analytics/starling/warehouse/warehousetest"
)

func TestMigrateIsIdempotentAndConcurrent(t *testing.T) {
	t.Parallel()
	cfg := warehousetest.Start(t) // already migrated once
	ctx := context.Background()
	var wg sync.WaitGroup
	errs := make(chan error, 3)
	for range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			db, err := warehouse.Open(ctx, cfg)
			if err != nil {
				errs <- err
				return
			}
			defer db.Close()
			errs <- db.Migrate(ctx)
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("concurrent migrate: %v", err)
		}
	}
	db, err := warehouse.Open(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	applied, err := db.AppliedMigrations(ctx)
	if err != nil || !applied[1] {
		t.Fatalf("applied migrations = %v, %v; want version 1", applied, err)
	}
}

func TestInsertTweetsFillsAggregatesAndOffsets(t *testing.T) {
	t.Parallel()
	db := warehousetest.Open(t)
	ctx := context.Background()
	minute := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	rows := []warehouse.TweetRow{
		{ID: 1, CreatedAt: minute.Add(5 * time.Second), Text: "love #go", Lang: "en", Hashtags: []string{"go"}, Words: []string{"love"}, Sentiment: 0.6, SentimentLabel: warehouse.LabelPositive, KafkaTopic: "tweets", KafkaPartition: 0, KafkaOffset: 10},
		{ID: 2, CreatedAt: minute.Add(50 * time.Second), Text: "hate #go #rust", Lang: "en", Hashtags: []string{"go", "rust"}, Words: []string{"hate"}, Sentiment: -0.5, SentimentLabel: warehouse.LabelNegative, KafkaTopic: "tweets", KafkaPartition: 0, KafkaOffset: 11},
		{ID: 3, CreatedAt: minute.Add(70 * time.Second), Text: "meh", Lang: "fr", KafkaTopic: "tweets", KafkaPartition: 2, KafkaOffset: 4},
	}
	if err := db.InsertTweets(ctx, rows); err != nil {
		t.Fatal(err)
	}
	var n uint64
	if err := db.Conn().QueryRow(ctx, "SELECT count() FROM tweets").Scan(&n); err != nil || n != 3 {
		t.Fatalf("tweets = %d, %v; want 3", n, err)
	}
	var goTweets uint64
	if err := db.Conn().QueryRow(ctx, "SELECT sum(tweets) FROM hashtag_minute WHERE hashtag = 'go' AND minute = ?", minute).Scan(&goTweets); err != nil || goTweets != 2 {
		t.Fatalf("hashtag_minute go = %d, %v; want 2", goTweets, err)
	}
	var labels uint64
	if err := db.Conn().QueryRow(ctx, "SELECT sum(tweets) FROM sentiment_minute").Scan(&labels); err != nil || labels != 3 {
		t.Fatalf("sentiment_minute = %d, %v; want 3", labels, err)
	}
	if err := db.RecordOffsets(ctx, "tweets", map[int32]int64{1: 7}); err != nil {
		t.Fatal(err)
	}
	offs, err := db.LoadedOffsets(ctx, "tweets")
	if err != nil {
		t.Fatal(err)
	}
	want := map[int32]int64{0: 11, 1: 7, 2: 4}
	for p, o := range want {
		if offs[p] != o {
			t.Errorf("loaded offset of partition %d = %d, want %d (all: %v)", p, offs[p], o, offs)
		}
	}
}
