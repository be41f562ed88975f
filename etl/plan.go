package etl

import (
	"cmp"
	"context"
	"slices"
	"sort"

	"github.com/starling-analytics/starling/warehouse"
)

// A batch's plan: which of its tweets to insert and which tweets to withdraw, decided
// against what the warehouse already holds. This is what makes a tweet one row and one
// count in every aggregate whatever arrives twice: a tweet the warehouse holds (produced
// again around an ingester restart, an archive replayed twice, a batch read again after a
// crash) is skipped; a tombstone withdraws its tweet once; an edited tweet replaces its
// earlier versions, and an earlier version arriving after a later one is dropped.
//
// Within a batch the order of tweets and tombstones does not matter: a tweet and a
// tombstone of it end the same way (withdrawn) whichever came first. A batch is applied
// when its commit lands (warehouse.Load): until then, what its attempts stored does not
// count, and the plan of a retry is the plan of the first attempt.

// Reasons recorded for withdrawals the ETL decides itself.
const (
	reasonEdited = "edited" // replaced by a newer version of the same tweet
)

// batchPlan is what a flush writes.
type batchPlan struct {
	rows      []warehouse.TweetRow    // tweets to insert, in offset order
	deletions []warehouse.DeletionRow // tweets to withdraw
	purge     []uint64                // withdrawn tweets whose rows the tweets table holds
	// Counters of what the plan left out.
	duplicates, superseded, withdrawn int
}

// withdrawal is a tweet to withdraw and why.
type withdrawal struct {
	reason string
	t      *tombstone // the tombstone, or for an edit the edited tweet's origin
}

// plan decides a batch. rows and tombs are the batch's tweets and tombstones in offset
// order.
//
// A tombstone of a whole account cannot be decided in one partition: the account's tweets
// are in all of them. fanOut turns it into a tombstone for each of its loaded tweets,
// produced to the tweet topic with the tweet's own key, so each is applied in the tweet's
// partition, in order with any other tombstone of that tweet.
func (p *partitionLoader) plan(ctx context.Context, rows []warehouse.TweetRow, tombs []tombstone) (*batchPlan, error) {
	db := p.db
	ids := make([]uint64, 0, len(rows)+len(tombs))
	for i := range rows {
		ids = append(ids, rows[i].ID)
		ids = append(ids, rows[i].EditHistory...)
	}
	for _, t := range tombs {
		if t.id != 0 {
			ids = append(ids, t.id)
		}
	}
	slices.Sort(ids)
	ids = slices.Compact(ids)
	// Ids above the highest the warehouse knew of when this partition was assigned, or
	// that this loader has written since, are new to it: a tweet and its repeats, its
	// tombstones and its other versions share a key, so a partition, so this loader has
	// seen every earlier arrival of each. Only the rest are looked up; in a live stream that
	// is none.
	known := ids[:sort.Search(len(ids), func(i int) bool { return ids[i] > p.maxKnown })]
	// Rows stored for this partition from the batch's first offset on were stored by
	// attempts that did not commit (warehouse.Load): they do not make a tweet known.
	states, err := db.LookupIDs(ctx, known, &warehouse.Uncommitted{Partition: int32(p.partition), From: p.first})
	if err != nil {
		return nil, err
	}
	live := func(id uint64) bool { return states[id]&warehouse.Loaded != 0 && states[id]&warehouse.Withdrawn == 0 }

	// The batch's own tweets, first occurrence of each id.
	inBatch := make(map[uint64]int, len(rows))
	for i := range rows {
		if _, ok := inBatch[rows[i].ID]; !ok {
			inBatch[rows[i].ID] = i
		}
	}
	withdraw := map[uint64]withdrawal{}
	note := func(id uint64, w withdrawal) {
		if states[id]&warehouse.Withdrawn != 0 {
			return // withdrawn before: nothing more to do
		}
		if _, ok := withdraw[id]; !ok {
			withdraw[id] = w
		}
	}

	// Tombstones of tweets.
	var accounts []tombstone
	for i := range tombs {
		t := &tombs[i]
		if t.id == 0 {
			accounts = append(accounts, *t)
			continue
		}
		note(t.id, withdrawal{reason: t.reason, t: t})
	}

	// Edits: the newest version known stands for the tweet.
	stale := map[uint64]bool{}
	for i := range rows {
		r := &rows[i]
		at := slices.Index(r.EditHistory, r.ID)
		if at < 0 {
			continue
		}
		for _, newer := range r.EditHistory[at+1:] {
			if _, ok := inBatch[newer]; ok || live(newer) {
				stale[r.ID] = true
			}
		}
		if stale[r.ID] {
			continue // the newer version withdraws this one
		}
		origin := &tombstone{userID: r.UserID, at: r.CreatedAt, offset: r.KafkaOffset}
		for _, older := range r.EditHistory[:at] {
			note(older, withdrawal{reason: reasonEdited, t: origin})
		}
	}
	for id := range stale {
		// Recorded, so that the version is dropped should it arrive again later.
		r := &rows[inBatch[id]]
		note(id, withdrawal{reason: reasonEdited, t: &tombstone{userID: r.UserID, at: r.CreatedAt, offset: r.KafkaOffset}})
	}

	// Tombstones of accounts: the account's tweets in this batch created until the event.
	// (Its loaded tweets were given tombstones of their own by fanOut, which go through
	// their own partitions, in order with any other tombstone of the same tweet.)
	for i := range accounts {
		t := &accounts[i]
		for j := range rows {
			if rows[j].UserID == t.userID && !rows[j].CreatedAt.After(t.at) {
				note(rows[j].ID, withdrawal{reason: t.reason, t: t})
			}
		}
	}

	// The rows to insert: the batch's own when it keeps them all (a live stream), else a
	// copy of those it keeps, into memory the loader keeps from batch to batch.
	plan := &batchPlan{}
	keep := func(i int) bool {
		r := &rows[i]
		_, withdrawn := withdraw[r.ID]
		switch {
		case inBatch[r.ID] != i || states[r.ID]&warehouse.Loaded != 0:
			plan.duplicates++ // twice in this batch, or loaded before
		case stale[r.ID]:
			plan.superseded++
		case withdrawn || states[r.ID]&warehouse.Withdrawn != 0:
			plan.withdrawn++
		default:
			return true
		}
		return false
	}
	all := 0
	for all < len(rows) && keep(all) {
		all++
	}
	if all == len(rows) {
		plan.rows = rows
	} else {
		plan.rows = append(p.planRows[:0], rows[:all]...)
		for i := all + 1; i < len(rows); i++ {
			if keep(i) {
				plan.rows = append(plan.rows, rows[i])
			}
		}
		p.planRows = plan.rows
	}

	// Deletion rows: retractions carry the loaded tweets' values.
	var retract []uint64
	for id := range withdraw {
		if live(id) {
			retract = append(retract, id)
		}
	}
	slices.Sort(retract)
	loaded, err := db.LoadedTweets(ctx, retract)
	if err != nil {
		return nil, err
	}
	values := make(map[uint64]warehouse.TweetRow, len(loaded))
	for _, r := range loaded {
		values[r.ID] = r
	}
	topic, partition := p.etl.cfg.Topic, int32(p.partition)
	for id, w := range withdraw {
		d := warehouse.DeletionRow{ID: id, UserID: w.t.userID, Reason: w.reason, DeletedAt: w.t.at}
		if v, ok := values[id]; ok && live(id) {
			d = warehouse.Retraction(v, w.reason, w.t.at)
			plan.purge = append(plan.purge, id)
		}
		d.KafkaTopic, d.KafkaPartition, d.KafkaOffset = topic, partition, w.t.offset
		plan.deletions = append(plan.deletions, d)
	}
	slices.SortFunc(plan.deletions, func(a, b warehouse.DeletionRow) int {
		return cmp.Or(cmp.Compare(a.KafkaOffset, b.KafkaOffset), cmp.Compare(a.ID, b.ID))
	})
	slices.Sort(plan.purge)
	return plan, nil
}
