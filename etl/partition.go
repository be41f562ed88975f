package etl

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/starling-analytics/starling/internal/retry"
	"github.com/starling-analytics/starling/internal/tweet"
	"github.com/starling-analytics/starling/warehouse"
)

// partitionLoader loads one assigned partition for the length of one group generation.
// It runs in one goroutine (Generation.Start); nothing in it is shared.
type partitionLoader struct {
	etl       *ETL
	db        *warehouse.DB
	dlq       *kafka.Writer
	requeue   *kafka.Writer // the tweet topic, for fanOut
	dec       decoder
	gen       *kafka.Generation
	partition int
	committed int64 // the group's committed offset at assignment, or kafka.FirstOffset
	// maxKnown is the highest tweet id the warehouse held at assignment, raised as this
	// loader writes: see plan.
	maxKnown uint64
	// storedTo is the highest offset of the partition whose rows the warehouse held at
	// assignment, committed or not. Batches up to it, and a batch retried after a failed
	// load, are loaded with Careful: an attempt that never committed may have stored some
	// of their rows (see warehouse.Load).
	storedTo int64
	careful  bool
	// planRows is the memory of the last plan's rows, reused by the next (plan).
	planRows []warehouse.TweetRow

	// The pending batch: tweets, tombstones and records to dead-letter, covering the
	// offsets up to last. Records are added in offset order, so rows and tombs are too.
	rows        []warehouse.TweetRow
	tombs       []tombstone
	dead        []kafka.Message
	pending     int   // records in the batch, loaded or dead-lettered
	first       int64 // offset of the batch's first record
	last        int64 // offset of the batch's last record
	flushAt     context.Context
	cancelFlush context.CancelFunc
	// flushLate is the batch's deadline while the partition is behind (see backlogWait),
	// cancelled with flushAt.
	flushLate       context.Context
	cancelFlushLate context.CancelFunc
	// behind is how many records the broker held past the last one read, when it was read.
	behind int64
	// overdue: the batch's flush interval is up, and it flushes once it has read what the
	// broker held then (behind reaches 0).
	overdue bool
}

// flushReason says why a batch was flushed.
type flushReason int

const (
	flushFull     flushReason = iota // it reached BatchSize records
	flushInterval                    // its flush interval ended while the partition kept up
	flushStalled                     // the partition was behind, but its reader delivered nothing for backlogWait
	flushHandover                    // the partition was taken away (rebalance or shutdown)
	flushReasons
)

func (r flushReason) String() string {
	return [...]string{"full", "interval", "stalled", "handover"}[r]
}

// nextTick is when a batch begun at now flushes while its partition keeps up: the end of
// the current interval of the ETL's clock, the same for every partition, so that the
// batches of all partitions go in the same INSERTs (see inserter).
func nextTick(now time.Time, interval time.Duration) time.Time {
	return now.Truncate(interval).Add(interval)
}

// backlogWait bounds how long a batch waits to fill while its partition is behind: ten
// flush intervals, and at least two seconds (the records are in the broker; only a reader
// that stalls takes that long).
func backlogWait(flush time.Duration) time.Duration { return max(10*flush, 2*time.Second) }

// run resumes the partition after what the warehouse holds and what the group committed,
// then reads, batches and flushes until the generation ends. A batch still pending then
// gets one bounded flush; if that fails it is simply read again by the next owner.
func (p *partitionLoader) run(genCtx context.Context) {
	e := p.etl
	// genCtx is kafka-go's own Context type: every context derived from it directly costs
	// a goroutine. Deriving once here keeps the per-batch deadlines below cheap.
	ctx, cancel := context.WithCancel(genCtx)
	defer cancel()

	start, ok := p.startOffset(ctx)
	if !ok {
		return
	}
	// Read ahead by at most one batch: with the pending batch this bounds the memory a
	// partition holds while the warehouse is slow or down.
	r, err := e.partitionReader(p.partition, start, e.cfg.BatchSize, "partition-reader")
	if err != nil {
		e.log.Error("cannot position partition reader", "partition", p.partition, "offset", start, "err", err)
		return
	}
	defer e.closeReader(r, p.partition)
	e.log.Debug("partition started", "partition", p.partition, "offset", start)
	p.rows = make([]warehouse.TweetRow, 0, min(e.cfg.BatchSize, 1<<16))
	defer p.flushOnClose(ctx)

	lag := e.metrics.lag.WithLabelValues(e.cfg.Topic, strconv.Itoa(p.partition))
	defer e.metrics.lag.DeleteLabelValues(e.cfg.Topic, strconv.Itoa(p.partition)) // another member reports it now
	fetchBackoff := retry.Backoff{Max: maxBackoff}
	for {
		fetchCtx := ctx
		if p.pending > 0 {
			fetchCtx = p.flushAt
			// The flush interval bounds how long a record waits for its batch while the
			// partition keeps up. While it is behind by at least the batch's room, the
			// records that fill the batch are already in the broker, and the batch is
			// flushed full instead: every INSERT costs ClickHouse new parts in its tables
			// whatever its size, so a backlog is loaded in fewer, larger INSERTs. Once the
			// interval is up (overdue), the batch takes the records the broker already
			// held and flushes when it has read up to them.
			if p.overdue || p.behind >= int64(e.cfg.BatchSize-p.pending) {
				fetchCtx = p.flushLate
			}
		}
		m, err := r.FetchMessage(fetchCtx)
		switch {
		case err == nil:
			fetchBackoff.Reset()
			p.behind = max(m.HighWaterMark-m.Offset-1, 0)
			lag.Set(float64(p.behind))
			p.add(ctx, m)
			switch {
			case p.pending >= e.cfg.BatchSize:
				if !p.flush(ctx, flushFull) {
					return
				}
			case p.overdue && p.behind == 0:
				if !p.flush(ctx, flushInterval) {
					return
				}
			}
		case ctx.Err() != nil:
			return
		case errors.Is(err, context.DeadlineExceeded) && fetchCtx == p.flushAt && p.behind > 0:
			p.overdue = true // the interval is up, and the broker holds more of the partition
		case errors.Is(err, context.DeadlineExceeded):
			why := flushInterval
			if fetchCtx == p.flushLate {
				why = flushStalled // behind, yet nothing arrived for backlogWait
			}
			if !p.flush(ctx, why) {
				return
			}
		default:
			e.log.Warn("fetch failed; retrying", "partition", p.partition, "err", err)
			if !fetchBackoff.Wait(ctx) {
				return
			}
		}
	}
}

// startOffset is where loading resumes: after the warehouse's last loaded offset or at the
// group's committed offset, whichever is later. The warehouse is asked on every
// assignment, after the partition's previous owner has stopped, so it knows that owner's
// last insert even when its commit never happened. false means the generation ended first.
func (p *partitionLoader) startOffset(ctx context.Context) (int64, bool) {
	e := p.etl
	b := retry.Backoff{Max: maxBackoff}
	for {
		loaded, err := p.db.LoadedOffsets(ctx, e.cfg.Topic)
		if err == nil {
			p.maxKnown, err = p.db.MaxKnownID(ctx)
		}
		var stored map[int32]int64
		if err == nil {
			stored, err = p.db.StoredExtent(ctx, e.cfg.Topic)
		}
		if err == nil {
			start := kafka.FirstOffset
			if p.committed >= 0 {
				start = p.committed
			}
			if l, ok := loaded[int32(p.partition)]; ok && l+1 > start {
				start = l + 1
			}
			p.storedTo = -1
			if s, ok := stored[int32(p.partition)]; ok && s >= start {
				p.storedTo = s
				e.log.Info("rows of an attempt that did not commit lie ahead: loading carefully up to them", "partition", p.partition, "from", start, "to", s)
			}
			return start, true
		}
		e.log.Warn("reading loaded offsets failed; retrying", "partition", p.partition, "err", err)
		if !b.Wait(ctx) {
			return 0, false
		}
	}
}

// add turns one record into a row, or into a dead letter.
func (p *partitionLoader) add(ctx context.Context, m kafka.Message) {
	e := p.etl
	e.consumed.Add(1)
	e.metrics.consumed.Inc()
	if p.pending == 0 {
		p.flushAt, p.cancelFlush = context.WithDeadline(ctx, nextTick(time.Now(), e.flushTick()))
		p.flushLate, p.cancelFlushLate = context.WithTimeout(ctx, backlogWait(e.cfg.FlushInterval))
		p.first = m.Offset
		p.careful = p.careful || m.Offset <= p.storedTo
	}
	p.pending++
	p.last = m.Offset
	row, tomb, err := e.transform(&p.dec, m)
	switch {
	case err != nil:
		e.log.Warn("dead-lettering record", "partition", m.Partition, "offset", m.Offset, "reason", err)
		p.dead = append(p.dead, deadLetter(m, err))
	case tomb != nil:
		p.tombs = append(p.tombs, *tomb)
	default:
		p.rows = append(p.rows, row)
	}
}

// deadLetter is the DLQ record for m: its key, value and headers unchanged, plus the reason
// and origin.
func deadLetter(m kafka.Message, reason error) kafka.Message {
	headers := make([]kafka.Header, 0, len(m.Headers)+4)
	headers = append(headers, m.Headers...)
	headers = append(headers,
		kafka.Header{Key: tweet.HeaderReason, Value: []byte(reason.Error())},
		kafka.Header{Key: tweet.HeaderTopic, Value: []byte(m.Topic)},
		kafka.Header{Key: tweet.HeaderPartition, Value: []byte(strconv.Itoa(m.Partition))},
		kafka.Header{Key: tweet.HeaderOffset, Value: []byte(strconv.FormatInt(m.Offset, 10))},
	)
	return kafka.Message{Key: m.Key, Value: m.Value, Headers: headers}
}

// flush completes the pending batch: dead letters first (so that nothing is marked done
// before it is safe somewhere), then the plan (what the warehouse already holds decides
// which tweets are new and which to withdraw) and its load, which commits the batch with
// its aggregates and mark (warehouse.Load), then the group commit. Warehouse and DLQ
// writes are retried with back-off until waitCtx ends. A failed load may have stored rows
// or even committed: the retry asks whether the batch is committed, and if not plans again
// and loads with Careful. false means waitCtx ended first and the batch was abandoned (the
// next owner reads it again).
func (p *partitionLoader) flush(waitCtx context.Context, why flushReason) bool {
	if p.pending == 0 {
		return true
	}
	e := p.etl
	started := time.Now()
	if len(p.dead) > 0 {
		if !p.retry(waitCtx, "dead-letter write", func(ctx context.Context) error {
			return p.dlq.WriteMessages(ctx, p.dead...)
		}) {
			return false
		}
		e.dead.Add(uint64(len(p.dead)))
		e.metrics.deadLettered.Add(float64(len(p.dead)))
		// Written: a retried flush of this batch (flushOnClose) must not write them again.
		clear(p.dead)
		p.dead = p.dead[:0]
	}
	if !p.retry(waitCtx, "account tombstones", p.fanOut) {
		return false
	}
	var plan *batchPlan // the plan of the attempt that committed
	if !p.retry(waitCtx, "load", func(ctx context.Context) error {
		if p.careful {
			if _, ok, err := p.db.BatchCommitted(ctx, e.cfg.Topic, int32(p.partition), p.first); err != nil {
				return err
			} else if ok {
				return nil // an earlier attempt's commit, whose reply was lost
			}
		}
		var err error
		if plan, err = p.plan(ctx, p.rows, p.tombs); err != nil {
			return err
		}
		err = e.inserter.load(ctx, warehouse.LoadBatch{Topic: e.cfg.Topic, Partition: int32(p.partition), First: p.first, Last: p.last,
			Tweets: plan.rows, Deletions: plan.deletions, Careful: p.careful})
		if err != nil {
			p.careful = true // it may have stored rows
		}
		return err
	}) {
		return false
	}
	p.careful = p.last < p.storedTo
	if plan != nil {
		// What this batch wrote is known now, and ids of the batch that were skipped
		// were known before.
		for i := range p.rows {
			p.maxKnown = max(p.maxKnown, p.rows[i].ID)
		}
		for _, t := range p.tombs {
			p.maxKnown = max(p.maxKnown, t.id)
		}
		for _, d := range plan.deletions {
			p.maxKnown = max(p.maxKnown, d.ID)
		}
		var retracted int
		for _, d := range plan.deletions {
			if d.Retracted {
				retracted++
			}
		}
		e.loaded.Add(uint64(len(plan.rows)))
		now := time.Now()
		for i := range plan.rows {
			e.metrics.freshness.Observe(now.Sub(plan.rows[i].CreatedAt).Seconds())
		}
		e.duplicates.Add(uint64(plan.duplicates + plan.superseded))
		e.withdrawn.Add(uint64(len(plan.deletions)))
		e.metrics.loaded.Add(float64(len(plan.rows)))
		e.metrics.skipped.WithLabelValues("duplicate").Add(float64(plan.duplicates))
		e.metrics.skipped.WithLabelValues("superseded").Add(float64(plan.superseded))
		e.metrics.skipped.WithLabelValues("withdrawn").Add(float64(plan.withdrawn))
		e.metrics.deletions.Add(float64(len(plan.deletions)))
		e.purger.add(plan.purge)
	} else {
		// Committed by an attempt of another process, whose plan is not known here: the
		// batch's ids are known now, and its withdrawals are among the ids its tombstones
		// name, which the purger deletes again harmlessly.
		p.maxKnown = max(p.maxKnown, p.maxIDOfBatch())
		e.purger.add(p.tombIDs())
	}
	e.batches[why].Add(1)
	e.metrics.batches.WithLabelValues(why.String()).Inc()
	e.metrics.batchRecords.Observe(float64(p.pending))
	e.metrics.batchSeconds.Observe(time.Since(started).Seconds())
	if err := p.gen.CommitOffsets(map[string]map[int]int64{e.cfg.Topic: {p.partition: p.last + 1}}); err != nil {
		// The warehouse holds the batch and its mark, so resuming stays exact; the group's
		// offset lags until the next commit.
		e.log.Warn("offset commit failed", "partition", p.partition, "offset", p.last+1, "err", err)
	}
	p.reset()
	return true
}

// maxIDOfBatch is the highest tweet id the pending batch names.
func (p *partitionLoader) maxIDOfBatch() uint64 {
	var m uint64
	for i := range p.rows {
		m = max(m, p.rows[i].ID)
		for _, id := range p.rows[i].EditHistory {
			m = max(m, id)
		}
	}
	for _, t := range p.tombs {
		m = max(m, t.id)
	}
	return m
}

// tombIDs are the tweet ids the pending batch's tombstones name.
func (p *partitionLoader) tombIDs() []uint64 {
	var ids []uint64
	for _, t := range p.tombs {
		if t.id != 0 {
			ids = append(ids, t.id)
		}
	}
	return ids
}

// fanOut produces, for each tombstone of an account in the batch, a tombstone of each of
// the account's loaded tweets created until the event, keyed by the tweet's id and written
// to the partition the tweet was loaded from (see plan).
// Done again after a crash, it produces them again, and they are found applied.
func (p *partitionLoader) fanOut(ctx context.Context) error {
	var out []kafka.Message
	for _, t := range p.tombs {
		if t.id != 0 {
			continue
		}
		loaded, err := p.db.TweetsOfUser(ctx, t.userID, t.at)
		if err != nil {
			return err
		}
		for _, r := range loaded {
			rec := tweet.Record{Schema: tweet.SchemaVersion, Kind: tweet.KindDelete, ID: strconv.FormatUint(r.ID, 10),
				User: tweet.User{ID: strconv.FormatUint(t.userID, 10)}, CreatedAt: t.at, Reason: t.reason, SourceFormat: tweet.FormatStarling}
			value, err := tweet.Encode(rec)
			if err != nil {
				return err
			}
			// To the partition the tweet came from, whatever partitioner its producer used.
			out = append(out, kafka.Message{Key: []byte(rec.Key()), Value: value, Partition: int(r.KafkaPartition)})
		}
	}
	if len(out) == 0 {
		return nil
	}
	if err := p.requeue.WriteMessages(ctx, out...); err != nil {
		return fmt.Errorf("produce %d tombstones of an account's tweets: %w", len(out), err)
	}
	p.etl.log.Info("account tombstone fanned out", "partition", p.partition, "tweets", len(out))
	return nil
}

// retry runs op until it succeeds, backing off between attempts, until waitCtx ends. Each
// attempt has its own deadline and is not cut short when waitCtx ends: an INSERT abandoned
// halfway might still be stored after the next owner of the partition has read the loaded
// offsets.
func (p *partitionLoader) retry(waitCtx context.Context, what string, op func(context.Context) error) bool {
	e := p.etl
	b := retry.Backoff{Max: maxBackoff}
	for {
		err := p.attempt(waitCtx, op)
		if err == nil {
			return true
		}
		e.insertErrors.Add(1)
		e.metrics.writeErrors.WithLabelValues(what).Inc()
		e.log.Warn(what+" failed; retrying", "partition", p.partition, "rows", len(p.rows), "tombstones", len(p.tombs), "dead_letters", len(p.dead), "err", err)
		if !b.Wait(waitCtx) {
			return false
		}
	}
}

// attempt runs op once with its own deadline, detached from waitCtx's cancellation.
func (p *partitionLoader) attempt(waitCtx context.Context, op func(context.Context) error) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(waitCtx), insertTimeout)
	defer cancel()
	return op(ctx)
}

// flushOnClose gives a batch still pending when the partition is taken away one bounded
// chance to load, so that the next owner need not read it again.
func (p *partitionLoader) flushOnClose(ctx context.Context) {
	if p.pending == 0 {
		return
	}
	waitCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), closeFlushTimeout)
	defer cancel()
	if !p.flush(waitCtx, flushHandover) {
		p.etl.log.Info("pending batch left for the next owner", "partition", p.partition, "records", p.pending)
		p.reset()
	}
}

// reset empties the pending batch, keeping its memory.
func (p *partitionLoader) reset() {
	clear(p.rows) // drop references to the rows' strings
	clear(p.planRows[:cap(p.planRows)])
	p.rows = p.rows[:0]
	p.tombs = p.tombs[:0]
	p.dead = p.dead[:0]
	p.pending, p.overdue = 0, false
	if p.cancelFlush != nil {
		p.cancelFlush()
		p.cancelFlushLate()
		p.flushAt, p.cancelFlush, p.flushLate, p.cancelFlushLate = nil, nil, nil, nil
	}
}
