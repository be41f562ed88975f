package warehouse

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/ClickHouse/ch-go/proto"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/starling-analytics/starling/warehouse/internal/chnative"
)

// The tables the ETL writes, each defined once: its columns' names and ClickHouse types, in
// the order of its INSERT, and how each column's values come from the Go rows. The INSERT
// statement and the block it sends are both built from the definition, so they cannot fall
// out of step; a test compares every definition with the migrated schema (system.columns).

// column is one column of a table the warehouse writes rows of type R into.
type column[R any] struct {
	name, typ string
	appendTo  func(bc driver.BatchColumn, rows []R) error // the column's values, one per row
	kept      func() keptColumn[R]                        // a new column for the native writer
}

// keptColumn is a column of the native writer (chnative), kept from one INSERT to the next:
// fill resets it and appends the rows' values into the memory it already has; reset
// empties it (and lets go of the rows' strings) once the INSERT is done.
type keptColumn[R any] struct {
	data  proto.ColInput
	fill  func(rows []R)
	reset func()
}

// appendable is a ch-go column of values of type V.
type appendable[V any] interface {
	proto.ColInput
	Reset()
	Append(v V)
}

// newAppendable returns the ch-go column for values of type V, and a function that makes
// room in it for n rows (of the values' fixed part: an array's offset). Strings are held
// by reference (chnative.StrRefs): the rows outlive the INSERT.
func newAppendable[V any]() (appendable[V], func(n int)) {
	var c any
	var reserve func(n int)
	switch any(*new(V)).(type) {
	case uint64:
		c, reserve = fixed[proto.ColUInt64]()
	case int64:
		c, reserve = fixed[proto.ColInt64]()
	case int32:
		c, reserve = fixed[proto.ColInt32]()
	case uint32:
		c, reserve = fixed[proto.ColUInt32]()
	case uint8:
		c, reserve = fixed[proto.ColUInt8]()
	case int8:
		c, reserve = fixed[proto.ColInt8]()
	case float32:
		c, reserve = fixed[proto.ColFloat32]()
	case float64:
		c, reserve = fixed[proto.ColFloat64]()
	case string:
		c, reserve = fixed[chnative.StrRefs]()
	case time.Time:
		d := new(proto.ColDateTime)
		c, reserve = d, func(n int) { d.Data = slices.Grow(d.Data[:0], n) }
	case []string:
		c, reserve = fixed[chnative.StrArrRefs]()
	case []uint64:
		a := proto.NewArray[uint64](new(proto.ColUInt64))
		c, reserve = a, func(n int) { a.Offsets = slices.Grow(a.Offsets[:0], n) }
	default:
		panic(fmt.Sprintf("warehouse: no column for values of type %T", *new(V)))
	}
	return c.(appendable[V]), reserve
}

// fixed returns a column that is a slice of its values, and its reserve.
func fixed[C ~[]E, E any]() (*C, func(n int)) {
	c := new(C)
	return c, func(n int) { *c = slices.Grow((*c)[:0], n) }
}

// col defines a column whose value is get(row) for every row.
func col[R, V any](name, typ string, get func(r *R) V) column[R] {
	newAppendable[V]() // a type without a column fails at start, not at the first INSERT
	kept := func() keptColumn[R] {
		c, reserve := newAppendable[V]()
		return keptColumn[R]{data: c, reset: c.Reset, fill: func(rows []R) {
			c.Reset()
			reserve(len(rows))
			for i := range rows {
				c.Append(get(&rows[i]))
			}
		}}
	}
	return column[R]{name: name, typ: typ, kept: kept, appendTo: func(bc driver.BatchColumn, rows []R) error {
		vals := make([]V, len(rows))
		for i := range rows {
			vals[i] = get(&rows[i])
		}
		// clickhouse-go appends a slice of arrays through reflection, row by row; a typed
		// row at a time takes its plain path, several times faster.
		if arrays, ok := any(vals).([][]string); ok {
			for _, a := range arrays {
				if err := bc.AppendRow(a); err != nil {
					return err
				}
			}
			return nil
		}
		return bc.Append(vals)
	}}
}

// table is a table the warehouse writes, with the columns it sets (the others take their
// defaults).
type table[R any] struct {
	name    string
	columns []column[R]
}

// insert is the INSERT statement of the table's columns: ClickHouse 18.16's native batch
// protocol needs the explicit list.
func (t *table[R]) insert() string {
	names := make([]string, len(t.columns))
	for i, c := range t.columns {
		names[i] = c.name
	}
	return "INSERT INTO " + t.name + " (" + strings.Join(names, ", ") + ")"
}

// write sends rows in one INSERT of one block: through the native writer, or through
// clickhouse-go where the native writer does not serve (a cluster) or was turned off.
func (t *table[R]) write(ctx context.Context, db *DB, rows []R) error {
	if len(rows) == 0 {
		return nil
	}
	if w := db.native; w != nil && w.on() {
		err := t.writeNative(ctx, w, rows)
		if !errors.Is(err, chnative.ErrProtocol) {
			return err
		}
		w.off(err)
		// Rows that may have been stored are not sent again here: the caller's retry
		// looks for them first (Load's careful batches).
		if !errors.Is(err, chnative.ErrUnsent) {
			return err
		}
	}
	batch, err := db.conn.PrepareBatch(ctx, t.insert())
	if err != nil {
		return fmt.Errorf("warehouse: prepare insert into %s: %w", t.name, err)
	}
	// Column by column: one Append per column instead of one reflective Append per row
	// makes building the block several times cheaper.
	for i, c := range t.columns {
		if err := c.appendTo(batch.Column(i), rows); err != nil {
			batch.Abort()
			return fmt.Errorf("warehouse: append %s.%s for %d rows: %w", t.name, c.name, len(rows), err)
		}
	}
	if err := batch.Send(); err != nil {
		return fmt.Errorf("warehouse: insert %d rows into %s: %w", len(rows), t.name, err)
	}
	return nil
}

// block is a table's columns for the native writer, kept between INSERTs.
type block[R any] struct {
	cols []keptColumn[R]
	out  chnative.Block
	peak int // the most rows it has held: its memory is sized for them
}

// oversized reports whether a block sized for peak rows is too big to keep after an INSERT
// of rows: after a backlog's large INSERTs, a steady stream's small ones would otherwise
// keep the large ones' memory for good.
func oversized(peak, rows int) bool { return peak > 1<<16 && rows < peak/4 }

func (t *table[R]) newBlock() *block[R] {
	b := &block[R]{}
	for _, c := range t.columns {
		k := c.kept()
		b.cols = append(b.cols, k)
		b.out.Columns = append(b.out.Columns, chnative.Column{Name: c.name, Type: c.typ, Data: k.data})
	}
	return b
}

// writeNative sends rows in one INSERT through the native writer, in a block of the
// table's kept from an earlier INSERT when one is free.
func (t *table[R]) writeNative(ctx context.Context, w *nativeWriter, rows []R) error {
	b, _ := w.takeBlock(t.name).(*block[R])
	if b == nil {
		b = t.newBlock()
	}
	b.peak = max(b.peak, len(rows))
	defer func() {
		for _, c := range b.cols {
			c.reset()
		}
		if !oversized(b.peak, len(rows)) {
			w.putBlock(t.name, b)
		}
	}()
	for _, c := range b.cols {
		c.fill(rows)
	}
	for attempt := 0; ; attempt++ {
		conn, reused, err := w.conn(ctx)
		if err != nil {
			return fmt.Errorf("warehouse: insert into %s: %w", t.name, err)
		}
		err = conn.Insert(ctx, t.name, &b.out)
		w.putConn(conn)
		// A kept connection the server closed (it restarted, or timed it out) fails before
		// any row is sent: the INSERT goes again on a new one, and the other kept ones,
		// likely closed alike, are dropped.
		if err != nil && reused && attempt == 0 && errors.Is(err, chnative.ErrUnsent) && ctx.Err() == nil {
			w.dropIdle()
			continue
		}
		if err != nil {
			return fmt.Errorf("warehouse: insert %d rows into %s: %w", len(rows), t.name, err)
		}
		return nil
	}
}

// schema lists the column names and types of a table definition, for the schema test.
func (t *table[R]) schema() (string, [][2]string) {
	out := make([][2]string, len(t.columns))
	for i, c := range t.columns {
		out[i] = [2]string{c.name, c.typ}
	}
	return t.name, out
}

const (
	labelEnum = "Enum8('negative' = -1, 'neutral' = 0, 'positive' = 1)"
	kindEnum  = "Enum8('hashtag' = 1, 'word' = 2, 'sentiment' = 3, 'batch' = 4)"
)

// tweetsTable: one row per tweet.
var tweetsTable = &table[TweetRow]{name: "tweets", columns: []column[TweetRow]{
	col("id", "UInt64", func(r *TweetRow) uint64 { return r.ID }),
	col("created_at", "DateTime", func(r *TweetRow) time.Time { return r.CreatedAt.UTC() }),
	col("text", "String", func(r *TweetRow) string { return r.Text }),
	col("lang", "String", func(r *TweetRow) string { return r.Lang }),
	col("user_id", "UInt64", func(r *TweetRow) uint64 { return r.UserID }),
	col("user_screen_name", "String", func(r *TweetRow) string { return r.UserScreenName }),
	col("user_name", "String", func(r *TweetRow) string { return r.UserName }),
	col("user_followers", "UInt64", func(r *TweetRow) uint64 { return r.UserFollowers }),
	col("hashtags", "Array(String)", func(r *TweetRow) []string { return nonNil(r.Hashtags) }),
	col("mentions", "Array(String)", func(r *TweetRow) []string { return nonNil(r.Mentions) }),
	col("urls", "Array(String)", func(r *TweetRow) []string { return nonNil(r.URLs) }),
	col("cashtags", "Array(String)", func(r *TweetRow) []string { return nonNil(r.Cashtags) }),
	col("words", "Array(String)", func(r *TweetRow) []string { return nonNil(r.Words) }),
	col("retweet_of", "UInt64", func(r *TweetRow) uint64 { return r.RetweetOf }),
	col("quote_of", "UInt64", func(r *TweetRow) uint64 { return r.QuoteOf }),
	col("reply_to", "UInt64", func(r *TweetRow) uint64 { return r.ReplyTo }),
	col("edit_history", "Array(UInt64)", func(r *TweetRow) []uint64 {
		if r.EditHistory == nil {
			return []uint64{}
		}
		return r.EditHistory
	}),
	col("sentiment", "Float32", func(r *TweetRow) float32 { return r.Sentiment }),
	col("sentiment_label", labelEnum, func(r *TweetRow) int8 { return r.SentimentLabel }),
	col("source_format", "String", func(r *TweetRow) string { return r.SourceFormat }),
	col("kafka_topic", "String", func(r *TweetRow) string { return r.KafkaTopic }),
	col("kafka_partition", "Int32", func(r *TweetRow) int32 { return r.KafkaPartition }),
	col("kafka_offset", "Int64", func(r *TweetRow) int64 { return r.KafkaOffset }),
	col("sentiment_model", "String", func(r *TweetRow) string { return r.SentimentModel }),
}}

// tweetIDsTable: every loaded tweet id, ordered by id, for the duplicate check.
var tweetIDsTable = &table[TweetRow]{name: "tweet_ids", columns: []column[TweetRow]{
	col("id", "UInt64", func(r *TweetRow) uint64 { return r.ID }),
	col("created_at", "DateTime", func(r *TweetRow) time.Time { return r.CreatedAt.UTC() }),
	col("kafka_partition", "Int32", func(r *TweetRow) int32 { return r.KafkaPartition }),
	col("kafka_offset", "Int64", func(r *TweetRow) int64 { return r.KafkaOffset }),
}}

// deletionsTable: one row per withdrawn tweet.
var deletionsTable = &table[DeletionRow]{name: "tweet_deletions", columns: []column[DeletionRow]{
	col("id", "UInt64", func(r *DeletionRow) uint64 { return r.ID }),
	col("user_id", "UInt64", func(r *DeletionRow) uint64 { return r.UserID }),
	col("reason", "String", func(r *DeletionRow) string { return r.Reason }),
	col("deleted_at", "DateTime", func(r *DeletionRow) time.Time { return clampDateTime(r.DeletedAt) }),
	col("retracted", "UInt8", func(r *DeletionRow) uint8 {
		if r.Retracted {
			return 1
		}
		return 0
	}),
	col("created_at", "DateTime", func(r *DeletionRow) time.Time { return clampDateTime(r.CreatedAt) }),
	col("lang", "String", func(r *DeletionRow) string { return r.Lang }),
	col("hashtags", "Array(String)", func(r *DeletionRow) []string { return nonNil(r.Hashtags) }),
	col("words", "Array(String)", func(r *DeletionRow) []string { return nonNil(r.Words) }),
	col("sentiment", "Float32", func(r *DeletionRow) float32 { return r.Sentiment }),
	col("sentiment_label", labelEnum, func(r *DeletionRow) int8 { return r.SentimentLabel }),
	col("kafka_topic", "String", func(r *DeletionRow) string { return r.KafkaTopic }),
	col("kafka_partition", "Int32", func(r *DeletionRow) int32 { return r.KafkaPartition }),
	col("kafka_offset", "Int64", func(r *DeletionRow) int64 { return r.KafkaOffset }),
	col("sentiment_model", "String", func(r *DeletionRow) string { return r.SentimentModel }),
}}

// statsTable: the per-minute aggregates and the batch marks (load.go).
var statsTable = &table[statRow]{name: "minute_stats", columns: []column[statRow]{
	col("kind", kindEnum, func(r *statRow) int8 { return r.kind }),
	col("minute", "DateTime", func(r *statRow) time.Time { return r.minute }),
	col("key", "String", func(r *statRow) string { return r.key }),
	col("label", labelEnum, func(r *statRow) int8 { return r.label }),
	col("partition", "Int32", func(r *statRow) int32 { return r.partition }),
	col("first_offset", "Int64", func(r *statRow) int64 { return r.first }),
	col("last_offset", "Int64", func(r *statRow) int64 { return r.last }),
	col("tweets", "Int64", func(r *statRow) int64 { return r.tweets }),
	col("sentiment_sum", "Float64", func(r *statRow) float64 { return r.sentimentSum }),
	col("model", "String", func(r *statRow) string { return r.model }),
}}

// entitiesTable: people, places and organisations the entities group found.
var entitiesTable = &table[EntityRow]{name: "entities", columns: []column[EntityRow]{
	col("tweet_id", "UInt64", func(r *EntityRow) uint64 { return r.TweetID }),
	col("created_at", "DateTime", func(r *EntityRow) time.Time { return clampDateTime(r.CreatedAt) }),
	col("entity", "String", func(r *EntityRow) string { return r.Entity }),
	col("kind", "Enum8('person' = 1, 'place' = 2, 'organisation' = 3)", func(r *EntityRow) int8 { return entityKinds[r.Kind] }),
	col("lang", "String", func(r *EntityRow) string { return r.Lang }),
	col("sentiment", "Float32", func(r *EntityRow) float32 { return r.Sentiment }),
	col("sampled_every", "UInt32", func(r *EntityRow) uint32 { return r.SampledEvery }),
	col("kafka_partition", "Int32", func(r *EntityRow) int32 { return r.KafkaPartition }),
	col("kafka_offset", "Int64", func(r *EntityRow) int64 { return r.KafkaOffset }),
	col("hashtags", "Array(String)", func(r *EntityRow) []string { return nonNil(r.Hashtags) }),
	col("words", "Array(String)", func(r *EntityRow) []string { return nonNil(r.Words) }),
	col("with_terms", "UInt8", func(r *EntityRow) uint8 { return 1 }),
}}

// WrittenColumns are the columns the warehouse writes into table (tweets, tweet_ids,
// tweet_deletions, minute_stats, entities), in INSERT order, for tools that move the same
// rows another way (starling bench etl times clickhouse-client inserting them).
func WrittenColumns(table string) []string {
	var names []string
	add := func(n string) { names = append(names, n) }
	switch table {
	case tweetsTable.name:
		forEachName(tweetsTable, add)
	case tweetIDsTable.name:
		forEachName(tweetIDsTable, add)
	case deletionsTable.name:
		forEachName(deletionsTable, add)
	case statsTable.name:
		forEachName(statsTable, add)
	case entitiesTable.name:
		forEachName(entitiesTable, add)
	}
	return names
}

func forEachName[R any](t *table[R], fn func(string)) {
	for _, c := range t.columns {
		fn(c.name)
	}
}
