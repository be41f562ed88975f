package etl

import (
	"context"
	"sync"
	"time"

	"github.com/starling-analytics/starling/warehouse"
)

// inserter loads the batches of every partition that are ready at the same time in one
// warehouse.Load: one INSERT per table for all of them. Each INSERT costs ClickHouse a new
// part in its table and merging it later, whatever its size; partitions that keep up flush
// at the same ticks of the ETL's clock (nextTick), so that at a steady rate a replica makes
// one set of parts per flush interval, not one per partition. The batches commit together:
// a failed Load fails every batch in it, and each loader retries its own.
//
// The first batch of a round waits up to gatherWindow for the others due at the same tick;
// batches that arrive while a Load runs wait for it and go in the next one together, as a
// group commit.
type inserter struct {
	db   *warehouse.DB
	reqs chan insertReq
	// loaded, when set, is told how many records each successful Load carried and how
	// long it took.
	loaded func(records int64, took time.Duration)
}

// gatherWindow is how long a Load waits for more batches after the first.
const gatherWindow = 5 * time.Millisecond

type insertReq struct {
	ctx   context.Context
	batch warehouse.LoadBatch
	done  chan error
}

func newInserter(db *warehouse.DB, loaded func(records int64, took time.Duration)) *inserter {
	return &inserter{db: db, reqs: make(chan insertReq), loaded: loaded}
}

// load loads b with the other batches ready now and returns the Load's result. It returns
// ctx's error if ctx ends before b is taken; once taken, the batches are written under the
// context of the batch that opened the Load.
func (in *inserter) load(ctx context.Context, b warehouse.LoadBatch) error {
	req := insertReq{ctx: ctx, batch: b, done: make(chan error, 1)}
	select {
	case in.reqs <- req:
	case <-ctx.Done():
		return ctx.Err()
	}
	return <-req.done
}

// run gathers load calls into rounds and hands each round to one of workers goroutines,
// until ctx ends. One goroutine gathers, so the batches due at the same tick go in one
// round whichever worker is free; while every worker is busy, calls wait and join the
// next round.
func (in *inserter) run(ctx context.Context, workers int) {
	rounds := make(chan []insertReq)
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			var batches []warehouse.LoadBatch
			for round := range rounds {
				batches = batches[:0]
				var records int64
				for _, r := range round {
					batches = append(batches, r.batch)
					records += r.batch.Last - r.batch.First + 1
				}
				start := time.Now()
				err := in.db.Load(round[0].ctx, batches)
				if err == nil && in.loaded != nil {
					in.loaded(records, time.Since(start))
				}
				for _, r := range round {
					r.done <- err
				}
				clear(batches) // drop references to the rows' strings
			}
		})
	}
	defer func() { close(rounds); wg.Wait() }()
	gather := time.NewTimer(0)
	<-gather.C
	for {
		var round []insertReq
		select {
		case <-ctx.Done():
			return
		case req := <-in.reqs:
			round = append(round, req)
		}
		gather.Reset(gatherWindow)
	more:
		for {
			select {
			case req := <-in.reqs:
				round = append(round, req)
			case <-gather.C:
				break more
			}
		}
		select {
		case rounds <- round:
		case <-ctx.Done():
			for _, r := range round {
				r.done <- ctx.Err()
			}
			return
		}
	}
}
