package warehouse_test

import (
	"context"
	"testing"
	"time"

	"github.com/starling-analytics/starling/warehouse"
	"github.com/starling-analytics/starling/warehouse/warehousetest"
)

// TestUpgradeToVersion5KeepsEntityFilters migrates a warehouse of schema version 4 whose
// entity rows do not carry their tweets' hashtags and words, then writes rows that do: the
// entities filtered by a hashtag or a word count both kinds of rows exactly, and a window
// that holds only the new rows reads their own terms.
func TestUpgradeToVersion5KeepsEntityFilters(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := openAtVersion(t, ctx, warehousetest.Empty(t), 4, nil)
	rows := sampleRows(1, 30, 0) // tweet i at 12:00 + 7i s, hashtag tag(i%3), words "word", w(i%2)
	// Version 4's entities group wrote the entities of tweets 1-15, with the columns it had.
	batch, err := db.Conn().PrepareBatch(ctx, `INSERT INTO entities (tweet_id, created_at, entity, kind, lang, sentiment, sampled_every, kafka_partition, kafka_offset)`)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rows[:15] {
		if err := batch.Append(r.ID, r.CreatedAt, "Lisbon", warehouse.KindPlace, r.Lang, r.Sentiment, uint32(1), r.KafkaPartition, r.KafkaOffset); err != nil {
			t.Fatal(err)
		}
	}
	if err := batch.Send(); err != nil {
		t.Fatal(err)
	}
	if err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	if err := db.InsertTweets(ctx, rows); err != nil {
		t.Fatal(err)
	}
	var ents []warehouse.EntityRow
	for _, r := range rows[15:] {
		ents = append(ents, warehouse.EntityRow{TweetID: r.ID, CreatedAt: r.CreatedAt, Entity: "Porto", Kind: warehouse.KindPlace, Lang: r.Lang,
			Sentiment: r.Sentiment, SampledEvery: 1, KafkaPartition: r.KafkaPartition, KafkaOffset: r.KafkaOffset, Hashtags: r.Hashtags, Words: r.Words})
	}
	// An entity row of a tweet the tweets table does not hold: only a filter that reads the
	// entities' own terms counts it.
	ents = append(ents, warehouse.EntityRow{TweetID: 999, CreatedAt: rows[29].CreatedAt, Entity: "Faro", Kind: warehouse.KindPlace, Lang: "en",
		SampledEvery: 1, KafkaPartition: 1, KafkaOffset: 999, Hashtags: []string{"tag0"}, Words: []string{"w1"}})
	if err := db.InsertEntities(ctx, ents); err != nil {
		t.Fatal(err)
	}
	base := rows[0].CreatedAt.Truncate(time.Hour)
	all := warehouse.Span{From: base, To: base.Add(10 * time.Minute)}
	recent := warehouse.Span{From: base.Add(2 * time.Minute), To: base.Add(10 * time.Minute)} // tweets 18-30
	for _, tc := range []struct {
		name   string
		span   warehouse.Span
		filter warehouse.Filter
		want   map[string]int64
	}{
		// Tweets 1-15 (Lisbon, without terms) and 16-30 (Porto, with them).
		{"all, word w1", all, warehouse.Filter{Word: "w1"}, map[string]int64{"Lisbon": 8, "Porto": 7}},
		{"all, hashtag tag0", all, warehouse.Filter{Hashtag: "tag0"}, map[string]int64{"Lisbon": 5, "Porto": 5}},
		{"all, unfiltered", all, warehouse.Filter{}, map[string]int64{"Lisbon": 15, "Porto": 15, "Faro": 1}},
		// Rows with terms only: the filter reads them, Faro included.
		{"recent, word w1", recent, warehouse.Filter{Word: "w1"}, map[string]int64{"Porto": 6, "Faro": 1}},
		{"recent, hashtag tag0 and word w1", recent, warehouse.Filter{Hashtag: "tag0", Word: "w1"}, map[string]int64{"Porto": 2, "Faro": 1}},
		{"recent, word w0", recent, warehouse.Filter{Word: "w0"}, map[string]int64{"Porto": 7}},
	} {
		sc, err := db.NewScope(ctx, tc.span, tc.filter)
		if err != nil {
			t.Fatal(err)
		}
		el, err := sc.TopEntities(ctx, "", 10)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		got := map[string]int64{}
		for _, e := range el.Items {
			got[e.Entity] = e.Tweets
		}
		if len(got) != len(tc.want) {
			t.Errorf("%s: entities %v, want %v", tc.name, got, tc.want)
			continue
		}
		for k, n := range tc.want {
			if got[k] != n {
				t.Errorf("%s: entities %v, want %v", tc.name, got, tc.want)
				break
			}
		}
	}
}
