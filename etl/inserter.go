package etl

import (
	"context"

	"github.com/starling-analytics/starling/warehouse"
)

// inserter writes the tweets of every partition's batches that are ready at the same time
// in one INSERT. Each INSERT costs ClickHouse a new part in the tweets table and in each
// of the tables its views fill, and merging those parts later; with a partition per
// loader, writing each batch on its own multiplied that cost by the partitions. Rows keep
// their topic, partition and offset, so the loaded-offsets view still records each
// partition's progress, and a failed INSERT fails every batch in it (each loader plans
// its batch again and retries).
//
// Batches that arrive while an INSERT runs wait for it and go in the next one together,
// as a group commit: no batch waits for others to come.
type inserter struct {
	db   *warehouse.DB
	reqs chan insertReq
}

type insertReq struct {
	ctx  context.Context
	rows []warehouse.TweetRow
	done chan error
}

func newInserter(db *warehouse.DB) *inserter {
	return &inserter{db: db, reqs: make(chan insertReq)}
}

// insert loads rows with the other batches ready now and returns the INSERT's result. It
// returns ctx's error if ctx ends before the rows are taken; once taken, they are written
// under the context of the batch that opened the INSERT.
func (in *inserter) insert(ctx context.Context, rows []warehouse.TweetRow) error {
	req := insertReq{ctx: ctx, rows: rows, done: make(chan error, 1)}
	select {
	case in.reqs <- req:
	case <-ctx.Done():
		return ctx.Err()
	}
	return <-req.done
}

// run serves insert calls until ctx ends.
func (in *inserter) run(ctx context.Context) {
	var rows []warehouse.TweetRow
	var waiting []insertReq
	for {
		select {
		case <-ctx.Done():
			return
		case req := <-in.reqs:
			waiting = append(waiting[:0], req)
		}
		// Take every batch already waiting, without waiting for more.
	more:
		for {
			select {
			case req := <-in.reqs:
				waiting = append(waiting, req)
			default:
				break more
			}
		}
		rows = rows[:0]
		for _, r := range waiting {
			rows = append(rows, r.rows...)
		}
		err := in.db.InsertTweets(waiting[0].ctx, rows)
		for _, r := range waiting {
			r.done <- err
		}
		clear(rows) // drop references to the rows' strings
		clear(waiting)
	}
}
