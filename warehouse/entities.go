package warehouse

import (
	"context"
	"fmt"
	"time"
)

// Entity kinds as stored in the entities table's Enum8.
const (
	KindPerson       = "person"
	KindPlace        = "place"
	KindOrganisation = "organisation"
)

// EntityRow is one row of the entities table: a person, place or organisation named in a
// sampled tweet.
type EntityRow struct {
	TweetID        uint64
	CreatedAt      time.Time
	Entity         string
	Kind           string // KindPerson, KindPlace or KindOrganisation
	Lang           string
	Sentiment      float32
	SampledEvery   uint32 // how many tweets the sampled tweet stands for
	KafkaPartition int32
	KafkaOffset    int64
}

const insertEntities = `INSERT INTO entities (tweet_id, created_at, entity, kind, lang, sentiment, sampled_every,
	kafka_partition, kafka_offset)`

// InsertEntities writes rows in one INSERT.
func (db *DB) InsertEntities(ctx context.Context, rows []EntityRow) error {
	if len(rows) == 0 {
		return nil
	}
	batch, err := db.conn.PrepareBatch(ctx, insertEntities)
	if err != nil {
		return fmt.Errorf("warehouse: prepare entities: %w", err)
	}
	for i := range rows {
		r := &rows[i]
		switch r.Kind {
		case KindPerson, KindPlace, KindOrganisation:
		default:
			batch.Abort()
			return fmt.Errorf("%w: entity kind %q", ErrInvalidRow, r.Kind)
		}
		if err := batch.Append(r.TweetID, clampDateTime(r.CreatedAt), r.Entity, r.Kind, r.Lang, r.Sentiment, r.SampledEvery,
			r.KafkaPartition, r.KafkaOffset); err != nil {
			batch.Abort()
			return fmt.Errorf("warehouse: append entity: %w", err)
		}
	}
	if err := batch.Send(); err != nil {
		return fmt.Errorf("warehouse: insert %d entities: %w", len(rows), err)
	}
	return nil
}
