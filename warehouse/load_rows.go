package warehouse

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
)

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
	SentimentLabel int8   // LabelNegative, LabelNeutral or LabelPositive
	SentimentModel string // the model that scored it ("linear-v1", "vader")
	SourceFormat   string
	KafkaTopic     string
	KafkaPartition int32
	KafkaOffset    int64
}

// Validate reports why r cannot be stored: a created_at outside the DateTime range
// (1970 to 2106), a sentiment label outside the enum, or no sentiment model.
func (r *TweetRow) Validate() error {
	if sec := r.CreatedAt.Unix(); sec < minDateTime || sec > maxDateTime {
		return fmt.Errorf("%w: created_at %s is outside ClickHouse DateTime's range (1970 to 2106)", ErrInvalidRow, r.CreatedAt.UTC().Format(time.RFC3339))
	}
	if r.SentimentLabel < LabelNegative || r.SentimentLabel > LabelPositive {
		return fmt.Errorf("%w: sentiment label %d is not -1, 0 or 1", ErrInvalidRow, r.SentimentLabel)
	}
	if r.SentimentModel == "" {
		return fmt.Errorf("%w: no sentiment model named", ErrInvalidRow)
	}
	return nil
}

// RecordOffsets stores loaded offsets in loaded_offsets (partition → last offset handled),
// for a reader of the topic that writes no batch marks (the entities group). Offsets only
// ever rise: LoadedOffsets reads the maximum.
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
// (a consumer resumes at that offset + 1): the last committed batch's (Load), or the last
// offset RecordOffsets stored. Partitions never loaded are absent.
func (db *DB) LoadedOffsets(ctx context.Context, topic string) (out map[int32]int64, err error) {
	err = db.synced(ctx, []string{"minute_stats", "loaded_offsets"}, func(ctx context.Context, conn driver.Conn) error {
		rows, err := conn.Query(ctx, `SELECT p, max(o) FROM (
			SELECT partition AS p, max(offset) AS o FROM loaded_offsets WHERE topic = ? GROUP BY p
			UNION ALL SELECT partition AS p, max(last_offset) AS o FROM minute_stats WHERE kind = 'batch' AND minute = ? AND key = ? GROUP BY p
		) GROUP BY p`, topic, markMinute, topic)
		out, err = partitionOffsets(rows, err, "loaded offsets")
		return err
	})
	return out, err
}

// partitionOffsets reads the rows of a query of (partition Int32, offset Int64) pairs into
// a map; what names them in errors.
func partitionOffsets(rows driver.Rows, err error, what string) (map[int32]int64, error) {
	if err != nil {
		return nil, fmt.Errorf("warehouse: read %s: %w", what, err)
	}
	defer rows.Close()
	out := map[int32]int64{}
	for rows.Next() {
		var p int32
		var o int64
		if err := rows.Scan(&p, &o); err != nil {
			return nil, fmt.Errorf("warehouse: scan %s: %w", what, err)
		}
		out[p] = o
	}
	return out, rows.Err()
}
