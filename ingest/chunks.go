package ingest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/segmentio/kafka-go"
	"golang.org/x/sync/errgroup"

	"github.com/starling-analytics/starling/internal/tweet"
)

// chunk is a batch of lines of one source (one Read): read in order, parsed by any worker,
// and emitted in read order, so that parsing uses every core while the topic and the
// checkpoint see the feed's order.
type chunk struct {
	pass  int
	file  string // the source's name
	hints Hints
	// skipItems records of line skipLine were sent before the checkpoint the replay
	// resumes from.
	skipLine, skipItems int
	lines               []Line
	// Filled by the worker: encoded records, or (in a replay paced by Speed, which restamps
	// tweets as they are sent) the records to encode when they are emitted.
	items []item
	recs  []tweet.Record
	pos   []position
	err   error
	done  chan struct{}
}

// read parses every line of every source (again and again with Loop), from the checkpoint's
// position on, paces the records and hands them to the producer in the sources' order.
func (in *Ingester) read(ctx context.Context, sources []Source, resume position, out chan<- item, dlq *kafka.Writer) error {
	workers := runtime.GOMAXPROCS(0)
	work := make(chan *chunk, 2*workers)
	order := make(chan *chunk, 4*workers)
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error {
		defer close(work)
		defer close(order)
		return in.readChunks(gctx, sources, resume, work, order)
	})
	for range workers {
		g.Go(func() error {
			var fast fastV11
			for c := range work {
				in.parseChunk(gctx, &fast, c, dlq)
				// What parseChunk keeps of a line is a copy (an encoded record, a cloned
				// one, a dead letter): the lines' buffer can be read into again.
				recycle(c.lines)
				c.lines = nil
				close(c.done)
			}
			return nil
		})
	}
	g.Go(func() error { return in.emit(gctx, order, out) })
	return g.Wait()
}

// readChunks reads the sources, from the checkpoint's position on (again and again with
// Loop), and queues each batch of lines as a chunk for a worker and for the emitter.
func (in *Ingester) readChunks(ctx context.Context, sources []Source, resume position, work, order chan<- *chunk) error {
	resumeAt := slices.IndexFunc(sources, func(s Source) bool { return s.Name() == resume.File })
	send := func(c *chunk) error {
		for _, ch := range []chan<- *chunk{order, work} {
			select {
			case ch <- c:
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		return nil
	}
	for pass := resume.Pass; ; pass++ {
		for i, src := range sources {
			c := chunk{pass: pass}
			from := 0
			if pass == resume.Pass && resumeAt >= 0 {
				if i < resumeAt {
					continue
				}
				if i == resumeAt {
					from = resume.Line
					if resume.More { // re-read the line, past the records already sent
						from, c.skipLine, c.skipItems = resume.Line-1, resume.Line, resume.Item+1
					}
				}
			}
			if err := in.readSource(ctx, src, from, c, send); err != nil {
				return err
			}
		}
		in.mu.Lock()
		in.stats.Passes++
		in.stats.PassBytesRead = 0
		in.mu.Unlock()
		if !in.cfg.Loop {
			return nil
		}
	}
}

// readSource reads one source after line from, sending each batch of lines as a chunk
// made from proto.
func (in *Ingester) readSource(ctx context.Context, src Source, from int, proto chunk, send func(*chunk) error) error {
	name := src.Name()
	if err := src.Open(ctx, from); err != nil {
		return fmt.Errorf("ingest: %w", err)
	}
	defer src.Close()
	proto.file = name
	proto.hints = Hints{UserCompliance: strings.Contains(strings.ToLower(filepath.Base(name)), "user")}
	measured, _ := src.(measuredSource)
	var counted int64 // of measured's bytes read
	for {
		lines, err := src.Read(ctx)
		good := lines[:0]
		for _, l := range lines {
			if l.Err != nil {
				in.mu.Lock()
				in.stats.Rejected[reason(l.Err)]++
				in.mu.Unlock()
				in.log.Warn("rejected line", "file", name, "line", l.No, "reason", reason(l.Err), "err", l.Err)
				continue
			}
			good = append(good, l)
		}
		in.mu.Lock()
		in.stats.Lines += uint64(len(good))
		if measured != nil {
			n := measured.BytesRead()
			in.stats.BytesRead += n - counted
			in.stats.PassBytesRead += n - counted
			counted = n
		}
		in.mu.Unlock()
		if len(good) > 0 {
			c := proto
			c.lines, c.done = good, make(chan struct{})
			if err := send(&c); err != nil {
				return err
			}
		}
		switch {
		case err == nil:
		case errors.Is(err, io.EOF):
			return nil
		case ctx.Err() != nil:
			return ctx.Err()
		default:
			// A truncated archive still yields its good lines; report the damage and go on.
			in.log.Warn("input ended with an error", "file", name, "err", err)
			in.mu.Lock()
			in.stats.Rejected["damaged file"]++
			in.mu.Unlock()
			return nil
		}
	}
}

// parseChunk turns a chunk's lines into canonical records; rejected lines are dead-lettered
// here, so a bad line never holds up the good ones.
func (in *Ingester) parseChunk(ctx context.Context, fast *fastV11, c *chunk, dlq *kafka.Writer) {
	restamp := in.cfg.Speed > 0 || in.cfg.Stamp
	var valid, tombstones uint64
	var enc []byte
	if restamp { // one record a line, most often
		c.recs, c.pos = make([]tweet.Record, 0, len(c.lines)), make([]position, 0, len(c.lines))
	} else {
		size := 0
		for _, l := range c.lines {
			size += len(l.Data)
		}
		enc = make([]byte, 0, size)
	}
	var one [1]tweet.Record
	var scratch tweet.Record // the fast path's, reused line after line
	hints := c.hints
	hints.Now = in.cfg.Clock.Now()
	for _, l := range c.lines {
		line, lineNo := l.Data, l.No
		var recs []tweet.Record
		var err error
		if fast.parse(line, &scratch) {
			one[0] = scratch
			recs = one[:]
			if restamp { // kept past the next parse
				one[0] = cloneRecord(scratch)
			}
		} else {
			recs, err = hints.Parse(line)
		}
		if err != nil {
			// A page may hold usable tweets beside the rejected ones: those go on.
			if c.err = in.reject(ctx, dlq, c.file, lineNo, line, err); c.err != nil {
				return
			}
		}
		for i := range recs {
			if lineNo == c.skipLine && i < c.skipItems {
				continue // sent before the checkpoint
			}
			rec := &recs[i]
			if rec.IsTombstone() {
				tombstones++
			} else {
				valid++
			}
			if c.pass > 0 {
				shiftIDs(rec, c.pass)
			}
			pos := position{Pass: c.pass, File: c.file, Line: lineNo, Item: i, More: i < len(recs)-1}
			if restamp { // encoded when sent; tombstones keep their place and their time
				c.recs = append(c.recs, *rec)
				c.pos = append(c.pos, pos)
				continue
			}
			// Keys and values of the chunk share one buffer. When it grows, the records
			// already encoded keep pointing into the previous array, which nothing writes
			// again.
			start := len(enc)
			enc, err = tweet.AppendEncode(enc, rec)
			if err != nil {
				if c.err = in.reject(ctx, dlq, c.file, lineNo, line, err); c.err != nil {
					return
				}
				continue
			}
			key := rec.Key()
			enc = append(enc, key...)
			value, k := enc[start:len(enc)-len(key)], enc[len(enc)-len(key):]
			c.items = append(c.items, item{msg: kafka.Message{Key: k, Value: value}, pos: pos})
		}
	}
	in.mu.Lock()
	in.stats.Valid += valid
	in.stats.Tombstones += tombstones
	in.mu.Unlock()
}

// emit hands the parsed chunks' records to the producer in read order, paced.
func (in *Ingester) emit(ctx context.Context, order <-chan *chunk, out chan<- item) error {
	var p pacer
	pass := -1
	send := func(it item) error {
		select {
		case out <- it:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	var enc []byte // the records of a chunk paced and stamped, encoded back to back
	for c := range order {
		select {
		case <-c.done:
		case <-ctx.Done():
			return ctx.Err()
		}
		if c.err != nil {
			return c.err
		}
		if c.pass != pass {
			pass, p.first = c.pass, time.Time{}
		}
		for i := range c.recs {
			rec := &c.recs[i]
			paced := rec
			if rec.IsTombstone() {
				paced = nil // a tombstone keeps its own time and paces like any line
			}
			if err := in.wait(ctx, &p, paced); err != nil {
				return err
			}
			if in.cfg.Stamp && paced != nil {
				in.stamp(rec)
			}
			// Keys and values share a buffer, in blocks of about 256 KiB; the records sent
			// keep pointing into the blocks before, which nothing writes again.
			if cap(enc)-len(enc) < 4<<10 {
				enc = make([]byte, 0, 256<<10)
			}
			start := len(enc)
			var err error
			if enc, err = tweet.AppendEncode(enc, rec); err != nil {
				return fmt.Errorf("ingest: encode record %s: %w", rec.Key(), err)
			}
			enc = append(enc, rec.Key()...)
			key := len(enc) - len(rec.Key())
			value, k := enc[start:key:key], enc[key:len(enc):len(enc)]
			if err := send(item{msg: kafka.Message{Key: k, Value: value}, pos: c.pos[i]}); err != nil {
				return err
			}
		}
		for _, it := range c.items {
			if in.cfg.Rate > 0 {
				if err := in.wait(ctx, &p, nil); err != nil {
					return err
				}
			}
			if err := send(it); err != nil {
				return err
			}
		}
	}
	return nil
}
