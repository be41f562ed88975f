package warehouse_test

import (
	"context"
	"testing"
	"time"

	"github.com/starling-analytics/starling/warehouse"
	"github.com/starling-analytics/starling/warehouse/warehousetest"
)

func TestDashboardQueries(t *testing.T) {
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
		rows = append(rows, warehouse.TweetRow{ID: uint64(i + 1), CreatedAt: base.Add(time.Duration(i) * time.Minute), Hashtags: []string{"go"}, Words: []string{"gopher"}, Sentiment: 0.5, SentimentLabel: warehouse.LabelPositive})
	}
	for i := range 3 {
		rows = append(rows, warehouse.TweetRow{ID: uint64(100 + i), CreatedAt: base.Add(9*time.Minute + time.Second), Hashtags: []string{"rust"}, Words: []string{"crab", "gopher"}, Sentiment: -0.5, SentimentLabel: warehouse.LabelNegative})
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

	tops, w, err := db.TopHashtags(ctx, 5, 10)
	if err != nil {
		t.Fatal(err)
	}
	if !w.From.Equal(base.Add(5*time.Minute)) || len(tops) != 2 || tops[0].Term != "go" || tops[0].Tweets != 5 || tops[1].Term != "rust" || tops[1].Sentiment != -0.5 {
		t.Errorf("top hashtags = %+v, window %+v", tops, w)
	}
	words, _, err := db.TopWords(ctx, 60, 1)
	if err != nil || len(words) != 1 || words[0].Term != "gopher" || words[0].Tweets != 13 {
		t.Errorf("top words = %+v, %v", words, err)
	}
	series, _, err := db.HashtagVolume(ctx, 10, 5)
	if err != nil {
		t.Fatal(err)
	}
	if len(series) != 2 || series[0].Hashtag != "go" || len(series[0].Points) != 10 || series[0].Points[0] != 1 || series[1].Points[9] != 3 || series[1].Points[0] != 0 {
		t.Errorf("volume = %+v", series)
	}
}
