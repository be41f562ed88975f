// Package ingest is Starling's producer side: it reads tweets from archive files, turns each
// into the canonical record (internal/tweet) and produces it to topic "tweets" with the tweet
// id as key. Lines that are not usable tweets are counted, logged and sent unchanged to the
// dead-letter topic; they never stop a run.
package ingest

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/segmentio/kafka-go"
	"golang.org/x/sync/errgroup"

	"github.com/starling-analytics/starling/internal/kafkaclient"
	"github.com/starling-analytics/starling/internal/tweet"
)

// Clock is the time source pacing uses; tests pass a fake one.
type Clock interface {
	Now() time.Time
	After(d time.Duration) <-chan time.Time
}

type realClock struct{}

func (realClock) Now() time.Time                         { return time.Now() }
func (realClock) After(d time.Duration) <-chan time.Time { return time.After(d) }

// Config configures a replay. Zero values are the documented defaults.
type Config struct {
	// Brokers are the Kafka bootstrap addresses. Default ["127.0.0.1:9092"].
	Brokers []string
	// Kafka holds TLS and SASL settings for the brokers; the zero value is plaintext.
	Kafka kafkaclient.Config
	// Topic receives canonical tweets. Default "tweets".
	Topic string
	// DLQTopic receives rejected lines. Default "tweets.dlq".
	DLQTopic string
	// Inputs are files or glob patterns, read in order; gzip is detected by its magic bytes.
	// Required.
	Inputs []string
	// Speed paces the replay against the tweets' own timestamps: 1 is real time, 60 a minute
	// of the feed per second. 0 sends as fast as the broker takes them.
	Speed float64
	// KeepTime keeps the tweets' original created_at in a paced replay. By default a paced
	// replay stamps each tweet with the moment it is sent, so the dashboard shows it live.
	KeepTime bool
	// Loop replays the inputs forever; each pass shifts tweet ids so that replays are new
	// tweets, not duplicates.
	Loop bool
	// BatchSize is the most records per produce call. Default 1000.
	BatchSize int
	// Clock paces the replay; nil is the real clock.
	Clock Clock
	// Logger receives progress and rejections; nil discards them.
	Logger *slog.Logger
}

func (c Config) withDefaults() Config {
	if len(c.Brokers) == 0 {
		c.Brokers = []string{"127.0.0.1:9092"}
	}
	if c.Topic == "" {
		c.Topic = tweet.TopicTweets
	}
	if c.DLQTopic == "" {
		c.DLQTopic = tweet.TopicDLQ
	}
	if c.BatchSize == 0 {
		c.BatchSize = 1000
	}
	if c.Clock == nil {
		c.Clock = realClock{}
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c
}

// Validate reports the first setting that cannot work.
func (c Config) Validate() error {
	if err := c.Kafka.Validate(); err != nil {
		return fmt.Errorf("ingest: %w", err)
	}
	if len(c.Inputs) == 0 {
		return errors.New("ingest: no input files given")
	}
	if c.Speed < 0 {
		return fmt.Errorf("ingest: speed must not be negative, not %g", c.Speed)
	}
	if c.BatchSize < 0 {
		return fmt.Errorf("ingest: batch size must be positive, not %d", c.BatchSize)
	}
	_, err := expand(c.Inputs)
	return err
}

// Stats counts what a run did.
type Stats struct {
	Lines    uint64            // lines read (blank lines excluded)
	Produced uint64            // canonical records acknowledged by the broker
	Rejected map[string]uint64 // rejected lines per reason
	Passes   int               // completed passes over the inputs
}

// Ingester replays files into the broker.
type Ingester struct {
	cfg Config
	log *slog.Logger

	mu    sync.Mutex
	stats Stats
}

// New checks cfg and prepares an Ingester.
func New(cfg Config) (*Ingester, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	return &Ingester{cfg: cfg, log: cfg.Logger, stats: Stats{Rejected: map[string]uint64{}}}, nil
}

// Run is New followed by (*Ingester).Run.
func Run(ctx context.Context, cfg Config) error {
	in, err := New(cfg)
	if err != nil {
		return err
	}
	return in.Run(ctx)
}

// Stats returns a snapshot of the counters.
func (in *Ingester) Stats() Stats {
	in.mu.Lock()
	defer in.mu.Unlock()
	s := in.stats
	s.Rejected = make(map[string]uint64, len(in.stats.Rejected))
	for k, v := range in.stats.Rejected {
		s.Rejected[k] = v
	}
	return s
}

// Run replays the inputs (forever with Loop) and returns when they are done and every record
// is acknowledged, or when ctx is done.
func (in *Ingester) Run(ctx context.Context) error {
	files, err := expand(in.cfg.Inputs)
	if err != nil {
		return err
	}
	transport, err := in.cfg.Kafka.Transport()
	if err != nil {
		return fmt.Errorf("ingest: %w", err)
	}
	w := &kafka.Writer{
		Addr:                   kafka.TCP(in.cfg.Brokers...),
		Transport:              transport,
		Topic:                  in.cfg.Topic,
		Balancer:               &kafka.Hash{},
		RequiredAcks:           kafka.RequireAll,
		BatchSize:              in.cfg.BatchSize,
		BatchTimeout:           5 * time.Millisecond,
		Compression:            kafka.Lz4,
		AllowAutoTopicCreation: true,
	}
	defer w.Close()
	dlq := &kafka.Writer{
		Addr:                   kafka.TCP(in.cfg.Brokers...),
		Transport:              transport,
		Topic:                  in.cfg.DLQTopic,
		RequiredAcks:           kafka.RequireAll,
		BatchTimeout:           5 * time.Millisecond,
		AllowAutoTopicCreation: true,
	}
	defer dlq.Close()

	start := time.Now()
	// Records flow reader → bounded channel → producer: the reader blocks when the broker
	// falls behind, so memory stays bounded.
	records := make(chan kafka.Message, 4*in.cfg.BatchSize)
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error {
		defer close(records)
		return in.read(gctx, files, records, dlq)
	})
	g.Go(func() error { return in.produce(gctx, w, records) })
	progressCtx, stopProgress := context.WithCancel(gctx)
	progressDone := make(chan struct{})
	go func() { defer close(progressDone); in.progress(progressCtx, start) }()
	err = g.Wait()
	stopProgress()
	<-progressDone
	s := in.Stats()
	in.log.Info("ingest finished", "lines", s.Lines, "produced", s.Produced, "rejected", s.Rejected,
		"passes", s.Passes, "seconds", time.Since(start).Seconds(), "tweets_per_s", float64(s.Produced)/time.Since(start).Seconds())
	if ctx.Err() != nil {
		return nil
	}
	return err
}

// progress logs counters every few seconds until ctx is done.
func (in *Ingester) progress(ctx context.Context, start time.Time) {
	t := time.NewTicker(5 * time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			s := in.Stats()
			in.log.Info("ingest progress", "lines", s.Lines, "produced", s.Produced, "rejected", s.Rejected,
				"tweets_per_s", float64(s.Produced)/time.Since(start).Seconds())
		}
	}
}

// produce writes batches of records, retrying each batch until the broker takes it.
func (in *Ingester) produce(ctx context.Context, w *kafka.Writer, records <-chan kafka.Message) error {
	batch := make([]kafka.Message, 0, in.cfg.BatchSize)
	for {
		m, ok := <-records
		if !ok {
			return nil
		}
		batch = append(batch[:0], m)
	fill:
		for len(batch) < in.cfg.BatchSize {
			select {
			case m, ok := <-records:
				if !ok {
					break fill
				}
				batch = append(batch, m)
			default:
				break fill
			}
		}
		if err := in.writeRetrying(ctx, w, batch); err != nil {
			return err
		}
		in.mu.Lock()
		in.stats.Produced += uint64(len(batch))
		in.mu.Unlock()
	}
}

func (in *Ingester) writeRetrying(ctx context.Context, w *kafka.Writer, msgs []kafka.Message) error {
	delay := 100 * time.Millisecond
	for {
		err := w.WriteMessages(ctx, msgs...)
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		in.log.Warn("produce failed; retrying", "records", len(msgs), "err", err, "retry_in", delay)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(delay):
		}
		delay = min(delay*2, 5*time.Second)
	}
}

// idShift moves ids on each loop pass: 2^49 ms-shifted snowflakes stay apart from every id
// of a feed spanning less than about 4 years.
const idShift = 1 << 49

// read parses every line of every file (again and again with Loop), paces the records and
// hands them to the producer.
func (in *Ingester) read(ctx context.Context, files []string, out chan<- kafka.Message, dlq *kafka.Writer) error {
	for pass := 0; ; pass++ {
		var first time.Time // feed time of the pass's first tweet
		var wallStart time.Time
		for _, name := range files {
			err := in.readFile(ctx, name, func(lineNo int, line []byte) error {
				rec, err := ParseLine(line)
				if err != nil {
					return in.reject(ctx, dlq, name, lineNo, line, err)
				}
				if pass > 0 {
					rec.ID = shiftID(rec.ID, pass)
					rec.RetweetOf = shiftID(rec.RetweetOf, pass)
					rec.QuoteOf = shiftID(rec.QuoteOf, pass)
				}
				if in.cfg.Speed > 0 {
					if first.IsZero() {
						first, wallStart = rec.CreatedAt, in.cfg.Clock.Now()
					}
					due := wallStart.Add(time.Duration(float64(rec.CreatedAt.Sub(first)) / in.cfg.Speed))
					if wait := due.Sub(in.cfg.Clock.Now()); wait > 0 {
						select {
						case <-ctx.Done():
							return ctx.Err()
						case <-in.cfg.Clock.After(wait):
						}
					}
					if !in.cfg.KeepTime {
						rec.CreatedAt = in.cfg.Clock.Now().UTC().Truncate(time.Millisecond)
					}
				}
				value, err := tweet.Encode(rec)
				if err != nil {
					return in.reject(ctx, dlq, name, lineNo, line, err)
				}
				select {
				case out <- kafka.Message{Key: []byte(rec.ID), Value: value}:
				case <-ctx.Done():
					return ctx.Err()
				}
				return nil
			})
			if err != nil {
				return err
			}
		}
		in.mu.Lock()
		in.stats.Passes++
		in.mu.Unlock()
		if !in.cfg.Loop {
			return nil
		}
	}
}

func shiftID(id string, pass int) string {
	if id == "" {
		return ""
	}
	n, err := strconv.ParseUint(id, 10, 64)
	if err != nil {
		return id
	}
	return strconv.FormatUint(n+uint64(pass%16)*idShift+uint64(pass/16), 10)
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
	msg := kafka.Message{Value: append([]byte(nil), line...), Headers: []kafka.Header{
		{Key: tweet.HeaderReason, Value: []byte(err.Error())},
		{Key: tweet.HeaderSource, Value: []byte(file + ":" + strconv.Itoa(lineNo))},
	}}
	return in.writeRetrying(ctx, dlq, []kafka.Message{msg})
}

// maxLine bounds one line; longer lines are rejected, not buffered without limit.
const maxLine = 4 << 20

// readFile calls fn for each non-blank line of the file.
func (in *Ingester) readFile(ctx context.Context, name string, fn func(lineNo int, line []byte) error) error {
	f, err := os.Open(name)
	if err != nil {
		return fmt.Errorf("ingest: %w", err)
	}
	defer f.Close()
	br := bufio.NewReaderSize(f, 1<<20)
	var r io.Reader = br
	if magic, _ := br.Peek(2); len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return fmt.Errorf("ingest: %s: %w", name, err)
		}
		defer zr.Close()
		r = zr
	}
	lr := bufio.NewReaderSize(r, 1<<20)
	var long []byte
	for lineNo := 1; ; lineNo++ {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		line, err := lr.ReadSlice('\n')
		for errors.Is(err, bufio.ErrBufferFull) {
			long = append(long[:0], line...)
			for errors.Is(err, bufio.ErrBufferFull) && len(long) <= maxLine {
				line, err = lr.ReadSlice('\n')
				long = append(long, line...)
			}
			line = long
		}
		if len(line) > maxLine {
			in.mu.Lock()
			in.stats.Rejected["line too long"]++
			in.mu.Unlock()
			in.log.Warn("rejected line", "file", name, "line", lineNo, "reason", "line too long", "bytes", len(line))
			for errors.Is(err, bufio.ErrBufferFull) { // skip the rest of it
				_, err = lr.ReadSlice('\n')
			}
		} else if trimmed := bytes.TrimSpace(line); len(trimmed) > 0 {
			in.mu.Lock()
			in.stats.Lines++
			in.mu.Unlock()
			if ferr := fn(lineNo, trimmed); ferr != nil {
				return ferr
			}
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			// A truncated gzip stream still yields its good lines; report the damage.
			in.log.Warn("input ended with an error", "file", name, "line", lineNo, "err", err)
			in.mu.Lock()
			in.stats.Rejected["damaged file"]++
			in.mu.Unlock()
			return nil
		}
	}
}

// expand resolves globs into a sorted, de-duplicated file list.
func expand(patterns []string) ([]string, error) {
	var files []string
	seen := map[string]bool{}
	for _, p := range patterns {
		matches, err := filepath.Glob(p)
		if err != nil {
			return nil, fmt.Errorf("ingest: pattern %q: %w", p, err)
		}
		if len(matches) == 0 {
			return nil, fmt.Errorf("ingest: no file matches %q", p)
		}
		sort.Strings(matches)
		for _, m := range matches {
			if st, err := os.Stat(m); err == nil && st.IsDir() {
				continue
			}
			if !seen[m] {
				seen[m] = true
				files = append(files, m)
			}
		}
	}
	if len(files) == 0 {
		return nil, errors.New("ingest: the inputs name no files")
	}
	return files, nil
}
