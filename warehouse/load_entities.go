package warehouse

import (
	"context"
	"fmt"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
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
	// Hashtags and Words are the tweet's, as its row in tweets holds them (TweetRow's), for
	// the dashboard's hashtag and word filters.
	Hashtags []string
	Words    []string
}

// entityKinds are the Enum8 values of the entity kinds.
var entityKinds = map[string]int8{KindPerson: 1, KindPlace: 2, KindOrganisation: 3}

// StoredEntityOffsets returns which offsets of partition, in [from, to], have entity rows
// stored: after a write that failed, and may have been stored all the same (a reply lost,
// a cancelled INSERT that ClickHouse finished), the writer leaves those rows out.
func (db *DB) StoredEntityOffsets(ctx context.Context, partition int32, from, to int64) (map[int64]bool, error) {
	out := map[int64]bool{}
	err := db.synced(ctx, []string{"entities"}, func(ctx context.Context, conn driver.Conn) error {
		rows, err := conn.Query(ctx, "SELECT DISTINCT kafka_offset FROM "+db.table("entities")+" WHERE kafka_partition = ? AND kafka_offset >= ? AND kafka_offset <= ?", partition, from, to)
		if err != nil {
			return fmt.Errorf("warehouse: stored entity offsets: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			var o int64
			if err := rows.Scan(&o); err != nil {
				return fmt.Errorf("warehouse: scan stored entity offsets: %w", err)
			}
			out[o] = true
		}
		return rows.Err()
	})
	return out, err
}

// EntityExtent returns, per partition, the highest offset with entity rows stored. A reader
// that finds it past its recorded progress resumes after it: the rows of a write whose
// progress was never recorded are there already. (The entities table holds the entities of
// one topic.)
func (db *DB) EntityExtent(ctx context.Context) (map[int32]int64, error) {
	out := map[int32]int64{}
	err := db.synced(ctx, []string{"entities"}, func(ctx context.Context, conn driver.Conn) error {
		rows, err := conn.Query(ctx, "SELECT kafka_partition, max(kafka_offset) FROM "+db.table("entities")+" GROUP BY kafka_partition")
		shard, err := partitionOffsets(rows, err, "entity extent")
		mergeMax(out, shard)
		return err
	})
	return out, err
}

// InsertEntities writes rows in one INSERT.
func (db *DB) InsertEntities(ctx context.Context, rows []EntityRow) error {
	for i := range rows {
		if _, ok := entityKinds[rows[i].Kind]; !ok {
			return fmt.Errorf("%w: entity kind %q", ErrInvalidRow, rows[i].Kind)
		}
	}
	return entitiesTable.write(ctx, db, rows)
}
