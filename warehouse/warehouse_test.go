package warehouse_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/starling-analytics/starling/warehouse"
	"github.com/starling-analytics/starling/warehouse/warehousetest"
)

// schemaTables are the tables and views the migrations create, in name order.
var schemaTables = []string{
	"entities", "hashtag_minute", "loaded_batches", "loaded_offsets", "minute_stats", "model_sentiment_minute", "schema_migrations",
	"score_minute", "sentiment_minute", "tweet_deletions", "tweet_ids", "tweet_scores", "tweets", "word_minute",
}

func TestMigrateConcurrentlyOnEmptyDatabaseThenAgain(t *testing.T) {
	t.Parallel()
	cfg := warehousetest.Empty(t)
	ctx := context.Background()
	migrate := func() error {
		db, err := warehouse.Open(ctx, cfg)
		if err != nil {
			return err
		}
		defer db.Close()
		return db.Migrate(ctx)
	}
	const n = 4
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() { errs[i] = migrate() })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("concurrent Migrate %d: %v", i, err)
		}
	}
	if err := migrate(); err != nil {
		t.Fatalf("Migrate on a migrated database: %v", err)
	}

	db, err := warehouse.Open(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.Conn().Query(ctx, "SELECT name FROM system.tables WHERE database = ?", cfg.Database)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			t.Fatal(err)
		}
		got = append(got, name)
	}
	rows.Close()
	sort.Strings(got)
	if strings.Join(got, " ") != strings.Join(schemaTables, " ") {
		t.Errorf("tables = %v, want %v", got, schemaTables)
	}
	applied, err := db.AppliedMigrations(ctx)
	if err != nil || len(applied) != 5 || !applied[1] || !applied[2] || !applied[3] || !applied[4] || !applied[5] {
		t.Fatalf("applied migrations = %v, %v; want exactly versions 1 to 5", applied, err)
	}
}

func TestInsertTweetsFillsAggregatesAndOffsets(t *testing.T) {
	t.Parallel()
	db := warehousetest.Open(t)
	ctx := context.Background()
	minute := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	rows := []warehouse.TweetRow{
		{SentimentModel: "vader", ID: 1, CreatedAt: minute.Add(5 * time.Second), Text: "love #go", Lang: "en", Hashtags: []string{"go"}, Words: []string{"love"}, Sentiment: 0.5, SentimentLabel: warehouse.LabelPositive, KafkaTopic: "tweets", KafkaPartition: 0, KafkaOffset: 10},
		{SentimentModel: "vader", ID: 2, CreatedAt: minute.Add(50 * time.Second), Text: "hate #go #rust", Lang: "en", Hashtags: []string{"go", "rust"}, Words: []string{"hate", "love"}, Sentiment: -0.25, SentimentLabel: warehouse.LabelNegative, KafkaTopic: "tweets", KafkaPartition: 0, KafkaOffset: 11},
		{SentimentModel: "vader", ID: 3, CreatedAt: minute.Add(70 * time.Second), Text: "meh", Lang: "fr", KafkaTopic: "tweets", KafkaPartition: 2, KafkaOffset: 4},
	}
	if err := db.InsertTweets(ctx, rows); err != nil {
		t.Fatal(err)
	}
	// A later batch on partition 0 raises its loaded offset; the other topic is separate.
	if err := db.InsertTweets(ctx, []warehouse.TweetRow{
		{SentimentModel: "vader", ID: 4, CreatedAt: minute.Add(80 * time.Second), Hashtags: []string{"go"}, KafkaTopic: "tweets", KafkaPartition: 0, KafkaOffset: 12},
		{SentimentModel: "vader", ID: 5, CreatedAt: minute.Add(80 * time.Second), KafkaTopic: "other", KafkaPartition: 0, KafkaOffset: 99},
	}); err != nil {
		t.Fatal(err)
	}

	checks := []struct {
		query string
		want  string
	}{
		{"SELECT toString(count()) FROM tweets", "5"},
		{"SELECT toString(count()) FROM tweets WHERE id = 2 AND hashtags = ['go', 'rust'] AND sentiment_label = 'negative' AND user_id = 0", "1"},
		{"SELECT arrayStringConcat(groupArray(concat(toString(minute), ' ', hashtag, ' ', toString(n), ' ', toString(s))), ', ') FROM (SELECT minute, hashtag, sum(tweets) AS n, sum(sentiment_sum) AS s FROM hashtag_minute GROUP BY minute, hashtag ORDER BY minute, hashtag)",
			"2026-03-01 12:00:00 go 2 0.25, 2026-03-01 12:00:00 rust 1 -0.25, 2026-03-01 12:01:00 go 1 0"},
		{"SELECT arrayStringConcat(groupArray(concat(word, ' ', toString(n))), ', ') FROM (SELECT word, sum(tweets) AS n FROM word_minute GROUP BY word ORDER BY word)",
			"hate 1, love 2"},
		{"SELECT arrayStringConcat(groupArray(concat(toString(label), ' ', lang, ' ', toString(n))), ', ') FROM (SELECT sentiment_label AS label, lang, sum(tweets) AS n FROM sentiment_minute GROUP BY label, lang ORDER BY label, lang)",
			"negative en 1, neutral  2, neutral fr 1, positive en 1"},
	}
	for _, c := range checks {
		var got string
		if err := db.Conn().QueryRow(ctx, c.query).Scan(&got); err != nil {
			t.Fatalf("%s: %v", c.query, err)
		}
		if got != c.want {
			t.Errorf("%s\n got %q\nwant %q", c.query, got, c.want)
		}
	}

	// Explicit offsets: a new partition appears, a lower offset never lowers one.
	if err := db.RecordOffsets(ctx, "tweets", map[int32]int64{1: 7, 0: 3}); err != nil {
		t.Fatal(err)
	}
	offs, err := db.LoadedOffsets(ctx, "tweets")
	if err != nil {
		t.Fatal(err)
	}
	if want := map[int32]int64{0: 12, 1: 7, 2: 4}; fmt.Sprint(offs) != fmt.Sprint(want) {
		t.Errorf("LoadedOffsets(tweets) = %v, want %v", offs, want)
	}
	if offs, err := db.LoadedOffsets(ctx, "nothing-here"); err != nil || len(offs) != 0 {
		t.Errorf("LoadedOffsets of an unknown topic = %v, %v; want empty", offs, err)
	}
}

func TestInsertTweetsRejectsRowsItCannotStore(t *testing.T) {
	t.Parallel()
	db := warehousetest.Open(t)
	ctx := context.Background()
	ok := warehouse.TweetRow{SentimentModel: "vader", ID: 1, CreatedAt: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	for name, bad := range map[string]warehouse.TweetRow{
		"before 1970": {SentimentModel: "vader", ID: 2, CreatedAt: time.Date(1969, 12, 31, 0, 0, 0, 0, time.UTC)},
		"after 2106":  {SentimentModel: "vader", ID: 3, CreatedAt: time.Date(2107, 1, 1, 0, 0, 0, 0, time.UTC)},
		"label":       {SentimentModel: "vader", ID: 4, CreatedAt: ok.CreatedAt, SentimentLabel: 2},
		"no model":    {ID: 5, CreatedAt: ok.CreatedAt},
	} {
		if err := db.InsertTweets(ctx, []warehouse.TweetRow{ok, bad}); !errors.Is(err, warehouse.ErrInvalidRow) {
			t.Errorf("%s: InsertTweets = %v, want ErrInvalidRow", name, err)
		}
	}
	if err := db.InsertTweets(ctx, nil); !errors.Is(err, warehouse.ErrEmptyBatch) {
		t.Errorf("InsertTweets(nil) = %v, want ErrEmptyBatch", err)
	}
	var n uint64
	if err := db.Conn().QueryRow(ctx, "SELECT count() FROM tweets").Scan(&n); err != nil || n != 0 {
		t.Errorf("rejected batches stored %d rows (%v); want none", n, err)
	}
}

func TestConfigValidate(t *testing.T) {
	t.Parallel()
	if err := (warehouse.Config{}).Validate(); err != nil {
		t.Errorf("zero Config: %v", err)
	}
	for _, c := range []warehouse.Config{
		{Addr: []string{"localhost"}},
		{Database: "drop table; --"},
		{Database: "1abc"},
		{DialTimeout: -time.Second},
	} {
		if err := c.Validate(); err == nil {
			t.Errorf("Validate(%+v) = nil, want an error", c)
		}
	}
}

func TestOpenFailsClearlyWithoutServer(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err := warehouse.Open(ctx, warehouse.Config{Addr: []string{"127.0.0.1:1"}, DialTimeout: time.Second})
	if err == nil || !strings.Contains(err.Error(), "127.0.0.1:1") {
		t.Fatalf("Open on a closed port = %v, want an error naming the address", err)
	}
}

// BenchmarkInsertTweets loads batches of 5000 tweets of the ETL's usual shape.
func BenchmarkInsertTweets(b *testing.B) {
	db := warehousetest.Open(b)
	ctx := context.Background()
	const batch = 5000
	base := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	rows := make([]warehouse.TweetRow, batch)
	text := "Just watched the new episode and it was ABSOLUTELY amazing!!! Can't wait for next week #tv #scifi"
	for i := range rows {
		rows[i] = warehouse.TweetRow{
			SentimentModel: "vader",
			CreatedAt:      base.Add(time.Duration(i) * 10 * time.Millisecond), Text: text, Lang: "en",
			UserID: uint64(i % 1000), UserScreenName: fmt.Sprintf("user%d", i%1000), UserFollowers: 42,
			Hashtags: []string{"tv", "scifi"}, Words: []string{"watched", "new", "episode", "amazing", "wait", "next", "week"},
			Sentiment: 0.8, SentimentLabel: warehouse.LabelPositive, SourceFormat: "generator",
			KafkaTopic: "tweets", KafkaPartition: 0,
		}
	}
	b.SetBytes(int64(batch * len(text)))
	b.ReportAllocs()
	next := uint64(0)
	for b.Loop() {
		for i := range rows {
			next++
			rows[i].ID, rows[i].KafkaOffset = next, int64(next)
		}
		if err := db.InsertTweets(ctx, rows); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*batch)/b.Elapsed().Seconds(), "tweets/s")
}

// TestTableDefinitionsMatchTheSchema compares each table the warehouse writes, as its Go
// definition states it (the INSERT's columns and the types of their values), with the
// migrated schema: a column renamed, retyped or added on one side only fails here.
func TestTableDefinitionsMatchTheSchema(t *testing.T) {
	t.Parallel()
	db := warehousetest.Open(t)
	ctx := context.Background()
	for name, cols := range warehouse.TableSchemas() {
		rows, err := db.Conn().Query(ctx, "SELECT name, type, default_kind FROM system.columns WHERE database = currentDatabase() AND table = ?", name)
		if err != nil {
			t.Fatal(err)
		}
		schema := map[string]string{}
		var defaulted []string
		for rows.Next() {
			var n, typ, def string
			if err := rows.Scan(&n, &typ, &def); err != nil {
				t.Fatal(err)
			}
			schema[n] = typ
			if def != "" {
				defaulted = append(defaulted, n)
			}
		}
		rows.Close()
		set := map[string]bool{}
		for _, c := range cols {
			set[c[0]] = true
			if typ, ok := schema[c[0]]; !ok {
				t.Errorf("%s.%s is written but the table has no such column", name, c[0])
			} else if typ != c[1] {
				t.Errorf("%s.%s is written as %s, the table has %s", name, c[0], c[1], typ)
			}
		}
		for n := range schema {
			if !set[n] && !slices.Contains(defaulted, n) {
				t.Errorf("%s.%s has no default and is not written", name, n)
			}
		}
	}
}
