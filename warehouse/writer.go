package warehouse

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// ErrEmptyBatch is returned by InsertTweets for an empty slice: a batch that produced no
// rows records its offsets with RecordOffsets instead.
var ErrEmptyBatch = errors.New("warehouse: empty batch")

// ErrInvalidRow is wrapped by the errors of TweetRow.Validate. A row that fails it can never
// be inserted; the ETL dead-letters its record instead of retrying.
var ErrInvalidRow = errors.New("warehouse: invalid tweet row")

// The range a DateTime column holds, in Unix seconds (a UInt32). The client encodes a time
// outside it without complaint, wrapped around, so rows are checked before they go.
const (
	minDateTime = 0
	maxDateTime = 1<<32 - 1
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
	UserName       string
	UserFollowers  uint64
	Hashtags       []string
	Mentions       []string
	URLs           []string
	Cashtags       []string
	Words          []string
	RetweetOf      uint64
	QuoteOf        uint64
	ReplyTo        uint64
	EditHistory    []uint64 // every version's id, oldest first, for an edited tweet
	Sentiment      float32
	SentimentLabel int8 // LabelNegative, LabelNeutral or LabelPositive
	SourceFormat   string
	KafkaTopic     string
	KafkaPartition int32
	KafkaOffset    int64
}

// Validate reports why r cannot be stored: a created_at outside the DateTime range
// (1970 to 2106) or a sentiment label outside the enum.
func (r *TweetRow) Validate() error {
	if sec := r.CreatedAt.Unix(); sec < minDateTime || sec > maxDateTime {
		return fmt.Errorf("%w: created_at %s is outside ClickHouse DateTime's range (1970 to 2106)", ErrInvalidRow, r.CreatedAt.UTC().Format(time.RFC3339))
	}
	if r.SentimentLabel < LabelNegative || r.SentimentLabel > LabelPositive {
		return fmt.Errorf("%w: sentiment label %d is not -1, 0 or 1", ErrInvalidRow, r.SentimentLabel)
	}
	return nil
}

const insertTweets = `INSERT INTO tweets (id, created_at, text, lang, user_id, user_screen_name, user_name, user_followers,
	hashtags, mentions, urls, cashtags, words, retweet_of, quote_of, reply_to, edit_history, sentiment, sentiment_label,
	source_format, kafka_topic, kafka_partition, kafka_offset)`

// InsertTweets writes rows in one INSERT of one block. The materialized views run on that
// block within the same INSERT, so the per-minute aggregates and the loaded offsets (the
// highest kafka_offset per topic and partition) arrive with the rows. ClickHouse has no
// transactions: a batch that spans two months is written as two parts, and a failure between
// them or in a view can leave part of it stored. Before it retries a failed insert, the ETL
// reads LoadedOffsets to find out whether the batch was stored after all (a lost reply).
//
// Every row is validated first; an invalid row fails the whole call with ErrInvalidRow and
// nothing is sent.
func (db *DB) InsertTweets(ctx context.Context, rows []TweetRow) error {
	if len(rows) == 0 {
		return ErrEmptyBatch
	}
	for i := range rows {
		if err := rows[i].Validate(); err != nil {
			return fmt.Errorf("row %d (tweet %d): %w", i, rows[i].ID, err)
		}
	}
	batch, err := db.conn.PrepareBatch(ctx, insertTweets)
	if err != nil {
		return fmt.Errorf("warehouse: prepare insert: %w", err)
	}
	// Column by column: one Append per column instead of one reflective Append per row
	// makes building the block several times cheaper.
	for i, col := range tweetColumns(rows) {
		if err := batch.Column(i).Append(col); err != nil {
			batch.Abort()
			return fmt.Errorf("warehouse: append column %d of %d tweets: %w", i, len(rows), err)
		}
	}
	if err := batch.Send(); err != nil {
		return fmt.Errorf("warehouse: insert %d tweets: %w", len(rows), err)
	}
	return nil
}

// tweetColumns turns rows into one slice per column, in insertTweets' column order.
func tweetColumns(rows []TweetRow) []any {
	n := len(rows)
	u64 := func() []uint64 { return make([]uint64, n) }
	str := func() []string { return make([]string, n) }
	strs := func() [][]string { return make([][]string, n) }
	var (
		id, userID, followers, retweetOf, quoteOf, replyTo = u64(), u64(), u64(), u64(), u64(), u64()
		createdAt                                          = make([]time.Time, n)
		text, lang, screenName, name, format, topic        = str(), str(), str(), str(), str(), str()
		hashtags, mentions, urls, cashtags, words          = strs(), strs(), strs(), strs(), strs()
		edits                                              = make([][]uint64, n)
		sentiment                                          = make([]float32, n)
		label                                              = make([]int8, n)
		partition                                          = make([]int32, n)
		offset                                             = make([]int64, n)
	)
	for i := range rows {
		r := &rows[i]
		id[i], createdAt[i], text[i], lang[i] = r.ID, r.CreatedAt.UTC(), r.Text, r.Lang
		userID[i], screenName[i], name[i], followers[i] = r.UserID, r.UserScreenName, r.UserName, r.UserFollowers
		hashtags[i], mentions[i], urls[i], cashtags[i], words[i] = nonNil(r.Hashtags), nonNil(r.Mentions), nonNil(r.URLs), nonNil(r.Cashtags), nonNil(r.Words)
		retweetOf[i], quoteOf[i], replyTo[i], edits[i] = r.RetweetOf, r.QuoteOf, r.ReplyTo, r.EditHistory
		if edits[i] == nil {
			edits[i] = []uint64{}
		}
		sentiment[i], label[i] = r.Sentiment, r.SentimentLabel
		format[i], topic[i], partition[i], offset[i] = r.SourceFormat, r.KafkaTopic, r.KafkaPartition, r.KafkaOffset
	}
	return []any{id, createdAt, text, lang, userID, screenName, name, followers, hashtags, mentions, urls, cashtags, words,
		retweetOf, quoteOf, replyTo, edits, sentiment, label, format, topic, partition, offset}
}

// RecordOffsets stores loaded offsets explicitly (partition → last offset handled), for
// batches whose last records went to the dead-letter topic and so wrote no tweet rows.
// Offsets only ever rise: LoadedOffsets reads the maximum.
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

// LoadedOffsets returns, per partition of topic, the last offset loaded into the warehouse
// (a consumer resumes at that offset + 1). Partitions never loaded are absent.
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
