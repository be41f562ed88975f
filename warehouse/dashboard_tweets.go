package warehouse

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"
)

// The dashboard's tables (latest tweets, the most positive and negative, entities) and the
// ETL's throughput.

// Tweet is a tweet as the dashboard's tables show it. Its fields come from tweets, so they
// are untrusted text: the page escapes them.
type Tweet struct {
	ID         uint64    `json:"id,string"` // a string: snowflake ids exceed JavaScript's exact integers
	CreatedAt  time.Time `json:"created_at"`
	ScreenName string    `json:"screen_name"`
	UserName   string    `json:"user_name"`
	Text       string    `json:"text"`
	Lang       string    `json:"lang"`
	Sentiment  float32   `json:"sentiment"`
	Label      string    `json:"label"`
	Hashtags   []string  `json:"hashtags"`
	RetweetOf  uint64    `json:"retweet_of,string"`
}

const tweetColumnsSQL = "id, created_at, user_screen_name, user_name, text, lang, sentiment, toString(sentiment_label), hashtags, retweet_of"

func scanTweet(rows interface{ Scan(...any) error }) (Tweet, error) {
	var t Tweet
	err := rows.Scan(&t.ID, &t.CreatedAt, &t.ScreenName, &t.UserName, &t.Text, &t.Lang, &t.Sentiment, &t.Label, &t.Hashtags, &t.RetweetOf)
	t.CreatedAt = t.CreatedAt.UTC()
	return t, err
}

// TweetList is the newest tweets of a window.
type TweetList struct {
	Items []Tweet `json:"items"`
	// Searched is how far back the search went: the whole window, or, when few tweets
	// matched the filter, the newest part of it that a bounded search reads.
	Searched Window `json:"searched"`
}

// latestScanBudget bounds the tweets a filtered search for the newest tweets reads before
// it gives up on the rest of the window.
const latestScanBudget = 1_000_000

// LatestTweets returns the limit newest tweets of the window. It reads the tweets table
// only over the newest minutes that can hold them, found from the per-minute counts: the
// newest few minutes without a filter; with one, spans growing eightfold, newest first,
// until enough tweets match or latestScanBudget tweets were read.
func (sc *Scope) LatestTweets(ctx context.Context, limit int) (TweetList, error) {
	out := TweetList{Items: []Tweet{}}
	if !sc.HasData {
		return out, nil
	}
	w := sc.Window
	out.Searched = Window{From: w.To, To: w.To}
	rows, err := sc.query(ctx, `SELECT minute, sum(tweets) AS n FROM sentiment_minute WHERE minute >= ? AND minute < ?
		GROUP BY minute HAVING n > 0 ORDER BY minute DESC LIMIT 20000`, w.From, w.end())
	if err != nil {
		return out, fmt.Errorf("warehouse: minutes of the latest tweets: %w", err)
	}
	type minuteCount struct {
		m time.Time
		n int64
	}
	var minutes []minuteCount
	for rows.Next() {
		var mc minuteCount
		if err := rows.Scan(&mc.m, &mc.n); err != nil {
			rows.Close()
			return out, fmt.Errorf("warehouse: scan minutes: %w", err)
		}
		minutes = append(minutes, mc)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return out, err
	}
	want := int64(limit)
	if !sc.Filter.IsZero() {
		want = max(want*50, 5000)
	}
	end := w.end()
	var read int64
	for i := 0; i < len(minutes) && len(out.Items) < limit; {
		// Take minutes until this span holds want tweets.
		var n int64
		j := i
		for ; j < len(minutes) && n < want; j++ {
			n += minutes[j].n
		}
		from := minutes[j-1].m
		if j == len(minutes) {
			from = w.From
		}
		p := plan{win: w, slices: []span{{from, end}}, fraction: 1, deletions: sc.db.table("tweet_deletions")}
		var c cond
		c.time("created_at", p).tweets(sc.Filter, p)
		got, err := sc.query(ctx, "SELECT "+tweetColumnsSQL+" FROM tweets WHERE "+c.sql()+
			" ORDER BY created_at DESC, id DESC LIMIT ?", append(c.args, uint64(limit-len(out.Items)))...)
		if err != nil {
			return out, fmt.Errorf("warehouse: latest tweets: %w", err)
		}
		for got.Next() {
			t, err := scanTweet(got)
			if err != nil {
				got.Close()
				return out, fmt.Errorf("warehouse: scan latest tweets: %w", err)
			}
			out.Items = append(out.Items, t)
		}
		got.Close()
		if err := got.Err(); err != nil {
			return out, err
		}
		out.Searched.From = from
		read += n
		if read >= latestScanBudget {
			break
		}
		i, end, want = j, from, want*8
	}
	return out, nil
}

// Extremes are the most positive and the most negative original tweets of a window.
type Extremes struct {
	Positive []Tweet `json:"positive"`
	Negative []Tweet `json:"negative"`
	Sample   Sample  `json:"sample"`
}

// ExtremeTweets returns the limit most positive and limit most negative original tweets
// (retweets repeat their original's text) of the window, newest first among equals.
func (sc *Scope) ExtremeTweets(ctx context.Context, limit int) (Extremes, error) {
	ex := Extremes{Positive: []Tweet{}, Negative: []Tweet{}, Sample: exact}
	if !sc.HasData {
		return ex, nil
	}
	p, err := sc.plan(ctx, sc.budget.tweets)
	if err != nil {
		return ex, err
	}
	ex.Sample = p.sample()
	// The two sides are independent queries: run at once, the panel takes the longer of
	// them rather than their sum.
	var g errgroup.Group
	for _, side := range []struct {
		sign, order string
		into        *[]Tweet
	}{{"sentiment > 0", "sentiment DESC", &ex.Positive}, {"sentiment < 0", "sentiment ASC", &ex.Negative}} {
		var inner, outer cond
		inner.time("created_at", p).add("retweet_of = 0").add(side.sign).tweets(sc.Filter, p)
		outer.time("created_at", p)
		// The inner query picks the rows reading only a few narrow columns; the outer one
		// reads the text of those rows alone, found by the primary key. On a cluster each
		// shard picks its own top rows (the inner query reads the shard's table), and the
		// outer LIMIT keeps the top of them all.
		q := "SELECT " + tweetColumnsSQL + " FROM tweets WHERE " + outer.sql() + " AND (created_at, id) IN (SELECT created_at, id FROM " + sc.db.table("tweets") + " WHERE " +
			inner.sql() + " ORDER BY " + side.order + ", created_at DESC, id DESC LIMIT ?) ORDER BY " + side.order + ", created_at DESC, id DESC LIMIT ?"
		args := append(append(outer.args, inner.args...), uint64(limit), uint64(limit))
		g.Go(func() error {
			rows, err := sc.query(ctx, q, args...)
			if err != nil {
				return fmt.Errorf("warehouse: extreme tweets: %w", err)
			}
			defer rows.Close()
			for rows.Next() {
				t, err := scanTweet(rows)
				if err != nil {
					return fmt.Errorf("warehouse: scan extreme tweets: %w", err)
				}
				*side.into = append(*side.into, t)
			}
			return rows.Err()
		})
	}
	if err := g.Wait(); err != nil {
		return ex, err
	}
	return ex, nil
}

// EntityCount is a person, place or organisation with the tweets naming it.
type EntityCount struct {
	Entity string `json:"entity"`
	Kind   string `json:"kind"`
	// Tweets estimates the tweets naming it: each sampled tweet counts sampled_every times.
	Tweets    int64   `json:"tweets"`
	Sentiment float64 `json:"sentiment"` // mean compound score of those tweets
}

// EntityList is the entities named most in a window.
type EntityList struct {
	Items  []EntityCount `json:"items"`
	Sample Sample        `json:"sample"`
}

// TopEntities returns the limit entities named most in the window, optionally of one kind
// (KindPerson, KindPlace, KindOrganisation). The entities group samples the stream, so
// every row is weighted by its sampled_every; a hashtag or word filter keeps the entities
// of the tweets that match it. An entity row carries its tweet's hashtags and words (schema
// version 5), so the filter reads the entities alone; only a window that holds rows of
// earlier versions, which do not carry them, looks the tweets up in tweets.
func (sc *Scope) TopEntities(ctx context.Context, kind string, limit int) (EntityList, error) {
	el := EntityList{Items: []EntityCount{}, Sample: exact}
	if !sc.HasData {
		return el, nil
	}
	filtered := sc.Filter.Hashtag != "" || sc.Filter.Word != ""
	byTweets := false
	if filtered {
		var err error
		if byTweets, err = sc.entitiesWithoutTerms(ctx); err != nil {
			return el, err
		}
	}
	budget := sc.budget.entities
	if byTweets {
		budget = sc.budget.tweets
	}
	p, err := sc.plan(ctx, budget)
	if err != nil {
		return el, err
	}
	el.Sample = p.sample()
	var c cond
	c.time("created_at", p)
	switch kind {
	case "":
	case KindPerson, KindPlace, KindOrganisation:
		c.add("kind = ?", kind)
	default:
		return el, fmt.Errorf("%w: entity kind %q", ErrBadQuery, kind)
	}
	if sc.Filter.Lang != "" {
		c.add("lang = ?", sc.Filter.Lang)
	}
	switch {
	case byTweets:
		var t cond
		t.time("created_at", p).tweets(Filter{Hashtag: sc.Filter.Hashtag, Word: sc.Filter.Word}, p)
		c.add("tweet_id IN (SELECT id FROM "+sc.db.table("tweets")+" WHERE "+t.sql()+")", t.args...)
	case filtered:
		if sc.Filter.Hashtag != "" {
			c.add("has(hashtags, ?)", sc.Filter.Hashtag)
		}
		if sc.Filter.Word != "" {
			c.add("has(words, ?)", sc.Filter.Word)
		}
	}
	if !p.noneWithdrawn {
		c.add("tweet_id NOT IN (SELECT id FROM "+p.deletions+" WHERE retracted = 1 AND created_at >= ? AND created_at < ?)", p.win.From, p.win.end())
	}
	rows, err := sc.query(ctx, `SELECT entity, toString(kind) AS k, sum(sampled_every) AS n, sum(sentiment * sampled_every)
		FROM entities WHERE `+c.sql()+` GROUP BY entity, k ORDER BY n DESC, entity LIMIT ?`, append(c.args, uint64(limit))...)
	if err != nil {
		return el, fmt.Errorf("warehouse: top entities: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var e EntityCount
		var n uint64
		var s float64
		if err := rows.Scan(&e.Entity, &e.Kind, &n, &s); err != nil {
			return el, fmt.Errorf("warehouse: scan top entities: %w", err)
		}
		e.Tweets, e.Sentiment = p.scale(int64(n)), s/float64(n)
		el.Items = append(el.Items, e)
	}
	return el, rows.Err()
}

// entitiesWithoutTerms reports whether the window holds entity rows that do not carry
// their tweet's hashtags and words: rows written before schema version 5 (by the migration's
// ADD COLUMN, or by an ETL of an earlier release still running).
func (sc *Scope) entitiesWithoutTerms(ctx context.Context) (bool, error) {
	var n uint64
	err := sc.queryRow(ctx, "SELECT count() FROM entities WHERE created_at >= ? AND created_at < ? AND with_terms = 0",
		sc.Window.From, sc.Window.end()).Scan(&n)
	if err != nil {
		return false, fmt.Errorf("warehouse: entities without terms: %w", err)
	}
	return n > 0, nil
}

// Throughput is how many tweets the ETL loaded each second, by the warehouse's clock.
type Throughput struct {
	// End is the warehouse's now: Points[len-1] is the second before it.
	End time.Time `json:"end"`
	// Points holds the tweets loaded each second, oldest first.
	Points []int64 `json:"points"`
	// PerSecond is the mean of the last ten seconds.
	PerSecond float64 `json:"per_second"`
}

// Throughput returns the tweets loaded each second over the last seconds seconds, from
// tweets.loaded_at (set by ClickHouse as each batch arrives). loaded_at is not in the
// table's key; on one server, once this DB has watched the table for longer than the span,
// the query reads only the parts written since (see blockClock), so its cost follows the
// last minutes' loads, not the table's size (a part a merge made of old and new blocks is
// read whole). Before that, and on a cluster, it reads the column whole (about 10 ms for
// 10 million tweets).
func (db *DB) Throughput(ctx context.Context, seconds int) (Throughput, error) {
	th := Throughput{Points: make([]int64, seconds)}
	var before int64 // with pruned: the parts read end above this block
	pruned := false
	if db.topo == nil {
		var last int64
		if err := db.conn.QueryRow(ctx, "SELECT now(), max(max_block_number) FROM system.parts WHERE database = currentDatabase() AND table = 'tweets' AND active").
			Scan(&th.End, &last); err != nil {
			return th, fmt.Errorf("warehouse: tweets parts: %w", err)
		}
		before, pruned = db.blocks.note(th.End.UTC(), last, time.Duration(seconds)*time.Second+db.blocks.margin())
	} else if err := db.conn.QueryRow(ctx, "SELECT now()").Scan(&th.End); err != nil {
		return th, fmt.Errorf("warehouse: now: %w", err)
	}
	th.End = th.End.UTC()
	c := (&cond{}).add("loaded_at >= ? AND loaded_at < ?", th.End.Add(-time.Duration(seconds)*time.Second), th.End)
	if pruned {
		c.add("toInt64(splitByChar('_', _part)[3]) > ?", before)
	}
	q := "SELECT toInt64(toUInt32(loaded_at)) - ? AS ago, count() FROM tweets WHERE " + c.sql() + " GROUP BY ago"
	args := append([]any{th.End.Unix()}, c.args...)
	rows, err := db.conn.Query(ctx, q, args...)
	if err != nil {
		return th, fmt.Errorf("warehouse: throughput: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var ago int64
		var n uint64
		if err := rows.Scan(&ago, &n); err != nil {
			return th, fmt.Errorf("warehouse: scan throughput: %w", err)
		}
		if i := int(ago) + seconds; i >= 0 && i < seconds {
			th.Points[i] = int64(n)
		}
	}
	if err := rows.Err(); err != nil {
		return th, err
	}
	var last int64
	for _, n := range th.Points[max(0, seconds-10):] {
		last += n
	}
	th.PerSecond = float64(last) / float64(min(10, seconds))
	return th, nil
}

// blockClock remembers the highest insert block of the tweets table at moments of the
// server's clock, as Throughput sees them. A MergeTree table numbers its insert blocks in
// one sequence, an INSERT takes its number after ClickHouse has set its rows' loaded_at,
// and a part's name carries the range of blocks it holds (partition_min_max_level, a
// mutation's number after). So a row loaded after a moment lies in a block above the
// highest the table had then, and every part that holds it (the INSERT's own, a merge of
// it, a mutation of either) ends above that block: the condition on _part Throughput adds,
// which ClickHouse evaluates on part names before reading. Merges and mutations make no
// insert blocks of their own, so they do not disturb it.
type blockClock struct {
	mu      sync.Mutex
	samples []blockSample // oldest first
	slack   time.Duration // added to a span; 0 is blockMargin (tests set it)
}

type blockSample struct {
	at    time.Time
	block int64
}

// blockMargin is how much further back than a span the moment Throughput reads from lies:
// an INSERT still running at that moment set loaded_at before it, and a second's
// rounding of either clock reading.
const blockMargin = 10 * time.Second

func (c *blockClock) margin() time.Duration {
	if c.slack > 0 {
		return c.slack
	}
	return blockMargin
}

// note records that the table's highest block was last at now, and returns the highest
// block it had span ago, if a sample is that old. A highest block lower than before means
// the table was made again: what was noted of the old one goes.
func (c *blockClock) note(now time.Time, last int64, span time.Duration) (before int64, ok bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if n := len(c.samples); n > 0 && last < c.samples[n-1].block {
		c.samples = nil
	}
	if n := len(c.samples); n == 0 || now.After(c.samples[n-1].at) {
		c.samples = append(c.samples, blockSample{now, last})
	}
	cut := now.Add(-span)
	i := sort.Search(len(c.samples), func(i int) bool { return c.samples[i].at.After(cut) }) - 1
	if i < 0 {
		return 0, false
	}
	before = c.samples[i].block
	// Samples older than the one used serve no span this long; keep a few spans' worth
	// of the rest, so that the caller's longer spans find theirs too.
	keep := now.Add(-4 * span)
	j := sort.Search(len(c.samples), func(j int) bool { return !c.samples[j].at.Before(keep) })
	c.samples = c.samples[min(i, j):]
	return before, true
}
