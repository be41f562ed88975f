package etl_test

import (
	"context"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/starling-analytics/starling/etl"
	"github.com/starling-analytics/starling/internal/tweet"
	"github.com/starling-analytics/starling/warehouse/warehousetest"
)

// waitForStart waits until a new consumer group that starts at the end of the topic has
// pinned its starting offset (committed it) on every partition.
func waitForStart(t *testing.T, addr, group string, partitions int) {
	t.Helper()
	adm, err := kgo.NewClient(kgo.SeedBrokers(addr))
	if err != nil {
		t.Fatal(err)
	}
	defer adm.Close()
	waitFor(t, time.Minute, "group "+group+"'s starting offsets", func() bool {
		offsets, err := kadm.NewClient(adm).FetchOffsets(context.Background(), group)
		if err != nil {
			return false
		}
		for p := range partitions {
			if _, ok := offsets.Lookup(tweet.TopicTweets, int32(p)); !ok {
				return false
			}
		}
		return true
	})
}

// namedTweets returns n English tweets naming people and places, and Spanish ones whose
// only entity for the group is their cashtag (the model reads English only).
func namedTweets(t *testing.T, first, n int) []*kgo.Record {
	t.Helper()
	texts := []string{"Barack Obama spoke in Chicago today", "Angela Merkel met Emmanuel Macron in Berlin", "Great game by Tom Brady tonight"}
	var recs []*kgo.Record
	for i := range n {
		id := first + i
		r := tweet.Record{ID: strconv.Itoa(id), CreatedAt: feedBase.Add(time.Duration(id) * time.Second), Lang: "en", Text: texts[id%len(texts)],
			User: tweet.User{ID: "5"}, SourceFormat: tweet.FormatGenerator}
		if id%10 == 0 {
			r.Lang, r.Text = "es", "Barack Obama habló en Chicago hoy de $AAPL"
		}
		if id%3 == 1 {
			r.Hashtags = []string{"Politics", "politics", "G7"}
		}
		recs = append(recs, record(t, r))
	}
	return recs
}

// TestEntitiesGroupStoresWhatTweetsName runs the entities group beside the loader: it
// stores the people and places of the English tweets, with their sampling step, and keeps
// its progress.
func TestEntitiesGroupStoresWhatTweetsName(t *testing.T) {
	t.Parallel()
	addr := cluster(t, 2)
	whCfg := warehousetest.Start(t)
	db := openDB(t, whCfg)
	cfg := etl.Config{Brokers: []string{addr}, Warehouse: whCfg, Entities: true, EntitiesCPU: 1, FlushInterval: 20 * time.Millisecond, Logger: testLogger(t)}
	_, stop := runETL(t, cfg)
	waitForStart(t, addr, "entities", 2) // it starts at the end of the topic
	produce(t, addr, namedTweets(t, 1, 60))
	ends := endOffsets(t, addr, tweet.TopicTweets, 2)
	waitFor(t, time.Minute, "the entities group through the tweets", func() bool {
		loaded, err := db.LoadedOffsets(context.Background(), "entities:"+tweet.TopicTweets)
		return err == nil && loaded[0] == ends[0]-1 && loaded[1] == ends[1]-1
	})
	stop()
	var got string
	if err := db.Conn().QueryRow(context.Background(), `SELECT arrayStringConcat(groupArray(concat(entity, '/', toString(kind), '=', toString(n))), ', ')
		FROM (SELECT entity, kind, count() AS n FROM entities GROUP BY entity, kind ORDER BY entity, kind)`).Scan(&got); err != nil {
		t.Fatal(err)
	}
	// 54 English tweets, 18 of each text; of the 6 Spanish ones, only the cashtag. (What prose makes
	// of each text is the extractor's business, tested in etl/entities: here each English
	// tweet's entities are stored once.)
	if got == "" {
		t.Fatal("no entities stored")
	}
	for _, want := range []string{"AAPL/organisation=6", "Barack Obama/person=18", "Chicago/place=18", "Tom Brady/person=18"} {
		if !slices.Contains(strings.Split(got, ", "), want) {
			t.Errorf("entities %s; want %s among them", got, want)
		}
	}
	if n := count(t, db, "SELECT count() FROM entities WHERE lang != 'en' AND entity != 'AAPL' OR sampled_every != 1"); n != 0 {
		t.Errorf("%d entity rows of other languages (but cashtags) or sampled, want none at this rate", n)
	}
	// Each row carries its tweet's hashtags and words as the tweets table holds them.
	waitFor(t, time.Minute, "the tweets loaded", func() bool { return count(t, db, "SELECT count() FROM tweets") == 60 })
	rows := count(t, db, "SELECT count() FROM entities")
	same := count(t, db, `SELECT count() FROM entities ANY INNER JOIN (SELECT id AS tweet_id, hashtags AS th, words AS tw FROM tweets) USING tweet_id
		WHERE hashtags = th AND words = tw AND with_terms = 1 AND notEmpty(words)`)
	if same != rows {
		t.Errorf("%d of %d entity rows carry their tweet's hashtags and words", same, rows)
	}
	if n := count(t, db, "SELECT count() FROM entities WHERE has(hashtags, 'politics') AND length(hashtags) = 2"); n == 0 {
		t.Error("no entity row carries the hashtags politics and g7")
	}
}

// TestEntitiesGroupSamplesWhenBehind gives the group more than it can recognise: it
// samples, says so in sampled_every, and still reaches the end of the partition.
func TestEntitiesGroupSamplesWhenBehind(t *testing.T) {
	t.Parallel()
	addr := cluster(t, 1)
	whCfg := warehousetest.Start(t)
	db := openDB(t, whCfg)
	cfg := etl.Config{Brokers: []string{addr}, Warehouse: whCfg, Entities: true, EntitiesCPU: 0.05, EntitiesMaxLag: 100,
		FlushInterval: 20 * time.Millisecond, Logger: testLogger(t)}
	_, stop := runETL(t, cfg)
	waitForStart(t, addr, "entities", 1)
	produce(t, addr, namedTweets(t, 1, 20000))
	ends := endOffsets(t, addr, tweet.TopicTweets, 1)
	waitFor(t, 2*time.Minute, "the entities group through the partition", func() bool {
		loaded, err := db.LoadedOffsets(context.Background(), "entities:"+tweet.TopicTweets)
		return err == nil && loaded[0] == ends[0]-1
	})
	stop()
	tweets, every := count(t, db, "SELECT uniqExact(tweet_id) FROM entities"), count(t, db, "SELECT toUInt64(max(sampled_every)) FROM entities")
	if every < 2 || tweets == 0 || tweets > 10000 {
		t.Errorf("%d tweets sampled with a step up to %d; want a sample of the 18,000 English tweets", tweets, every)
	}
	t.Logf("sampled %d tweets, step up to %d", tweets, every)
}
