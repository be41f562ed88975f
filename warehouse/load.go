package warehouse

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"golang.org/x/sync/errgroup"
)

// Loading a batch exactly once, with no transactions in ClickHouse.
//
// A batch is the records First..Last of one partition of the tweet topic. Load writes it in
// two steps:
//
//  1. its rows, in three INSERTs at once: the tweets it adds (tweets), their ids (tweet_ids,
//     for the duplicate check) and the tweets it withdraws (tweet_deletions);
//  2. its commit, one INSERT into minute_stats: the per-minute aggregates of what it added
//     and withdrew, computed here, and its mark (kind 'batch': topic, partition, First,
//     Last). minute_stats is not partitioned, so the INSERT makes one part, which
//     ClickHouse stores whole or not at all, whatever dies when.
//
// A batch counts once its mark is in: the partition's next batch starts after its highest
// mark, and the aggregates, the only thing that adds up, are written only with a mark.
// The rows of step 1 may be stored by an attempt that never commits (ClickHouse killed
// mid-INSERT, a lost reply, a killed ETL, a rebalance); such rows lie past the partition's
// last mark, and whoever loads those offsets next passes careful: Load then leaves out the
// rows already stored (a row is known by its partition and offset), and LookupIDs, told of
// the uncommitted offsets, does not take them for tweets loaded before. So every record's
// rows are stored once and its counts added once.
//
// Several partitions' batches ready at once share each INSERT: one commit carries all
// their marks, so they commit together or not at all.

// LoadBatch is what one batch adds and withdraws.
type LoadBatch struct {
	Topic       string
	Partition   int32
	First, Last int64         // the batch's offsets, both included
	Tweets      []TweetRow    // tweets to add
	Deletions   []DeletionRow // tweets to withdraw; retracted ones carry the loaded tweet's values
	// Careful says that some of the batch's rows may be stored already, by an attempt
	// that did not commit: Load leaves those out.
	Careful bool
}

// Kinds of minute_stats rows (its Enum8).
const (
	statHashtag   int8 = 1
	statWord      int8 = 2
	statSentiment int8 = 3
	statBatch     int8 = 4
)

// markTweets is the tweets column of a batch mark: not 0, because SummingMergeTree deletes
// the rows whose sums are all zero when it merges parts.
const markTweets = 1

// markMinute is the minute of batch marks: the epoch, out of every window of data, and one
// range of the primary key for the marks of a topic and partition.
var markMinute = time.Unix(0, 0).UTC()

// statRow is one row of minute_stats: an aggregate (a hashtag, a word, or a sentiment label
// and language in a minute) or a batch mark.
type statRow struct {
	kind         int8
	minute       time.Time
	key          string // the hashtag, the word, the language, or a mark's topic
	label        int8   // the sentiment label (sentiment rows)
	partition    int32  // a mark's partition; -1 for aggregates copied from schema version 2
	first, last  int64  // a mark's offsets
	tweets       int64
	sentimentSum float64
	model        string // the sentiment model of sentiment rows; "" for the others
}

// Load writes batches exactly once (see above). A failed Load may have stored rows or not;
// if it committed, BatchCommitted says so, and if not, load the batch again with Careful.
// Every row is validated first: an invalid row fails the call with ErrInvalidRow and nothing
// is sent.
func (db *DB) Load(ctx context.Context, batches []LoadBatch) error {
	for _, b := range batches {
		for i := range b.Tweets {
			if err := b.Tweets[i].Validate(); err != nil {
				return fmt.Errorf("partition %d: row %d (tweet %d): %w", b.Partition, i, b.Tweets[i].ID, err)
			}
		}
	}
	stats := aggregate(batches)
	var rows, ids []TweetRow
	var dels []DeletionRow
	careful := false
	tweets := 0
	for _, b := range batches {
		careful = careful || b.Careful
		tweets += len(b.Tweets)
	}
	switch {
	case len(batches) == 1 && !careful:
		rows, ids, dels = batches[0].Tweets, batches[0].Tweets, batches[0].Deletions // no copy
	case !careful:
		// Every batch whole: tweets and tweet_ids take the same rows, copied once.
		rows = make([]TweetRow, 0, tweets)
		for _, b := range batches {
			rows, dels = append(rows, b.Tweets...), append(dels, b.Deletions...)
		}
		ids = rows
	default:
		for _, b := range batches {
			if !b.Careful {
				rows, ids, dels = append(rows, b.Tweets...), append(ids, b.Tweets...), append(dels, b.Deletions...)
				continue
			}
			r, i, d, err := db.unstored(ctx, b)
			if err != nil {
				return err
			}
			rows, ids, dels = append(rows, r...), append(ids, i...), append(dels, d...)
		}
	}
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return tweetsTable.write(gctx, db, rows) })
	g.Go(func() error { return tweetIDsTable.write(gctx, db, ids) })
	g.Go(func() error { return deletionsTable.write(gctx, db, dels) })
	if err := g.Wait(); err != nil {
		return err
	}
	return statsTable.write(ctx, db, stats)
}

// aggregate computes the minute_stats rows of batches: what their tweets add and their
// retractions take away, per minute and hashtag, word, and sentiment label and language,
// then a mark for each batch. They are the sums the per-minute views of schema version 2
// computed in ClickHouse.
func aggregate(batches []LoadBatch) []statRow {
	// Keyed in two levels: the kind, minute and label of a tweet's rows once per tweet, then
	// each hashtag, word or language by its string alone, which Go hashes far faster than
	// a struct holding it.
	type group struct {
		kind   int8
		minute int64
		label  int8
		model  string // sentiment rows only
	}
	type sums struct {
		tweets int64
		sum    float64
	}
	acc := map[group]map[string]*sums{}
	var slab []sums // the sums, allocated in chunks
	// A minute's hashtags and words are about as many as the last minute's: their maps
	// start at that size instead of growing, and rehashing, from empty.
	var hint [statBatch + 1]int
	terms := func(g group) map[string]*sums {
		m := acc[g]
		if m == nil {
			m = make(map[string]*sums, hint[g.kind])
			acc[g] = m
		}
		return m
	}
	add := func(m map[string]*sums, key string, sign int64, sentiment float32) {
		s := m[key]
		if s == nil {
			if len(slab) == cap(slab) {
				slab = make([]sums, 0, 4096)
			}
			slab = append(slab, sums{})
			s = &slab[len(slab)-1]
			m[key] = s
		}
		s.tweets += sign
		s.sum += float64(sign) * float64(sentiment)
	}
	var lastMinute int64 = -1
	var hashtags, words map[string]*sums
	// The minute's sentiment maps by label (-1, 0, 1), for one model: a tweet's group is
	// then found without hashing it.
	var byLabel [3]map[string]*sums
	var labelModel string
	count := func(sign int64, createdAt time.Time, hs, ws []string, lang string, label int8, sentiment float32, model string) {
		m := createdAt.Unix() - createdAt.Unix()%60
		if m != lastMinute { // tweets come mostly in time order: a minute's maps are reused
			if words != nil {
				hint[statHashtag], hint[statWord] = len(hashtags), len(words)
			}
			lastMinute, hashtags, words = m, terms(group{statHashtag, m, 0, ""}), terms(group{statWord, m, 0, ""})
			byLabel = [3]map[string]*sums{}
		}
		for _, h := range hs {
			add(hashtags, h, sign, sentiment)
		}
		for _, w := range ws {
			add(words, w, sign, sentiment)
		}
		if label < -1 || label > 1 {
			add(terms(group{statSentiment, m, label, model}), lang, sign, sentiment)
			return
		}
		if model != labelModel {
			byLabel, labelModel = [3]map[string]*sums{}, model
		}
		sm := byLabel[label+1]
		if sm == nil {
			sm = terms(group{statSentiment, m, label, model})
			byLabel[label+1] = sm
		}
		add(sm, lang, sign, sentiment)
	}
	for _, b := range batches {
		for i := range b.Tweets {
			t := &b.Tweets[i]
			count(1, t.CreatedAt.UTC(), t.Hashtags, t.Words, t.Lang, t.SentimentLabel, t.Sentiment, t.SentimentModel)
		}
		for i := range b.Deletions {
			d := &b.Deletions[i]
			if d.Retracted {
				count(-1, clampDateTime(d.CreatedAt), d.Hashtags, d.Words, d.Lang, d.SentimentLabel, d.Sentiment, d.SentimentModel)
			}
		}
	}
	n := len(batches)
	for _, m := range acc {
		n += len(m)
	}
	out := make([]statRow, 0, n)
	for g, m := range acc {
		minute := time.Unix(g.minute, 0).UTC()
		for key, s := range m {
			if s.tweets == 0 && s.sum == 0 {
				continue // added and withdrawn in the same batch
			}
			out = append(out, statRow{kind: g.kind, minute: minute, key: key, label: g.label, tweets: s.tweets, sentimentSum: s.sum, model: g.model})
		}
	}
	for _, b := range batches {
		out = append(out, statRow{kind: statBatch, minute: markMinute, key: b.Topic, partition: b.Partition, first: b.First, last: b.Last, tweets: markTweets})
	}
	return out
}

// unstored returns what of b the warehouse does not hold yet: the tweets missing from
// tweets, those missing from tweet_ids (two INSERTs, either may have been stored alone),
// and the deletions missing from tweet_deletions.
func (db *DB) unstored(ctx context.Context, b LoadBatch) (rows, ids []TweetRow, dels []DeletionRow, err error) {
	if len(b.Tweets) > 0 {
		inTweets, err := db.storedOffsets(ctx, b, "tweets")
		if err != nil {
			return nil, nil, nil, err
		}
		inIDs, err := db.storedOffsets(ctx, b, "tweet_ids")
		if err != nil {
			return nil, nil, nil, err
		}
		for _, t := range b.Tweets {
			if _, ok := inTweets[t.KafkaOffset]; !ok {
				rows = append(rows, t)
			}
			if _, ok := inIDs[t.KafkaOffset]; !ok {
				ids = append(ids, t)
			}
		}
	}
	if len(b.Deletions) > 0 {
		delIDs := make([]uint64, len(b.Deletions))
		for i, d := range b.Deletions {
			delIDs[i] = d.ID
		}
		stored := map[[2]uint64]bool{}
		err := db.synced(ctx, []string{"tweet_deletions"}, func(ctx context.Context, conn driver.Conn) error {
			t, err := idsTable(delIDs)
			if err != nil {
				return err
			}
			found, err := conn.Query(clickhouse.Context(ctx, clickhouse.WithExternalTable(t)),
				"SELECT kafka_offset, id FROM "+db.table("tweet_deletions")+" WHERE id IN _ids AND kafka_topic = ? AND kafka_partition = ? AND kafka_offset >= ? AND kafka_offset <= ?",
				b.Topic, b.Partition, b.First, b.Last)
			if err != nil {
				return fmt.Errorf("warehouse: find stored deletions: %w", err)
			}
			defer found.Close()
			for found.Next() {
				var off int64
				var id uint64
				if err := found.Scan(&off, &id); err != nil {
					return err
				}
				stored[[2]uint64{uint64(off), id}] = true
			}
			return found.Err()
		})
		if err != nil {
			return nil, nil, nil, err
		}
		for _, d := range b.Deletions {
			if !stored[[2]uint64{uint64(d.KafkaOffset), d.ID}] {
				dels = append(dels, d)
			}
		}
	}
	return rows, ids, dels, nil
}

// storedOffsets returns the offsets of b's tweets that table (tweets or tweet_ids) holds.
func (db *DB) storedOffsets(ctx context.Context, b LoadBatch, table string) (map[int64]struct{}, error) {
	ids, from, to := idsAndSpan(b.Tweets, func(t *TweetRow) (uint64, time.Time) { return t.ID, t.CreatedAt })
	// The tweets table is ordered by created_at, tweet_ids by id: each query reads the
	// granules its key points at.
	q := "SELECT kafka_offset FROM " + db.table("tweet_ids") + " WHERE id IN _ids AND kafka_partition = ? AND kafka_offset >= ? AND kafka_offset <= ?"
	args := []any{b.Partition, b.First, b.Last}
	if table == "tweets" {
		q = "SELECT kafka_offset FROM " + db.table("tweets") + " WHERE created_at >= ? AND created_at <= ? AND id IN _ids AND kafka_topic = ? AND kafka_partition = ? AND kafka_offset >= ? AND kafka_offset <= ?"
		args = []any{from.UTC(), to.UTC(), b.Topic, b.Partition, b.First, b.Last}
	}
	out := map[int64]struct{}{}
	err := db.synced(ctx, []string{table}, func(ctx context.Context, conn driver.Conn) error {
		t, err := idsTable(ids)
		if err != nil {
			return err
		}
		rows, err := conn.Query(clickhouse.Context(ctx, clickhouse.WithExternalTable(t)), q, args...)
		if err != nil {
			return fmt.Errorf("warehouse: find stored rows in %s: %w", table, err)
		}
		defer rows.Close()
		for rows.Next() {
			var off int64
			if err := rows.Scan(&off); err != nil {
				return err
			}
			out[off] = struct{}{}
		}
		return rows.Err()
	})
	return out, err
}

// idsAndSpan returns the ids of rows (not empty) and the earliest and latest of their
// times: a lookup by id reads only the granules of that span of a table ordered by time.
func idsAndSpan[R any](rows []R, get func(*R) (uint64, time.Time)) (ids []uint64, from, to time.Time) {
	ids = make([]uint64, len(rows))
	for i := range rows {
		id, at := get(&rows[i])
		ids[i] = id
		if i == 0 || at.Before(from) {
			from = at
		}
		if i == 0 || at.After(to) {
			to = at
		}
	}
	return ids, from, to
}

// BatchCommitted reports whether the batch of topic and partition that starts at first is
// committed, and its last offset: what a loader asks after a failed Load, whose commit may
// have been stored although its reply was lost.
func (db *DB) BatchCommitted(ctx context.Context, topic string, partition int32, first int64) (last int64, ok bool, err error) {
	err = db.synced(ctx, []string{"minute_stats"}, func(ctx context.Context, conn driver.Conn) error {
		rows, err := conn.Query(ctx, "SELECT last_offset FROM minute_stats WHERE kind = 'batch' AND minute = ? AND key = ? AND partition = ? AND first_offset = ?",
			markMinute, topic, partition, first)
		if err != nil {
			return fmt.Errorf("warehouse: read the mark of batch %d@%d: %w", partition, first, err)
		}
		defer rows.Close()
		for rows.Next() {
			var l int64
			if err := rows.Scan(&l); err != nil {
				return err
			}
			last, ok = max(last, l), true
		}
		return rows.Err()
	})
	return last, ok, err
}

// StoredExtent returns, per partition of topic, the highest offset any row of tweets,
// tweet_ids or tweet_deletions was loaded from, committed or not: past a partition's
// loaded offset (LoadedOffsets), it says how far an attempt that did not commit may have
// stored rows, which a loader then loads with careful. It reads the three tables' offset
// columns: a loader asks once, when it is given partitions.
func (db *DB) StoredExtent(ctx context.Context, topic string) (map[int32]int64, error) {
	out := map[int32]int64{}
	err := db.synced(ctx, []string{"tweets", "tweet_ids", "tweet_deletions"}, func(ctx context.Context, conn driver.Conn) error {
		rows, err := conn.Query(ctx, `SELECT p, max(o) FROM (
			SELECT kafka_partition AS p, max(kafka_offset) AS o FROM `+db.table("tweets")+` WHERE kafka_topic = ? GROUP BY p
			UNION ALL SELECT kafka_partition AS p, max(kafka_offset) AS o FROM `+db.table("tweet_ids")+` GROUP BY p
			UNION ALL SELECT kafka_partition AS p, max(kafka_offset) AS o FROM `+db.table("tweet_deletions")+` WHERE kafka_topic = ? GROUP BY p
		) GROUP BY p`, topic, topic)
		shard, err := partitionOffsets(rows, err, "stored offsets")
		mergeMax(out, shard)
		return err
	})
	return out, err
}

// InsertTweets loads rows, with their aggregates, as one batch per topic and partition
// (from its lowest offset to its highest): for loading outside the ETL (tests, benchmarks,
// imports), which has no retries to make safe. An empty slice is ErrEmptyBatch.
func (db *DB) InsertTweets(ctx context.Context, rows []TweetRow) error {
	if len(rows) == 0 {
		return ErrEmptyBatch
	}
	return db.Load(ctx, batchesOf(rows, nil))
}

// InsertDeletions withdraws tweets: rows of tweet_deletions, and the retracted tweets' counts
// taken from the aggregates, as one batch per topic and partition, like InsertTweets. The
// tweets rows themselves are removed by PurgeWithdrawn.
func (db *DB) InsertDeletions(ctx context.Context, rows []DeletionRow) error {
	if len(rows) == 0 {
		return nil
	}
	return db.Load(ctx, batchesOf(nil, rows))
}

// batchesOf groups rows into batches by topic and partition.
func batchesOf(tweets []TweetRow, dels []DeletionRow) []LoadBatch {
	type tp struct {
		topic     string
		partition int32
	}
	byTP := map[tp]*LoadBatch{}
	var order []tp
	get := func(topic string, partition int32, offset int64) *LoadBatch {
		k := tp{topic, partition}
		b := byTP[k]
		if b == nil {
			b = &LoadBatch{Topic: topic, Partition: partition, First: offset, Last: offset}
			byTP[k] = b
			order = append(order, k)
		}
		b.First, b.Last = min(b.First, offset), max(b.Last, offset)
		return b
	}
	for _, t := range tweets {
		b := get(t.KafkaTopic, t.KafkaPartition, t.KafkaOffset)
		b.Tweets = append(b.Tweets, t)
	}
	for _, d := range dels {
		b := get(d.KafkaTopic, d.KafkaPartition, d.KafkaOffset)
		b.Deletions = append(b.Deletions, d)
	}
	out := make([]LoadBatch, len(order))
	for i, k := range order {
		out[i] = *byTP[k]
	}
	return out
}

// ErrEmptyBatch is returned by InsertTweets for an empty slice.
var ErrEmptyBatch = errors.New("warehouse: empty batch")
