package ingest

import (
	"context"
	"strconv"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/starling-analytics/starling/internal/retry"
	"github.com/starling-analytics/starling/internal/tweet"
)

// item is a record on its way to the broker, with where it came from.
type item struct {
	msg kafka.Message
	pos position
}

// produce writes batches of records, retrying each batch until the broker takes it, and
// keeps the checkpoint at the last acknowledged record.
func (in *Ingester) produce(ctx context.Context, w *kafka.Writer, records <-chan item) error {
	batch := make([]item, 0, in.cfg.BatchSize)
	msgs := make([]kafka.Message, 0, in.cfg.BatchSize)
	var acked position
	var lastSave time.Time
	save := func() {
		if acked.File == "" {
			return
		}
		if err := in.saveCheckpoint(acked); err != nil {
			in.log.Warn("cannot write the checkpoint", "err", err)
		}
		lastSave = time.Now()
	}
	defer save()
	for {
		it, ok := <-records
		if !ok {
			return nil
		}
		batch = append(batch[:0], it)
		batch = in.fill(batch, records)
		msgs = msgs[:0]
		for _, it := range batch {
			msgs = append(msgs, it.msg)
		}
		if err := in.writeRetrying(ctx, w, msgs); err != nil {
			return err
		}
		acked = batch[len(batch)-1].pos
		in.mu.Lock()
		in.stats.Produced += uint64(len(batch))
		in.mu.Unlock()
		if time.Since(lastSave) >= checkpointEvery {
			save()
		}
	}
}

// fill adds to batch what records has ready, up to the batch size, then waits up to the
// linger for more while the batch is not full.
func (in *Ingester) fill(batch []item, records <-chan item) []item {
	var linger <-chan time.Time
	for len(batch) < in.cfg.BatchSize {
		select {
		case it, ok := <-records:
			if !ok {
				return batch
			}
			batch = append(batch, it)
			continue
		default:
		}
		if in.cfg.Linger < 0 {
			return batch
		}
		if linger == nil {
			t := time.NewTimer(in.cfg.Linger)
			defer t.Stop()
			linger = t.C
		}
		select {
		case it, ok := <-records:
			if !ok {
				return batch
			}
			batch = append(batch, it)
		case <-linger:
			return batch
		}
	}
	return batch
}

func (in *Ingester) writeRetrying(ctx context.Context, w *kafka.Writer, msgs []kafka.Message) error {
	var b retry.Backoff
	for {
		err := w.WriteMessages(ctx, msgs...)
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		in.log.Warn("produce failed; retrying", "records", len(msgs), "err", err, "retry_in", b.Next())
		if !b.Wait(ctx) {
			return ctx.Err()
		}
	}
}

// reject counts a bad line, logs it (the first few of each reason) and dead-letters it.
func (in *Ingester) reject(ctx context.Context, dlq *kafka.Writer, file string, lineNo int, line []byte, err error) error {
	why := reason(err)
	in.mu.Lock()
	in.stats.Rejected[why]++
	n := in.stats.Rejected[why]
	in.mu.Unlock()
	if n <= 10 {
		in.log.Warn("rejected line", "file", file, "line", lineNo, "reason", why, "err", err)
	}
	if dlq == nil { // a dry run
		return nil
	}
	msg := kafka.Message{Value: append([]byte(nil), line...), Headers: []kafka.Header{
		{Key: tweet.HeaderReason, Value: []byte(err.Error())},
		{Key: tweet.HeaderSource, Value: []byte(file + ":" + strconv.Itoa(lineNo))},
	}}
	return in.writeRetrying(ctx, dlq, []kafka.Message{msg})
}
