package warehouse_test

import (
	"context"
	"testing"
	"time"

	"github.com/starling-analytics/starling/warehouse"
	"github.com/starling-analytics/starling/warehouse/warehousetest"
)

func TestSummary(t *testing.T) {
	t.Parallel()
	db := warehousetest.Open(t)
	ctx := context.Background()
	if s, err := db.Summary(ctx, 60); err != nil || s.Tweets != 0 {
		t.Fatalf("empty summary = %+v, %v", s, err)
	}
	base := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	var rows []warehouse.TweetRow
	// #go in minutes 0..9 (one tweet each), #rust in minute 9 only (three tweets).
	for i := range 10 {
		rows = append(rows, warehouse.TweetRow{SentimentModel: "vader", ID: uint64(i + 1), CreatedAt: base.Add(time.Duration(i) * time.Minute), Hashtags: []string{"go"}, Words: []string{"gopher"}, Sentiment: 0.5, SentimentLabel: warehouse.LabelPositive})
	}
	for i := range 3 {
		rows = append(rows, warehouse.TweetRow{SentimentModel: "vader", ID: uint64(100 + i), CreatedAt: base.Add(9*time.Minute + time.Second), Hashtags: []string{"rust"}, Words: []string{"crab", "gopher"}, Sentiment: -0.5, SentimentLabel: warehouse.LabelNegative})
	}
	if err := db.InsertTweets(ctx, rows); err != nil {
		t.Fatal(err)
	}

	s, err := db.Summary(ctx, 5)
	if err != nil {
		t.Fatal(err)
	}
	if s.Tweets != 13 || s.WindowTweets != 8 || !s.Latest.Equal(base.Add(9*time.Minute)) || s.ActiveHashtags != 2 {
		t.Errorf("summary = %+v", s)
	}
}
