package etl

import (
	"context"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/starling-analytics/starling/internal/retry"
	"github.com/starling-analytics/starling/warehouse"
)

// purger removes the rows of withdrawn tweets from the tweets and entities tables. The
// aggregates lose a withdrawn tweet in the INSERT of its deletion row; the rows themselves
// go by ClickHouse mutations (ALTER TABLE … DELETE), which rewrite table parts in the
// background and are too heavy to run per batch. The purger gathers the ids of several
// flushes and sends one mutation every purgeEvery.
type purger struct {
	db  *warehouse.DB
	log *slog.Logger

	mu      sync.Mutex
	pending []uint64      // ids to purge, guarded by mu
	wake    chan struct{} // signalled when pending grows; capacity 1
}

// purgeEvery spaces the mutations.
const purgeEvery = 2 * time.Second

func newPurger(db *warehouse.DB, log *slog.Logger) *purger {
	return &purger{db: db, log: log, wake: make(chan struct{}, 1)}
}

// add queues ids for the next purge; it never blocks.
func (p *purger) add(ids []uint64) {
	if p == nil || len(ids) == 0 {
		return
	}
	p.mu.Lock()
	p.pending = append(p.pending, ids...)
	p.mu.Unlock()
	select {
	case p.wake <- struct{}{}:
	default:
	}
}

// run purges until ctx ends. It first removes the rows of tweets withdrawn by an earlier
// process that stopped before its purge ran.
func (p *purger) run(ctx context.Context) {
	b := retry.Backoff{Max: maxBackoff}
	for {
		n, err := p.db.UnpurgedWithdrawn(ctx)
		if err == nil && n > 0 {
			p.log.Info("purging withdrawn tweets left by an earlier run", "tweets", n)
			err = p.db.PurgeAllWithdrawn(ctx)
		}
		if err == nil {
			break
		}
		p.log.Warn("purge of withdrawn tweets failed; retrying", "err", err)
		if !b.Wait(ctx) {
			return
		}
	}
	defer p.last(ctx)
	for {
		select {
		case <-ctx.Done():
			return
		case <-p.wake:
		}
		// Let a few more flushes join this mutation.
		select {
		case <-ctx.Done():
			return
		case <-time.After(purgeEvery):
		}
		b.Reset()
		ids := p.take()
		for len(ids) > 0 {
			err := p.db.PurgeWithdrawn(ctx, ids)
			if err == nil {
				p.log.Debug("purged withdrawn tweets", "tweets", len(ids))
				break
			}
			p.log.Warn("purge of withdrawn tweets failed; retrying", "tweets", len(ids), "err", err)
			if !b.Wait(ctx) {
				p.add(ids) // for the last attempt
				return
			}
		}
	}
}

// take empties the queue.
func (p *purger) take() []uint64 {
	p.mu.Lock()
	ids := p.pending
	p.pending = nil
	p.mu.Unlock()
	slices.Sort(ids)
	return slices.Compact(ids)
}

// last gives what is queued when the ETL stops one bounded attempt; what it misses, the
// next ETL's start purges.
func (p *purger) last(ctx context.Context) {
	ids := p.take()
	if len(ids) == 0 {
		return
	}
	lctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if err := p.db.PurgeWithdrawn(lctx, ids); err != nil {
		p.log.Warn("purge of withdrawn tweets at stop failed; the next start does it", "tweets", len(ids), "err", err)
	}
}
