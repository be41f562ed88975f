package warehouse

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
)

// Scores of another model beside the ETL's, written by `starling rescore`, exactly once,
// the way Load writes the ETL's batches: a batch (records First..Last of one partition,
// read again from the tweet topic) writes its tweets' scores into tweet_scores, then
// commits with one INSERT into score_minute of its per-minute aggregates and its mark.
// A batch counts once its mark is in. Scores stored by an attempt that did not commit are
// found again by the next attempt (LoadScores looks before it inserts), which counts them
// without storing them twice; a record inside a committed batch is never read again
// (ScoreMarks).

// ScoreRow is one model's score of a stored tweet.
type ScoreRow struct {
	ID             uint64
	CreatedAt      time.Time
	Lang           string
	Sentiment      float32
	SentimentLabel int8
	KafkaTopic     string
	KafkaPartition int32
	KafkaOffset    int64
}

// ScoreBatch is the scores of one batch of records of one partition.
type ScoreBatch struct {
	Model       string
	Topic       string
	Partition   int32
	First, Last int64 // the batch's offsets, both included
	Scores      []ScoreRow
}

// OffsetRange is a committed batch's offsets, both included.
type OffsetRange struct{ First, Last int64 }

// tweetScoresTable: one row per tweet and model other than the ETL's.
var tweetScoresTable = &table[scoreRow]{name: "tweet_scores", columns: []column[scoreRow]{
	col("model", "String", func(r *scoreRow) string { return r.model }),
	col("id", "UInt64", func(r *scoreRow) uint64 { return r.ID }),
	col("created_at", "DateTime", func(r *scoreRow) time.Time { return clampDateTime(r.CreatedAt) }),
	col("lang", "String", func(r *scoreRow) string { return r.Lang }),
	col("sentiment", "Float32", func(r *scoreRow) float32 { return r.Sentiment }),
	col("sentiment_label", labelEnum, func(r *scoreRow) int8 { return r.SentimentLabel }),
	col("kafka_topic", "String", func(r *scoreRow) string { return r.KafkaTopic }),
	col("kafka_partition", "Int32", func(r *scoreRow) int32 { return r.KafkaPartition }),
	col("kafka_offset", "Int64", func(r *scoreRow) int64 { return r.KafkaOffset }),
}}

// scoreRow is a ScoreRow with its model, as tweet_scores holds it.
type scoreRow struct {
	ScoreRow
	model string
}

const scoreKindEnum = "Enum8('sentiment' = 3, 'batch' = 4)"

// scoreMinuteTable: the per-minute aggregates of the rescored models and their marks.
var scoreMinuteTable = &table[statRow]{name: "score_minute", columns: []column[statRow]{
	col("kind", scoreKindEnum, func(r *statRow) int8 { return r.kind }),
	col("model", "String", func(r *statRow) string { return r.model }),
	col("minute", "DateTime", func(r *statRow) time.Time { return r.minute }),
	col("key", "String", func(r *statRow) string { return r.key }),
	col("label", labelEnum, func(r *statRow) int8 { return r.label }),
	col("partition", "Int32", func(r *statRow) int32 { return r.partition }),
	col("first_offset", "Int64", func(r *statRow) int64 { return r.first }),
	col("last_offset", "Int64", func(r *statRow) int64 { return r.last }),
	col("tweets", "Int64", func(r *statRow) int64 { return r.tweets }),
	col("sentiment_sum", "Float64", func(r *statRow) float64 { return r.sentimentSum }),
}}

// LoadScores writes a batch of scores exactly once (see above). A failed LoadScores may
// have stored scores or not, and may have committed: ask ScoreMarks before trying again.
func (db *DB) LoadScores(ctx context.Context, b ScoreBatch) error {
	if b.Model == "" {
		return fmt.Errorf("%w: a score batch names no model", ErrInvalidRow)
	}
	stored, err := db.storedScores(ctx, b)
	if err != nil {
		return err
	}
	rows := make([]scoreRow, 0, len(b.Scores))
	type group struct {
		minute int64
		label  int8
		lang   string
	}
	sums := map[group]*statRow{}
	for _, s := range b.Scores {
		if s.SentimentLabel < LabelNegative || s.SentimentLabel > LabelPositive {
			return fmt.Errorf("%w: tweet %d: sentiment label %d is not -1, 0 or 1", ErrInvalidRow, s.ID, s.SentimentLabel)
		}
		if !stored[s.KafkaOffset] {
			rows = append(rows, scoreRow{ScoreRow: s, model: b.Model})
		}
		at := clampDateTime(s.CreatedAt)
		g := group{at.Unix() - at.Unix()%60, s.SentimentLabel, s.Lang}
		r := sums[g]
		if r == nil {
			r = &statRow{kind: statSentiment, model: b.Model, minute: time.Unix(g.minute, 0).UTC(), key: g.lang, label: g.label}
			sums[g] = r
		}
		r.tweets++
		r.sentimentSum += float64(s.Sentiment)
	}
	if err := tweetScoresTable.write(ctx, db, rows); err != nil {
		return err
	}
	commit := make([]statRow, 0, len(sums)+1)
	for _, r := range sums {
		commit = append(commit, *r)
	}
	commit = append(commit, statRow{kind: statBatch, model: b.Model, minute: markMinute, key: b.Topic, partition: b.Partition, first: b.First, last: b.Last, tweets: markTweets})
	return scoreMinuteTable.write(ctx, db, commit)
}

// storedScores returns the offsets of b's scores that tweet_scores holds already.
func (db *DB) storedScores(ctx context.Context, b ScoreBatch) (map[int64]bool, error) {
	out := map[int64]bool{}
	if len(b.Scores) == 0 {
		return out, nil
	}
	ids, from, to := idsAndSpan(b.Scores, func(s *ScoreRow) (uint64, time.Time) { return s.ID, s.CreatedAt })
	err := db.synced(ctx, []string{"tweet_scores"}, func(ctx context.Context, conn driver.Conn) error {
		t, err := idsTable(ids)
		if err != nil {
			return err
		}
		rows, err := conn.Query(clickhouse.Context(ctx, clickhouse.WithExternalTable(t)),
			"SELECT kafka_offset FROM "+db.table("tweet_scores")+" WHERE model = ? AND created_at >= ? AND created_at <= ? AND id IN _ids AND kafka_topic = ? AND kafka_partition = ? AND kafka_offset >= ? AND kafka_offset <= ?",
			b.Model, clampDateTime(from), clampDateTime(to), b.Topic, b.Partition, b.First, b.Last)
		if err != nil {
			return fmt.Errorf("warehouse: find stored scores: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			var off int64
			if err := rows.Scan(&off); err != nil {
				return err
			}
			out[off] = true
		}
		return rows.Err()
	})
	return out, err
}

// ScoreMarks returns the committed batches of model's scores of topic, per partition, in
// offset order.
func (db *DB) ScoreMarks(ctx context.Context, model, topic string) (map[int32][]OffsetRange, error) {
	out := map[int32][]OffsetRange{}
	err := db.synced(ctx, []string{"score_minute"}, func(ctx context.Context, conn driver.Conn) error {
		rows, err := conn.Query(ctx, "SELECT DISTINCT partition, first_offset, last_offset FROM score_minute WHERE kind = 'batch' AND model = ? AND minute = ? AND key = ?",
			model, markMinute, topic)
		if err != nil {
			return fmt.Errorf("warehouse: read the marks of model %s: %w", model, err)
		}
		defer rows.Close()
		for rows.Next() {
			var p int32
			var r OffsetRange
			if err := rows.Scan(&p, &r.First, &r.Last); err != nil {
				return err
			}
			out[p] = append(out[p], r)
		}
		return rows.Err()
	})
	for _, rs := range out {
		sort.Slice(rs, func(i, j int) bool { return rs[i].First < rs[j].First })
	}
	return out, err
}

// StoredTweet is where a tweet the warehouse holds was loaded from, and which model the ETL
// scored it with, and how.
type StoredTweet struct {
	KafkaPartition int32
	KafkaOffset    int64
	SentimentModel string
	Sentiment      float32 // the compound score SentimentModel gave it
}

// StoredTweets returns, of the tweets of rows (read from topic), those the tweets table
// holds, by id, with the record each was loaded from. A tweet withdrawn and purged is
// absent.
func (db *DB) StoredTweets(ctx context.Context, topic string, rows []TweetRow) (map[uint64]StoredTweet, error) {
	out := map[uint64]StoredTweet{}
	if len(rows) == 0 {
		return out, nil
	}
	ids, from, to := idsAndSpan(rows, func(t *TweetRow) (uint64, time.Time) { return t.ID, t.CreatedAt })
	err := db.synced(ctx, []string{"tweets"}, func(ctx context.Context, conn driver.Conn) error {
		t, err := idsTable(ids)
		if err != nil {
			return err
		}
		found, err := conn.Query(clickhouse.Context(ctx, clickhouse.WithExternalTable(t)),
			"SELECT id, kafka_partition, kafka_offset, sentiment_model, sentiment FROM "+db.table("tweets")+" WHERE created_at >= ? AND created_at <= ? AND id IN _ids AND kafka_topic = ?",
			clampDateTime(from), clampDateTime(to), topic)
		if err != nil {
			return fmt.Errorf("warehouse: look up %d stored tweets: %w", len(ids), err)
		}
		defer found.Close()
		for found.Next() {
			var id uint64
			var s StoredTweet
			if err := found.Scan(&id, &s.KafkaPartition, &s.KafkaOffset, &s.SentimentModel, &s.Sentiment); err != nil {
				return err
			}
			out[id] = s
		}
		return found.Err()
	})
	return out, err
}
