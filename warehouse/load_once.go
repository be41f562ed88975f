package warehouse

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/ext"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
)

// What makes loading effectively once, beside the loaded offsets: the ETL asks which tweet
// ids the warehouse already holds (tweet_ids) or has withdrawn (tweet_deletions) before it
// inserts a batch, and withdraws tweets by inserting DeletionRows, whose views subtract the
// tweets from every aggregate.

// IDState says what the warehouse knows of a tweet id.
type IDState uint8

// The states, as bits: an id may be both loaded and withdrawn.
const (
	// Loaded: the tweet was loaded (tweet_ids holds its id).
	Loaded IDState = 1 << iota
	// Withdrawn: a tombstone or a newer edit withdrew the tweet (tweet_deletions).
	Withdrawn
)

// idChunk bounds the ids of one IN list of a mutation (which cannot read external tables):
// ClickHouse's default max_query_size is 256 KiB and a 64-bit id takes up to 21 bytes
// written out.
const idChunk = 8000

// inList writes ids as a SQL list, for mutations. The ids are numbers the ETL parsed,
// never text from outside, so writing them into the statement is safe.
func inList(ids []uint64) string {
	var b strings.Builder
	b.Grow(len(ids) * 20)
	b.WriteByte('(')
	for i, id := range ids {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.FormatUint(id, 10))
	}
	b.WriteByte(')')
	return b.String()
}

// chunks calls fn with ids in slices of at most idChunk.
func chunks(ids []uint64, fn func([]uint64) error) error {
	for len(ids) > 0 {
		n := min(len(ids), idChunk)
		if err := fn(ids[:n]); err != nil {
			return err
		}
		ids = ids[n:]
	}
	return nil
}

// idsTable sends ids to ClickHouse as an external table, _ids (id UInt64), that the query
// can read like a table: a literal IN list of thousands of ids costs ClickHouse more to
// parse than to look them up.
func idsTable(ids []uint64) (*ext.Table, error) {
	t, err := ext.NewTable("_ids", ext.Column("id", "UInt64"))
	if err != nil {
		return nil, err
	}
	if _, err := t.Block().Columns[0].Append(ids); err != nil {
		return nil, fmt.Errorf("warehouse: external ids: %w", err)
	}
	return t, nil
}

// Uncommitted names the offsets of a partition, From on, whose rows an attempt may have
// stored without committing them (see Load): lookups do not count them.
type Uncommitted struct {
	Partition int32
	From      int64
}

// LookupIDs returns what the warehouse knows of each of ids; ids it has never seen are
// absent from the map. Rows of the uncommitted offsets, when given, are left out.
func (db *DB) LookupIDs(ctx context.Context, ids []uint64, skip *Uncommitted) (map[uint64]IDState, error) {
	out := make(map[uint64]IDState)
	if len(ids) == 0 {
		return out, nil
	}
	none := Uncommitted{Partition: -1}
	if skip == nil {
		skip = &none
	}
	err := db.synced(ctx, []string{"tweet_ids", "tweet_deletions"}, func(ctx context.Context, conn driver.Conn) error {
		t, err := idsTable(ids)
		if err != nil {
			return err
		}
		rows, err := conn.Query(clickhouse.Context(ctx, clickhouse.WithExternalTable(t)),
			`SELECT id, toUInt8(1) FROM `+db.table("tweet_ids")+` WHERE id IN _ids AND NOT (kafka_partition = ? AND kafka_offset >= ?)
			UNION ALL SELECT id, toUInt8(2) FROM `+db.table("tweet_deletions")+` WHERE id IN _ids AND NOT (kafka_partition = ? AND kafka_offset >= ?)`,
			skip.Partition, skip.From, skip.Partition, skip.From)
		if err != nil {
			return fmt.Errorf("warehouse: look up %d tweet ids: %w", len(ids), err)
		}
		defer rows.Close()
		for rows.Next() {
			var id uint64
			var state uint8
			if err := rows.Scan(&id, &state); err != nil {
				return fmt.Errorf("warehouse: scan tweet ids: %w", err)
			}
			out[id] |= IDState(state)
		}
		return rows.Err()
	})
	return out, err
}

// MaxKnownID is the highest tweet id the warehouse has loaded or withdrawn: a newer id is
// known to neither (snowflake ids grow with time), so a live stream needs no LookupIDs.
func (db *DB) MaxKnownID(ctx context.Context) (uint64, error) {
	var known uint64
	err := db.synced(ctx, []string{"tweet_ids", "tweet_deletions"}, func(ctx context.Context, conn driver.Conn) error {
		var loaded, withdrawn uint64
		if err := conn.QueryRow(ctx, "SELECT max(id) FROM "+db.table("tweet_ids")).Scan(&loaded); err != nil {
			return fmt.Errorf("warehouse: highest loaded id: %w", err)
		}
		if err := conn.QueryRow(ctx, "SELECT max(id) FROM "+db.table("tweet_deletions")).Scan(&withdrawn); err != nil {
			return fmt.Errorf("warehouse: highest withdrawn id: %w", err)
		}
		known = max(known, loaded, withdrawn)
		return nil
	})
	return known, err
}

// DeletionRow is one row of tweet_deletions: a withdrawn tweet. When Retracted, it carries
// the loaded tweet's values (from LoadedTweets), which its views subtract from the
// aggregates; otherwise only ID, UserID, Reason, DeletedAt and the Kafka origin matter.
type DeletionRow struct {
	ID             uint64
	UserID         uint64
	Reason         string
	DeletedAt      time.Time
	Retracted      bool
	CreatedAt      time.Time
	Lang           string
	Hashtags       []string
	Words          []string
	Sentiment      float32
	SentimentLabel int8
	SentimentModel string
	KafkaTopic     string
	KafkaPartition int32
	KafkaOffset    int64
}

// Retraction is the deletion row that withdraws a loaded tweet.
func Retraction(t TweetRow, reason string, at time.Time) DeletionRow {
	return DeletionRow{
		ID: t.ID, UserID: t.UserID, Reason: reason, DeletedAt: at, Retracted: true,
		CreatedAt: t.CreatedAt, Lang: t.Lang, Hashtags: t.Hashtags, Words: t.Words,
		Sentiment: t.Sentiment, SentimentLabel: t.SentimentLabel, SentimentModel: t.SentimentModel,
	}
}

// clampDateTime keeps t inside the range a DateTime column holds.
func clampDateTime(t time.Time) time.Time {
	switch sec := t.Unix(); {
	case sec < minDateTime:
		return time.Unix(minDateTime, 0).UTC()
	case sec > maxDateTime:
		return time.Unix(maxDateTime, 0).UTC()
	}
	return t.UTC()
}

func nonNil(ss []string) []string {
	if ss == nil {
		return []string{}
	}
	return ss
}

// tweetValueColumns are the columns LoadedTweets reads: what a retraction needs, and the
// partition the tweet was loaded from.
const tweetValueColumns = "id, created_at, lang, user_id, hashtags, words, sentiment, sentiment_label, sentiment_model, kafka_partition"

// LoadedTweets returns the rows of tweets with the given ids that the tweets table holds
// (only the columns a retraction needs). A tweet stored twice comes back once.
func (db *DB) LoadedTweets(ctx context.Context, ids []uint64) ([]TweetRow, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	// tweet_ids knows each tweet's created_at, the tweets table's first key column: with it
	// ClickHouse reads the few granules that hold the tweets, not the table.
	var out []TweetRow
	seen := map[uint64]bool{}
	err := db.synced(ctx, []string{"tweets", "tweet_ids"}, func(ctx context.Context, conn driver.Conn) error {
		t, err := idsTable(ids)
		if err != nil {
			return err
		}
		rows, err := conn.Query(clickhouse.Context(ctx, clickhouse.WithExternalTable(t)), "SELECT "+tweetValueColumns+
			" FROM "+db.table("tweets")+" WHERE created_at IN (SELECT created_at FROM "+db.table("tweet_ids")+" WHERE id IN _ids) AND id IN _ids")
		if err != nil {
			return fmt.Errorf("warehouse: read %d tweets: %w", len(ids), err)
		}
		defer rows.Close()
		return scanTweetValues(rows, seen, &out)
	})
	return out, err
}

// TweetsOfUser returns the loaded tweets of an account created up to until (the columns
// a retraction needs), for a tombstone that withdraws them. It scans the table: accounts
// are withdrawn rarely.
func (db *DB) TweetsOfUser(ctx context.Context, userID uint64, until time.Time) ([]TweetRow, error) {
	var out []TweetRow
	seen := map[uint64]bool{}
	err := db.synced(ctx, []string{"tweets"}, func(ctx context.Context, conn driver.Conn) error {
		rows, err := conn.Query(ctx, "SELECT "+tweetValueColumns+" FROM "+db.table("tweets")+" WHERE user_id = ? AND created_at <= ?", userID, clampDateTime(until))
		if err != nil {
			return fmt.Errorf("warehouse: read tweets of user %d: %w", userID, err)
		}
		defer rows.Close()
		return scanTweetValues(rows, seen, &out)
	})
	return out, err
}

type scanner interface {
	Next() bool
	Scan(dest ...any) error
	Err() error
}

func scanTweetValues(rows scanner, seen map[uint64]bool, out *[]TweetRow) error {
	for rows.Next() {
		var r TweetRow
		if err := rows.Scan(&r.ID, &r.CreatedAt, &r.Lang, &r.UserID, &r.Hashtags, &r.Words, &r.Sentiment, &r.SentimentLabel, &r.SentimentModel, &r.KafkaPartition); err != nil {
			return fmt.Errorf("warehouse: scan tweets: %w", err)
		}
		if !seen[r.ID] {
			seen[r.ID] = true
			*out = append(*out, r)
		}
	}
	return rows.Err()
}

// PurgeWithdrawn deletes the rows of withdrawn tweets from tweets and entities. ClickHouse
// applies the deletion in the background (a mutation), so the rows disappear shortly
// after; the aggregates had them subtracted already, by InsertDeletions.
func (db *DB) PurgeWithdrawn(ctx context.Context, ids []uint64) error {
	return chunks(ids, func(ids []uint64) error {
		list := inList(ids)
		return db.synced(ctx, []string{"tweets", "entities"}, func(ctx context.Context, conn driver.Conn) error {
			if err := conn.Exec(ctx, "ALTER TABLE "+db.table("tweets")+" DELETE WHERE id IN "+list); err != nil {
				return fmt.Errorf("warehouse: delete %d withdrawn tweets: %w", len(ids), err)
			}
			if err := conn.Exec(ctx, "ALTER TABLE "+db.table("entities")+" DELETE WHERE tweet_id IN "+list); err != nil {
				return fmt.Errorf("warehouse: delete the entities of %d withdrawn tweets: %w", len(ids), err)
			}
			return nil
		})
	})
}

// UnpurgedWithdrawn counts retracted tweets still stored in tweets: not yet purged (a
// mutation is still running, or a process stopped between retracting and purging).
func (db *DB) UnpurgedWithdrawn(ctx context.Context) (uint64, error) {
	var total uint64
	err := db.synced(ctx, []string{"tweets", "tweet_deletions"}, func(ctx context.Context, conn driver.Conn) error {
		var n uint64
		if err := conn.QueryRow(ctx, "SELECT count() FROM "+db.table("tweets")+" WHERE id IN (SELECT id FROM "+db.table("tweet_deletions")+" WHERE retracted = 1)").Scan(&n); err != nil {
			return fmt.Errorf("warehouse: count unpurged tweets: %w", err)
		}
		total += n
		return nil
	})
	return total, err
}

// PurgeAllWithdrawn deletes from tweets and entities every tweet tweet_deletions retracted,
// for the ETL to run at start when UnpurgedWithdrawn finds some.
func (db *DB) PurgeAllWithdrawn(ctx context.Context) error {
	withdrawn := "(SELECT id FROM " + db.table("tweet_deletions") + " WHERE retracted = 1)"
	return db.synced(ctx, []string{"tweets", "entities", "tweet_deletions"}, func(ctx context.Context, conn driver.Conn) error {
		if err := conn.Exec(ctx, "ALTER TABLE "+db.table("tweets")+" DELETE WHERE id IN "+withdrawn); err != nil {
			return fmt.Errorf("warehouse: purge withdrawn tweets: %w", err)
		}
		if err := conn.Exec(ctx, "ALTER TABLE "+db.table("entities")+" DELETE WHERE tweet_id IN "+withdrawn); err != nil {
			return fmt.Errorf("warehouse: purge the entities of withdrawn tweets: %w", err)
		}
		return nil
	})
}
