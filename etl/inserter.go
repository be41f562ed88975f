package etl

import (
	"context"
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
}

// gatherWindow is how long a Load waits for more batches after the first.
const gatherWindow = 5 * time.Millisecond

type insertReq struct {
	ctx   context.Context
	batch warehouse.LoadBatch
	done  chan error
}

func newInserter(db *warehouse.DB) *inserter {
	return &inserter{db: db, reqs: make(chan insertReq)}
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

// run serves load calls until ctx ends.
func (in *inserter) run(ctx context.Context) {
	var batches []warehouse.LoadBatch
	var waiting []insertReq
	gather := time.NewTimer(0)
	<-gather.C
	for {
		select {
		case <-ctx.Done():
			return
		case req := <-in.reqs:
			waiting = append(waiting[:0], req)
		}
		gather.Reset(gatherWindow)
	more:
		for {
			select {
			case req := <-in.reqs:
				waiting = append(waiting, req)
			case <-gather.C:
				break more
			}
		}
		batches = batches[:0]
		for _, r := range waiting {
			batches = append(batches, r.batch)
		}
		err := in.db.Load(waiting[0].ctx, batches)
		for _, r := range waiting {
			r.done <- err
		}
		clear(batches) // drop references to the rows' strings
		clear(waiting)
	}
}
