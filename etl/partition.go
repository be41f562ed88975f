package etl

import (
	"context"
	"errors"
	"strconv"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/starling-analytics/starling/internal/tweet"
	"github.com/starling-analytics/starling/warehouse"
)

// partitionConsumer loads one assigned partition for the length of one group generation.
type partitionConsumer struct {
	etl       *ETL
	db        *warehouse.DB
	dlq       *kafka.Writer
	gen       *kafka.Generation
	partition int
	start     int64

	rows    []warehouse.TweetRow
	last    int64     // offset of the last record in the pending batch, -1 when none
	firstAt time.Time // when the pending batch got its first record
	pending int       // records in the pending batch, loaded or dead-lettered
}

// run reads from the start offset until the generation ends, flushing batches on size and
// time. An unflushed batch is dropped when the generation ends: it was not loaded or
// committed, so the partition's next owner reads it again.
func (p *partitionConsumer) run(ctx context.Context) {
	e := p.etl
	r := kafka.NewReader(kafka.ReaderConfig{
		Brokers:   e.cfg.Brokers,
		Topic:     e.cfg.Topic,
		Partition: p.partition,
		MinBytes:  1,
		MaxBytes:  8 << 20,
		MaxWait:   250 * time.Millisecond,
		// A full batch of records buffered ahead of the insert bounds memory.
		QueueCapacity: e.cfg.BatchSize,
		ErrorLogger: kafka.LoggerFunc(func(msg string, args ...any) {
			e.log.Debug("partition reader", "partition", p.partition, "msg", msg)
		}),
	})
	defer r.Close()
	if err := r.SetOffset(p.start); err != nil {
		e.log.Error("set offset failed", "partition", p.partition, "offset", p.start, "err", err)
		return
	}
	p.last = -1
	p.rows = make([]warehouse.TweetRow, 0, e.cfg.BatchSize)
	for {
		fetchCtx := ctx
		var cancel context.CancelFunc = func() {}
		if p.pending > 0 {
			fetchCtx, cancel = context.WithDeadline(ctx, p.firstAt.Add(e.cfg.FlushInterval))
		}
		m, err := r.FetchMessage(fetchCtx)
		cancel()
		switch {
		case err == nil:
			p.add(ctx, m)
			if p.pending >= e.cfg.BatchSize && !p.flush(ctx) {
				return
			}
		case ctx.Err() != nil:
			return
		case errors.Is(err, context.DeadlineExceeded):
			if !p.flush(ctx) {
				return
			}
		default:
			e.log.Warn("fetch failed", "partition", p.partition, "err", err)
			if !newBackoff().wait(ctx) {
				return
			}
		}
	}
}

// add turns one record into a row, or dead-letters it.
func (p *partitionConsumer) add(ctx context.Context, m kafka.Message) {
	e := p.etl
	e.consumed.Add(1)
	if p.pending == 0 {
		p.firstAt = time.Now()
	}
	p.pending++
	p.last = m.Offset
	rec, err := tweet.Decode(m.Value)
	var row warehouse.TweetRow
	if err == nil {
		row, err = e.transform(rec, m)
	}
	if err != nil {
		p.deadLetter(ctx, m, err)
		return
	}
	p.rows = append(p.rows, row)
}

// deadLetter sends an unloadable record to the DLQ topic, value unchanged, with the reason
// and origin in headers. It retries until the broker accepts it or the generation ends.
func (p *partitionConsumer) deadLetter(ctx context.Context, m kafka.Message, reason error) {
	e := p.etl
	e.log.Warn("dead-lettering record", "partition", m.Partition, "offset", m.Offset, "reason", reason)
	msg := kafka.Message{
		Key:   m.Key,
		Value: m.Value,
		Headers: append(m.Headers,
			kafka.Header{Key: tweet.HeaderReason, Value: []byte(reason.Error())},
			kafka.Header{Key: tweet.HeaderTopic, Value: []byte(m.Topic)},
			kafka.Header{Key: tweet.HeaderPartition, Value: []byte(strconv.Itoa(m.Partition))},
			kafka.Header{Key: tweet.HeaderOffset, Value: []byte(strconv.FormatInt(m.Offset, 10))},
		),
	}
	b := newBackoff()
	for {
		err := p.dlq.WriteMessages(ctx, msg)
		if err == nil {
			e.dead.Add(1)
			return
		}
		e.log.Warn("dead-letter write failed; retrying", "err", err)
		if !b.wait(ctx) {
			return
		}
	}
}

// flush loads the pending batch and commits its offset. It retries the insert with back-off
// while the warehouse is down; false means the generation ended first.
func (p *partitionConsumer) flush(ctx context.Context) bool {
	if p.pending == 0 {
		return true
	}
	e := p.etl
	b := newBackoff()
	for {
		var err error
		if len(p.rows) > 0 {
			err = p.db.InsertTweets(ctx, p.rows)
		} else {
			err = p.db.RecordOffsets(ctx, e.cfg.Topic, map[int32]int64{int32(p.partition): p.last})
		}
		if err == nil {
			break
		}
		if ctx.Err() != nil {
			return false
		}
		e.insertErrors.Add(1)
		e.log.Warn("loading batch failed; retrying", "partition", p.partition, "rows", len(p.rows), "err", err)
		if !b.wait(ctx) {
			return false
		}
	}
	e.loaded.Add(uint64(len(p.rows)))
	e.batches.Add(1)
	if err := p.gen.CommitOffsets(map[string]map[int]int64{e.cfg.Topic: {p.partition: p.last + 1}}); err != nil {
		// The warehouse holds the batch and its offset, so resuming stays exact; the group
		// offset only lags until the next commit.
		e.log.Warn("commit failed", "partition", p.partition, "err", err)
	}
	p.rows = p.rows[:0]
	p.pending = 0
	return true
}
