package warehouse_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/starling-analytics/starling/warehouse"
	"github.com/starling-analytics/starling/warehouse/warehousetest"
)

// queryString runs a query returning one String.
func queryString(t *testing.T, db *warehouse.DB, q string) string {
	t.Helper()
	var s string
	if err := db.Conn().QueryRow(context.Background(), q).Scan(&s); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return s
}

// aggregates sums up the three per-minute tables, for comparisons.
func aggregates(t *testing.T, db *warehouse.DB) string {
	t.Helper()
	return queryString(t, db, `SELECT concat(
		(SELECT arrayStringConcat(groupArray(concat(hashtag, '=', toString(n), '/', toString(round(s, 2)))), ' ') FROM (SELECT hashtag, sum(tweets) AS n, sum(sentiment_sum) AS s FROM hashtag_minute GROUP BY hashtag HAVING n != 0 ORDER BY hashtag)),
		' | ',
		(SELECT arrayStringConcat(groupArray(concat(word, '=', toString(n))), ' ') FROM (SELECT word, sum(tweets) AS n FROM word_minute GROUP BY word HAVING n != 0 ORDER BY word)),
		' | ',
		(SELECT arrayStringConcat(groupArray(concat(toString(l), '=', toString(n))), ' ') FROM (SELECT sentiment_label AS l, sum(tweets) AS n FROM sentiment_minute GROUP BY l HAVING n != 0 ORDER BY l)))`)
}

func sampleRows(first uint64, n int, partition int32) []warehouse.TweetRow {
	base := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	rows := make([]warehouse.TweetRow, n)
	for i := range rows {
		id := first + uint64(i)
		label := []int8{warehouse.LabelNegative, warehouse.LabelNeutral, warehouse.LabelPositive}[id%3]
		rows[i] = warehouse.TweetRow{
			SentimentModel: "vader",
			ID:             id, CreatedAt: base.Add(time.Duration(id) * 7 * time.Second), Text: fmt.Sprintf("tweet %d", id), Lang: "en",
			UserID: 100 + id%4, Hashtags: []string{fmt.Sprintf("tag%d", id%3)}, Words: []string{"word", fmt.Sprintf("w%d", id%2)},
			Sentiment: float32(label) / 2, SentimentLabel: label, KafkaTopic: "tweets", KafkaPartition: partition, KafkaOffset: int64(id),
		}
	}
	return rows
}

// openAtVersion opens the empty warehouse cfg migrated to schema version, with rows in
// tweets as an ETL of that version wrote them (its views fill what they fill). The test
// closes it.
func openAtVersion(t *testing.T, ctx context.Context, cfg warehouse.Config, version uint32, rows []warehouse.TweetRow) *warehouse.DB {
	t.Helper()
	db, err := warehouse.Open(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if err := warehouse.MigrateTo(db, ctx, version); err != nil {
		t.Fatal(err)
	}
	batch, err := db.Conn().PrepareBatch(ctx, `INSERT INTO tweets (id, created_at, text, lang, user_id, hashtags, words,
		sentiment, sentiment_label, kafka_topic, kafka_partition, kafka_offset)`)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rows {
		if err := batch.Append(r.ID, r.CreatedAt, r.Text, r.Lang, r.UserID, r.Hashtags, r.Words, r.Sentiment, r.SentimentLabel,
			r.KafkaTopic, r.KafkaPartition, r.KafkaOffset); err != nil {
			t.Fatal(err)
		}
	}
	if err := batch.Send(); err != nil {
		t.Fatal(err)
	}
	return db
}

// TestDeletionsRetractAndPurge withdraws loaded tweets: the aggregates lose them in the same
// INSERT, LookupIDs reports them, and the purge removes their rows.
func TestDeletionsRetractAndPurge(t *testing.T) {
	t.Parallel()
	db := warehousetest.Open(t)
	ctx := context.Background()
	rows := sampleRows(1, 30, 0)
	if err := db.InsertTweets(ctx, rows); err != nil {
		t.Fatal(err)
	}
	// The same aggregates, from the 20 tweets that remain, loaded into a second database.
	ref := warehousetest.Open(t)
	var kept []warehouse.TweetRow
	for _, r := range rows {
		if r.ID > 10 {
			kept = append(kept, r)
		}
	}
	if err := ref.InsertTweets(ctx, kept); err != nil {
		t.Fatal(err)
	}

	ids := []uint64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 999}
	loaded, err := db.LoadedTweets(ctx, ids)
	if err != nil || len(loaded) != 10 {
		t.Fatalf("LoadedTweets = %d rows, %v; want the 10 loaded of the 11", len(loaded), err)
	}
	now := time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)
	var dels []warehouse.DeletionRow
	for _, r := range loaded {
		dels = append(dels, warehouse.Retraction(r, "deleted", now))
	}
	dels = append(dels, warehouse.DeletionRow{ID: 999, Reason: "deleted", DeletedAt: now}) // never loaded
	if err := db.InsertDeletions(ctx, dels); err != nil {
		t.Fatal(err)
	}
	if got, want := aggregates(t, db), aggregates(t, ref); got != want {
		t.Errorf("aggregates after the deletions:\n got %s\nwant %s", got, want)
	}
	states, err := db.LookupIDs(ctx, []uint64{1, 11, 999, 12345}, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := map[uint64]warehouse.IDState{1: warehouse.Loaded | warehouse.Withdrawn, 11: warehouse.Loaded, 999: warehouse.Withdrawn}
	if fmt.Sprint(states) != fmt.Sprint(want) {
		t.Errorf("LookupIDs = %v, want %v", states, want)
	}
	if n, err := db.UnpurgedWithdrawn(ctx); err != nil || n != 10 {
		t.Errorf("UnpurgedWithdrawn = %d, %v; want 10 before the purge", n, err)
	}
	if err := db.PurgeWithdrawn(ctx, ids); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	tick := time.NewTicker(20 * time.Millisecond) // the mutation runs in the background
	defer tick.Stop()
	for {
		n, err := db.UnpurgedWithdrawn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d withdrawn tweets still in tweets after the purge", n)
		}
		<-tick.C
	}
	if n := queryString(t, db, "SELECT toString(count()) FROM tweets"); n != "20" {
		t.Errorf("tweets holds %s rows after the purge, want 20", n)
	}
	// The aggregates were settled by the deletions; the purge does not touch them again.
	if got, want := aggregates(t, db), aggregates(t, ref); got != want {
		t.Errorf("aggregates after the purge:\n got %s\nwant %s", got, want)
	}
	of, err := db.TweetsOfUser(ctx, 101, time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC))
	if err != nil || len(of) != 5 {
		t.Errorf("TweetsOfUser(101) = %d rows, %v; want the 5 left", len(of), err)
	}
	if of, err := db.TweetsOfUser(ctx, 101, rows[20].CreatedAt); err != nil || len(of) != 3 {
		t.Errorf("TweetsOfUser(101) until tweet 21 = %d rows, %v; want 13, 17 and 21", len(of), err)
	}
}

// TestLookupIDsInChunks asks for more ids than one IN list holds.
func TestLookupIDsInChunks(t *testing.T) {
	t.Parallel()
	db := warehousetest.Open(t)
	ctx := context.Background()
	const base = 1 << 62 // ids as long as Twitter's: the IN lists are at their longest
	rows := sampleRows(1, 20000, 1)
	for i := range rows {
		rows[i].ID += base
	}
	if err := db.InsertTweets(ctx, rows); err != nil {
		t.Fatal(err)
	}
	ids := make([]uint64, 0, 25000)
	for id := uint64(1); id <= 25000; id++ {
		ids = append(ids, base+id)
	}
	states, err := db.LookupIDs(ctx, ids, nil)
	if err != nil || len(states) != 20000 || states[base+20000] != warehouse.Loaded || states[base+20001] != 0 {
		t.Fatalf("LookupIDs = %d known, %v; want the 20000 loaded", len(states), err)
	}
	loaded, err := db.LoadedTweets(ctx, ids)
	if err != nil || len(loaded) != 20000 {
		t.Fatalf("LoadedTweets = %d rows, %v; want the 20000 loaded", len(loaded), err)
	}
}

// TestUpgradeFromVersion1 migrates a database holding tweets loaded under schema version 1:
// tweet_ids learns them, and the aggregates keep counting right.
func TestUpgradeFromVersion1(t *testing.T) {
	t.Parallel()
	cfg := warehousetest.Empty(t)
	ctx := context.Background()
	db := openAtVersion(t, ctx, cfg, 1, sampleRows(1, 40, 0))
	if err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	if err := db.Migrate(ctx); err != nil { // again: nothing to do
		t.Fatal(err)
	}
	if err := db.InsertTweets(ctx, sampleRows(41, 20, 0)); err != nil {
		t.Fatal(err)
	}
	states, err := db.LookupIDs(ctx, []uint64{1, 40, 41, 60, 61}, nil)
	if err != nil || len(states) != 4 || states[61] != 0 {
		t.Fatalf("LookupIDs after the upgrade = %v, %v; want 1, 40, 41 and 60", states, err)
	}
	ref := warehousetest.Open(t)
	if err := ref.InsertTweets(ctx, sampleRows(1, 60, 0)); err != nil {
		t.Fatal(err)
	}
	if got, want := aggregates(t, db), aggregates(t, ref); got != want {
		t.Errorf("aggregates across the upgrade:\n got %s\nwant %s", got, want)
	}
}

// TestLoadAfterAttemptsCutShort: attempts that stored some of a batch's rows and never
// committed (every combination of the three tables) are followed by a careful Load of the
// same batch: each tweet is stored once, each deletion once, and the aggregates equal a
// warehouse that loaded the batch once. Until the commit, LookupIDs told of the
// uncommitted offsets does not count the stored rows; after it, BatchCommitted and
// LoadedOffsets know the batch.
func TestLoadAfterAttemptsCutShort(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	earlier := sampleRows(1, 20, 0) // loaded and committed before
	now := time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)
	batch := func() warehouse.LoadBatch {
		rows := sampleRows(101, 50, 0)
		for i := range rows {
			rows[i].KafkaOffset = int64(100 + i)
		}
		var dels []warehouse.DeletionRow
		for _, r := range earlier[:5] {
			d := warehouse.Retraction(r, "deleted", now)
			d.KafkaTopic, d.KafkaPartition, d.KafkaOffset = "tweets", 0, 150
			dels = append(dels, d)
		}
		return warehouse.LoadBatch{Topic: "tweets", Partition: 0, First: 100, Last: 150, Tweets: rows, Deletions: dels}
	}
	ref := warehousetest.Open(t)
	if err := ref.InsertTweets(ctx, earlier); err != nil {
		t.Fatal(err)
	}
	if err := ref.Load(ctx, []warehouse.LoadBatch{batch()}); err != nil {
		t.Fatal(err)
	}
	want := aggregates(t, ref)
	for _, cut := range [][]string{{"tweets"}, {"tweet_ids"}, {"tweet_deletions"}, {"tweets", "tweet_ids"}, {"tweets", "tweet_ids", "tweet_deletions"}} {
		t.Run(fmt.Sprint(cut), func(t *testing.T) {
			t.Parallel()
			db := warehousetest.Open(t)
			if err := db.InsertTweets(ctx, earlier); err != nil {
				t.Fatal(err)
			}
			b := batch()
			if err := db.WriteRows(ctx, b, cut...); err != nil {
				t.Fatal(err)
			}
			if _, ok, err := db.BatchCommitted(ctx, "tweets", 0, 100); ok || err != nil {
				t.Fatalf("BatchCommitted before the commit = %v, %v", ok, err)
			}
			ids := []uint64{1, 101, 150}
			states, err := db.LookupIDs(ctx, ids, &warehouse.Uncommitted{Partition: 0, From: 100})
			if err != nil || states[1] != warehouse.Loaded || states[101] != 0 || states[150] != 0 {
				t.Fatalf("LookupIDs skipping the uncommitted offsets = %v, %v; want only tweet 1, loaded", states, err)
			}
			b.Careful = true
			if err := db.Load(ctx, []warehouse.LoadBatch{b}); err != nil {
				t.Fatal(err)
			}
			if last, ok, err := db.BatchCommitted(ctx, "tweets", 0, 100); !ok || last != 150 || err != nil {
				t.Fatalf("BatchCommitted after the commit = %d, %v, %v", last, ok, err)
			}
			if offs, err := db.LoadedOffsets(ctx, "tweets"); err != nil || offs[0] != 150 {
				t.Fatalf("LoadedOffsets = %v, %v; want partition 0 at 150", offs, err)
			}
			for q, n := range map[string]string{
				"SELECT toString(count()) FROM tweets WHERE id > 100":                 "50",
				"SELECT toString(count()) FROM tweet_ids":                             "70",
				"SELECT toString(count()) FROM tweet_deletions":                       "5",
				"SELECT toString(uniqExact(kafka_offset)) FROM tweets WHERE id > 100": "50",
			} {
				if got := queryString(t, db, q); got != n {
					t.Errorf("%s = %s, want %s", q, got, n)
				}
			}
			if got := aggregates(t, db); got != want {
				t.Errorf("aggregates:\n got %s\nwant %s", got, want)
			}
		})
	}
}

// TestUpgradeFromVersion2 migrates a warehouse of schema version 2 holding tweets (their
// aggregates filled by version 2's views), from four processes at once, after this one
// lost its connection in the middle of a copy it had begun (its schema lock is still there,
// and the copy lock of an earlier release): the aggregates are copied once, the loaded
// offsets become marks, and the warehouse answers as one that loaded the same tweets with
// version 3.
func TestUpgradeFromVersion2(t *testing.T) {
	t.Parallel()
	cfg := warehousetest.Empty(t)
	ctx := context.Background()
	rows := sampleRows(1, 60, 0)
	db := openAtVersion(t, ctx, cfg, 2, rows)
	// This process's copy, cut short: its lock and a part of what it copied.
	for _, q := range []string{
		"CREATE TABLE " + warehouse.SchemaLock + " (owner String, at DateTime) ENGINE = MergeTree ORDER BY at",
		"INSERT INTO " + warehouse.SchemaLock + " (owner, at) SELECT '" + warehouse.ProcessToken + "', now()",
		"CREATE TABLE " + warehouse.OldCopyLock + " (owner String) ENGINE = TinyLog",
		"CREATE TABLE IF NOT EXISTS minute_stats (kind Enum8('hashtag' = 1, 'word' = 2, 'sentiment' = 3, 'batch' = 4), minute DateTime, key String, label Enum8('negative' = -1, 'neutral' = 0, 'positive' = 1), partition Int32, first_offset Int64, last_offset Int64, tweets Int64, sentiment_sum Float64, written_at DateTime DEFAULT now()) ENGINE = SummingMergeTree((tweets, sentiment_sum)) ORDER BY (kind, minute, key, label, partition, first_offset, last_offset)",
		"INSERT INTO minute_stats (kind, minute, key, label, partition, first_offset, last_offset, tweets, sentiment_sum) SELECT 'hashtag', minute, hashtag, 'neutral', -1, 0, 0, toInt64(tweets), sentiment_sum FROM hashtag_minute",
	} {
		if err := db.Conn().Exec(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	for i, err := range migrateAtOnce(ctx, cfg, 4) {
		if err != nil {
			t.Fatalf("Migrate %d: %v", i, err)
		}
	}
	ref := warehousetest.Open(t)
	if err := ref.InsertTweets(ctx, rows); err != nil {
		t.Fatal(err)
	}
	if got, want := aggregates(t, db), aggregates(t, ref); got != want {
		t.Errorf("aggregates across the upgrade:\n got %s\nwant %s", got, want)
	}
	if offs, err := db.LoadedOffsets(ctx, "tweets"); err != nil || offs[0] != 60 {
		t.Errorf("LoadedOffsets after the upgrade = %v, %v; want partition 0 at 60", offs, err)
	}
	if n := queryString(t, db, "SELECT arrayStringConcat(groupArray(name), ' ') FROM system.tables WHERE database = currentDatabase() AND name IN ('"+warehouse.SchemaLock+"', '"+warehouse.OldCopyLock+"')"); n != "" {
		t.Errorf("locks left after the upgrade: %s", n)
	}
}

// TestEntityWritesAreKnownByOffset: the entities group finds which of a write's offsets are
// stored, and how far each partition's rows reach, to write nothing twice.
func TestEntityWritesAreKnownByOffset(t *testing.T) {
	t.Parallel()
	db := warehousetest.Open(t)
	ctx := context.Background()
	at := time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)
	var rows []warehouse.EntityRow
	for _, o := range []int64{3, 5, 5, 9} {
		rows = append(rows, warehouse.EntityRow{TweetID: uint64(o), CreatedAt: at, Entity: "Chicago", Kind: warehouse.KindPlace, Lang: "en", SampledEvery: 1, KafkaPartition: 1, KafkaOffset: o})
	}
	rows = append(rows, warehouse.EntityRow{TweetID: 40, CreatedAt: at, Entity: "Berlin", Kind: warehouse.KindPlace, Lang: "en", SampledEvery: 1, KafkaPartition: 2, KafkaOffset: 40})
	if err := db.InsertEntities(ctx, rows); err != nil {
		t.Fatal(err)
	}
	stored, err := db.StoredEntityOffsets(ctx, 1, 4, 20)
	if err != nil || fmt.Sprint(stored) != "map[5:true 9:true]" {
		t.Errorf("StoredEntityOffsets(1, 4, 20) = %v, %v; want offsets 5 and 9", stored, err)
	}
	extent, err := db.EntityExtent(ctx)
	if err != nil || fmt.Sprint(extent) != "map[1:9 2:40]" {
		t.Errorf("EntityExtent = %v, %v; want 1:9 2:40", extent, err)
	}
}

// TestMigrateEmptyFromSeveralAtOnce migrates empty databases from four processes at once,
// as ETL replicas started together do: every Migrate succeeds, and the warehouse ends at
// the latest version with version 2's aggregate tables turned into views.
func TestMigrateEmptyFromSeveralAtOnce(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	for round := range 8 {
		cfg := warehousetest.Empty(t)
		for i, err := range migrateAtOnce(ctx, cfg, 4) {
			if err != nil {
				t.Fatalf("round %d: Migrate %d: %v", round, i, err)
			}
		}
		db, err := warehouse.Open(ctx, cfg)
		if err != nil {
			t.Fatal(err)
		}
		views := queryString(t, db, "SELECT arrayStringConcat(groupArray(concat(name, ':', engine)), ' ') FROM (SELECT name, engine FROM system.tables WHERE database = currentDatabase() AND name IN ('hashtag_minute', 'word_minute', 'sentiment_minute') ORDER BY name)")
		db.Close()
		if want := "hashtag_minute:View sentiment_minute:View word_minute:View"; views != want {
			t.Fatalf("round %d: aggregate tables %q, want %q", round, views, want)
		}
	}
}

// TestSchemaLockWaitsForALiveOwnerAndTakesOverADeadOne: Migrate waits while another
// process holds the schema lock and writes to it, and takes the lock over once its newest
// row is older than the lock's staleness (the owner died mid-migration).
func TestSchemaLockWaitsForALiveOwnerAndTakesOverADeadOne(t *testing.T) {
	t.Parallel()
	cfg := warehousetest.Empty(t)
	ctx := context.Background()
	db, err := warehouse.Open(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	holdSchemaLock(t, db.Conn())
	waitsForTheLock(t, db)
	if got := queryString(t, db, "SELECT toString(count()) FROM schema_migrations"); got != "0" {
		t.Fatalf("%s migrations applied under another's lock", got)
	}
	// The owner's last row, a minute old: it died.
	for _, q := range []string{
		"DROP TABLE " + warehouse.SchemaLock,
		"CREATE TABLE " + warehouse.SchemaLock + " (owner String, at DateTime) ENGINE = MergeTree ORDER BY at",
		"INSERT INTO " + warehouse.SchemaLock + " (owner, at) SELECT 'another process', now() - 60",
	} {
		if err := db.Conn().Exec(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	if err := db.Migrate(ctx); err != nil {
		t.Fatalf("Migrate after the owner died: %v", err)
	}
	applied, err := db.AppliedMigrations(ctx)
	if err != nil || len(applied) != 5 {
		t.Errorf("applied %v, %v; want versions 1 to 5", applied, err)
	}
	if n := queryString(t, db, "SELECT toString(count()) FROM system.tables WHERE database = currentDatabase() AND name = '"+warehouse.SchemaLock+"'"); n != "0" {
		t.Errorf("the schema lock is still there")
	}
}

// holdSchemaLock makes the schema lock on conn's server another live process's.
func holdSchemaLock(t *testing.T, conn driver.Conn) {
	t.Helper()
	for _, q := range []string{
		"CREATE TABLE " + warehouse.SchemaLock + " (owner String, at DateTime) ENGINE = MergeTree ORDER BY at",
		"INSERT INTO " + warehouse.SchemaLock + " (owner, at) SELECT 'another process', now()",
	} {
		if err := conn.Exec(context.Background(), q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
}

// waitsForTheLock checks that Migrate waits for another's lock until its context ends.
func waitsForTheLock(t *testing.T, db *warehouse.DB) {
	t.Helper()
	short, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := db.Migrate(short); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Migrate under another's fresh lock = %v, want it to wait until its context ends", err)
	}
}

// migrateAtOnce runs Migrate on n connections to cfg at once, as n processes would, and
// returns their errors.
func migrateAtOnce(ctx context.Context, cfg warehouse.Config, n int) []error {
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range errs {
		wg.Go(func() {
			d, err := warehouse.Open(ctx, cfg)
			if err == nil {
				err = d.Migrate(ctx)
				d.Close()
			}
			errs[i] = err
		})
	}
	wg.Wait()
	return errs
}
