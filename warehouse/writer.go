package warehouse

import (
	"context"
	"fmt"
	"time"
)

// Sentiment labels as stored in the Enum8 columns.
const (
	LabelNegative int8 = -1
	LabelNeutral  int8 = 0
	LabelPositive int8 = 1
)

// TweetRow is one row of the tweets table (every column but loaded_at).
type TweetRow struct {
	ID             uint64
	CreatedAt      time.Time
	Text           string
	Lang           string
	UserID         uint64
	UserScreenName string
	UserFollowers  uint64
	Hashtags       []string
	Mentions       []string
	URLs           []string
	Words          []string
	RetweetOf      uint64
	QuoteOf        uint64
	Sentiment      float32
	SentimentLabel int8 // LabelNegative, LabelNeutral or LabelPositive
	SourceFormat   string
	KafkaTopic     string
	KafkaPartition int32
	KafkaOffset    int64
}

const insertTweets = `INSERT INTO tweets (id, created_at, text, lang, user_id, user_screen_name, user_followers,
	hashtags, mentions, urls, words, retweet_of, quote_of, sentiment, sentiment_label, source_format,
	kafka_topic, kafka_partition, kafka_offset)`

// InsertTweets writes rows in one INSERT. ClickHouse applies a single-block INSERT
// atomically, and the materialized views (aggregates, loaded offsets) run within it.
func (db *DB) InsertTweets(ctx context.Context, rows []TweetRow) error {
	if len(rows) == 0 {
		return ErrEmptyBatch
	}
	batch, err := db.conn.PrepareBatch(ctx, insertTweets)
	if err != nil {
		return fmt.Errorf("warehouse: prepare insert: %w", err)
	}
	for i := range rows {
		r := &rows[i]
		if err := batch.Append(r.ID, r.CreatedAt.UTC(), r.Text, r.Lang, r.UserID, r.UserScreenName, r.UserFollowers,
			nonNil(r.Hashtags), nonNil(r.Mentions), nonNil(r.URLs), nonNil(r.Words), r.RetweetOf, r.QuoteOf,
			r.Sentiment, r.SentimentLabel, r.SourceFormat, r.KafkaTopic, r.KafkaPartition, r.KafkaOffset); err != nil {
			batch.Abort()
			return fmt.Errorf("warehouse: append row %d (tweet %d): %w", i, r.ID, err)
		}
	}
	if err := batch.Send(); err != nil {
		return fmt.Errorf("warehouse: insert %d tweets: %w", len(rows), err)
	}
	return nil
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// RecordOffsets stores loaded offsets explicitly, for batches whose records all went to the
// dead-letter topic and so wrote no tweet rows.
func (db *DB) RecordOffsets(ctx context.Context, topic string, offsets map[int32]int64) error {
	if len(offsets) == 0 {
		return nil
	}
	batch, err := db.conn.PrepareBatch(ctx, "INSERT INTO loaded_offsets (topic, partition, offset)")
	if err != nil {
		return fmt.Errorf("warehouse: prepare offsets: %w", err)
	}
	for p, o := range offsets {
		if err := batch.Append(topic, p, o); err != nil {
			batch.Abort()
			return fmt.Errorf("warehouse: append offset: %w", err)
		}
	}
	if err := batch.Send(); err != nil {
		return fmt.Errorf("warehouse: record offsets: %w", err)
	}
	return nil
}

// LoadedOffsets returns, per partition of topic, the last offset loaded into the warehouse.
func (db *DB) LoadedOffsets(ctx context.Context, topic string) (map[int32]int64, error) {
	rows, err := db.conn.Query(ctx, "SELECT partition, max(offset) FROM loaded_offsets WHERE topic = ? GROUP BY partition", topic)
	if err != nil {
		return nil, fmt.Errorf("warehouse: read loaded offsets: %w", err)
	}
	defer rows.Close()
	out := map[int32]int64{}
	for rows.Next() {
		var p int32
		var o int64
		if err := rows.Scan(&p, &o); err != nil {
			return nil, fmt.Errorf("warehouse: scan loaded offsets: %w", err)
		}
		out[p] = o
	}
	return out, rows.Err()
}
