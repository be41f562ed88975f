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

// entityKinds are the Enum8 values of the entity kinds.
var entityKinds = map[string]int8{KindPerson: 1, KindPlace: 2, KindOrganisation: 3}

// InsertEntities writes rows in one INSERT.
func (db *DB) InsertEntities(ctx context.Context, rows []EntityRow) error {
	for i := range rows {
		if _, ok := entityKinds[rows[i].Kind]; !ok {
			return fmt.Errorf("%w: entity kind %q", ErrInvalidRow, rows[i].Kind)
		}
	}
	return entitiesTable.write(ctx, db, rows)
}
