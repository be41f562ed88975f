// Package ingest is Starling's producer side: it reads tweets from archive files, turns each
// into the canonical record (internal/tweet) and produces it to topic "tweets" with the tweet
// id as key. Lines that are not usable tweets are counted, logged and sent unchanged to the
// dead-letter topic; they never stop a run.
package ingest

import (
	"bufio"
	"bytes"
	"compress/bzip2"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/klauspost/compress/gzip" // about twice the stdlib's decompression speed
	"github.com/klauspost/compress/zstd"
	"github.com/segmentio/kafka-go"
	"golang.org/x/sync/errgroup"

	"github.com/starling-analytics/starling/internal/kafkaclient"
	"github.com/starling-analytics/starling/internal/retry"
	"github.com/starling-analytics/starling/internal/tweet"
	"github.com/starling-analytics/starling/sample-data/generator"
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
	// Inputs are files, directories (all files below, in name order) or glob patterns, read
	// in order. Each file may be plain or compressed with gzip, bzip2 or zstd, detected by its
	// magic bytes. Required.
	Inputs []string
	// Speed paces the replay against the tweets' own timestamps: 1 is real time, 60 a minute
	// of the feed per second. 0 (and no Rate) sends as fast as the broker takes them.
	Speed float64
	// Rate paces the replay at this many tweets per second instead; 0 is unpaced. Speed and
	// Rate exclude each other.
	Rate float64
	// Checkpoint is a file where the position of the last acknowledged tweet (pass, file and
	// line) is kept. A replay started with an existing checkpoint resumes after it instead of
	// resending the inputs; records around a crash may be sent twice (the warehouse
	// deduplicates). Empty: no checkpoint.
	Checkpoint string
	// Stream, when set, reads Twitter's v1.1 streaming API instead of files, until the
	// context ends. Speed does not apply; Rate, Loop and Checkpoint cannot be used with it.
	Stream *StreamConfig
	// Generate replays this many tweets from the sample-data generator (seeded, as the
	// committed sample feed) instead of Inputs: a source for load tests at any Rate.
	Generate int
	// Progress, when set (a terminal), gets a progress line redrawn a few times a second:
	// tweets, bytes, rate and ETA. Without it, progress goes to the Logger every 5 seconds.
	Progress io.Writer
	// DryRun reads and validates the inputs without connecting to Kafka.
	DryRun bool
	// KeepTime keeps the tweets' original created_at in a paced replay. By default a paced
	// replay stamps each tweet with the moment it is sent, so the dashboard shows it live.
	KeepTime bool
	// Loop replays the inputs forever; each pass shifts tweet ids so that replays are new
	// tweets, not duplicates.
	Loop bool
	// Stamp gives each tweet, as it is sent, the time of sending as created_at and a new
	// snowflake id made from that time, so that anyone downstream can tell from the id
	// alone when the tweet was produced (starling bench pipeline measures latency so).
	// Retweet, quote and reply links and edit histories, which name the old ids, are
	// dropped.
	Stamp bool
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
	if c.Stream != nil {
		if len(c.Inputs) > 0 || c.Generate > 0 {
			return errors.New("ingest: read the live stream, input files or the generator, not several")
		}
		if c.Rate > 0 || c.Loop || c.Checkpoint != "" {
			return errors.New("ingest: rate, loop and checkpoint do not apply to the live stream")
		}
		return c.Stream.validate()
	}
	if c.Generate < 0 {
		return fmt.Errorf("ingest: generate must not be negative, not %d", c.Generate)
	}
	if c.Generate > 0 {
		if len(c.Inputs) > 0 {
			return errors.New("ingest: replay input files or the generator, not both")
		}
		return nil
	}
	if len(c.Inputs) == 0 {
		return errors.New("ingest: no input files given")
	}
	if c.Speed < 0 {
		return fmt.Errorf("ingest: speed must not be negative, not %g", c.Speed)
	}
	if c.Rate < 0 {
		return fmt.Errorf("ingest: rate must not be negative, not %g", c.Rate)
	}
	if c.Speed > 0 && c.Rate > 0 {
		return errors.New("ingest: pace by speed or by rate, not both")
	}
	if c.BatchSize < 0 {
		return fmt.Errorf("ingest: batch size must be positive, not %d", c.BatchSize)
	}
	_, err := expand(c.Inputs)
	return err
}

// Stats counts what a run did.
type Stats struct {
	Lines uint64 // lines read (blank lines and lines before a checkpoint excluded)
	Valid uint64 // tweets read (a page of Twitter API v2 results holds several)
	// Tombstones counts deletion and compliance events turned into tombstone records.
	Tombstones uint64
	Produced   uint64            // canonical records acknowledged by the broker
	Rejected   map[string]uint64 // rejected lines per reason
	Passes     int               // completed passes over the inputs
	// Reconnects counts the live stream's reconnections.
	Reconnects int
	// BytesRead are the input bytes read so far (compressed, as stored), over every pass;
	// PassBytesRead those of the current pass, of TotalBytes in one pass (the inputs'
	// sizes; 0 for the generator).
	BytesRead, PassBytesRead, TotalBytes int64
}

// Ingester replays files into the broker.
type Ingester struct {
	cfg Config
	log *slog.Logger

	mu    sync.Mutex
	stats Stats

	// The last stamped id's millisecond and sequence (Config.Stamp); only emit uses them.
	stampMS  int64
	stampSeq int64
}

// New checks cfg and prepares an Ingester.
func New(cfg Config) (*Ingester, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	if cfg.Stream != nil {
		cfg.Speed = 0 // a live stream arrives at its own pace
	}
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

// position is where a record came from: the pass over the inputs, the file and the line,
// and for lines that hold several records (Twitter API v2 pages) which one. The checkpoint
// file holds the position of the last acknowledged record.
type position struct {
	Pass int    `json:"pass"`
	File string `json:"file"`
	Line int    `json:"line"`
	// Item is the record's index among its line's records, and More is set when the line
	// has records after it: a replay resuming there re-reads the line and skips Item+1.
	Item int  `json:"item,omitempty"`
	More bool `json:"more,omitempty"`
	// Done marks a replay without Loop that produced all of its inputs.
	Done bool `json:"done,omitempty"`
}

// item is a record on its way to the broker, with where it came from.
type item struct {
	msg kafka.Message
	pos position
}

// Run replays the inputs (forever with Loop) and returns when they are done and every record
// is acknowledged, or when ctx is done.
func (in *Ingester) Run(ctx context.Context) error {
	files := []string{generatorSource}
	if in.cfg.Stream != nil {
		files = []string{streamSource}
	} else if in.cfg.Generate == 0 {
		var err error
		if files, err = expand(in.cfg.Inputs); err != nil {
			return err
		}
	}
	resume, err := in.loadCheckpoint(files)
	if err != nil {
		return err
	}
	var total int64
	for _, f := range files {
		if st, err := os.Stat(f); err == nil {
			total += st.Size()
		}
	}
	in.mu.Lock()
	in.stats.TotalBytes = total
	in.mu.Unlock()
	if resume.Done {
		in.log.Info("the checkpoint says this replay is complete; remove it to replay again", "checkpoint", in.cfg.Checkpoint)
		return nil
	}
	if resume.File != "" {
		in.log.Info("resuming from the checkpoint", "pass", resume.Pass, "file", resume.File, "after_line", resume.Line)
	}
	var w, dlq *kafka.Writer
	if !in.cfg.DryRun {
		transport, err := in.cfg.Kafka.Transport()
		if err != nil {
			return fmt.Errorf("ingest: %w", err)
		}
		w = &kafka.Writer{
			Addr:                   kafka.TCP(in.cfg.Brokers...),
			Transport:              transport,
			Topic:                  in.cfg.Topic,
			Balancer:               &kafka.Hash{},
			RequiredAcks:           kafka.RequireAll,
			BatchSize:              in.cfg.BatchSize,
			BatchTimeout:           time.Millisecond,
			Compression:            kafka.Lz4,
			AllowAutoTopicCreation: true,
		}
		defer w.Close()
		dlq = &kafka.Writer{
			Addr:                   kafka.TCP(in.cfg.Brokers...),
			Transport:              transport,
			Topic:                  in.cfg.DLQTopic,
			RequiredAcks:           kafka.RequireAll,
			BatchTimeout:           5 * time.Millisecond,
			AllowAutoTopicCreation: true,
		}
		defer dlq.Close()
	}

	start := time.Now()
	// Records flow reader → bounded channel → producer: the reader blocks when the broker
	// falls behind, so memory stays bounded.
	records := make(chan item, 4*in.cfg.BatchSize)
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error {
		defer close(records)
		return in.read(gctx, files, resume, records, dlq)
	})
	if in.cfg.DryRun {
		g.Go(func() error {
			for range records {
			}
			return nil
		})
	} else {
		g.Go(func() error { return in.produce(gctx, w, records) })
	}
	progressCtx, stopProgress := context.WithCancel(gctx)
	progressDone := make(chan struct{})
	go func() { defer close(progressDone); in.progress(progressCtx, start) }()
	err = g.Wait()
	stopProgress()
	<-progressDone
	if err == nil && !in.cfg.Loop && !in.cfg.DryRun && ctx.Err() == nil {
		if cerr := in.saveCheckpoint(position{Pass: resume.Pass, Done: true}); cerr != nil {
			in.log.Warn("cannot write the checkpoint", "err", cerr)
		}
	}
	s := in.Stats()
	in.log.Info("ingest finished", "lines", s.Lines, "valid", s.Valid, "produced", s.Produced, "rejected", s.Rejected,
		"passes", s.Passes, "dry_run", in.cfg.DryRun, "seconds", time.Since(start).Seconds(), "tweets_per_s", float64(s.Valid)/time.Since(start).Seconds())
	if ctx.Err() != nil {
		return nil
	}
	return err
}

// progress reports counters until ctx is done: a redrawn line on Config.Progress, or a log
// line every 5 seconds.
func (in *Ingester) progress(ctx context.Context, start time.Time) {
	every := 5 * time.Second
	if in.cfg.Progress != nil {
		every = 250 * time.Millisecond
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			if in.cfg.Progress != nil {
				fmt.Fprintf(in.cfg.Progress, "\r%s\n", in.progressLine(start))
			}
			return
		case <-t.C:
			if in.cfg.Progress != nil {
				fmt.Fprintf(in.cfg.Progress, "\r%s", in.progressLine(start))
				continue
			}
			s := in.Stats()
			in.log.Info("ingest progress", "lines", s.Lines, "valid", s.Valid, "produced", s.Produced, "rejected", s.Rejected,
				"pass", s.Passes+1, "pass_bytes_read", s.PassBytesRead, "pass_bytes", s.TotalBytes, "tweets_per_s", float64(s.Valid)/time.Since(start).Seconds(),
				"eta", in.eta(s, start).String())
		}
	}
}

// done estimates the fraction of the current pass that is sent: the tweets sent against
// the pass's tweet count, which is extrapolated from the lines and bytes read so far (the
// reader runs ahead of the broker, so bytes read alone would overstate it). -1 when
// unknown (the generator, loops past their first pass).
func (in *Ingester) done(s Stats) float64 {
	if s.TotalBytes == 0 || s.BytesRead == 0 || s.Passes > 0 || s.Lines == 0 {
		return -1
	}
	total := float64(s.Lines) * float64(s.TotalBytes) / float64(s.BytesRead)
	return min(float64(in.sent(s))/total, 1)
}

// sent is what counts as progress: tweets acknowledged, or validated in a dry run.
func (in *Ingester) sent(s Stats) uint64 {
	if in.cfg.DryRun {
		return s.Valid
	}
	return s.Produced
}

// eta estimates the time left in the current pass; 0 when unknown.
func (in *Ingester) eta(s Stats, start time.Time) time.Duration {
	frac := in.done(s)
	if frac <= 0 || frac >= 1 {
		return 0
	}
	return time.Duration(float64(time.Since(start)) * (1 - frac) / frac).Round(100 * time.Millisecond)
}

// progressLine is the one-line summary a terminal shows: a bar of the pass sent, bytes
// read, tweets, rate, rejections and ETA.
func (in *Ingester) progressLine(start time.Time) string {
	s := in.Stats()
	var rejected uint64
	for _, n := range s.Rejected {
		rejected += n
	}
	sent := in.sent(s)
	rate := float64(sent) / time.Since(start).Seconds()
	bar := ""
	if frac := in.done(s); frac >= 0 {
		const width = 24
		filled := int(frac * width)
		bar = fmt.Sprintf("[%s%s] %3.0f%%  read %s/%s  ", strings.Repeat("#", filled), strings.Repeat(".", width-filled), frac*100,
			humanBytes(s.PassBytesRead), humanBytes(s.TotalBytes))
	}
	eta := "--"
	if d := in.eta(s, start); d > 0 {
		eta = d.String()
	}
	return fmt.Sprintf("%s%d tweets  %.0f tweets/s  %d rejected  ETA %s   ", bar, sent, rate, rejected, eta)
}

func humanBytes(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}

// checkpointEvery is how often the producer writes the checkpoint file.
const checkpointEvery = time.Second

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
	fill:
		for len(batch) < in.cfg.BatchSize {
			select {
			case it, ok := <-records:
				if !ok {
					break fill
				}
				batch = append(batch, it)
			default:
				break fill
			}
		}
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

// loadCheckpoint reads the checkpoint file, if any, and checks it against the inputs.
func (in *Ingester) loadCheckpoint(files []string) (position, error) {
	if in.cfg.Checkpoint == "" {
		return position{}, nil
	}
	data, err := os.ReadFile(in.cfg.Checkpoint)
	if errors.Is(err, fs.ErrNotExist) {
		return position{}, nil
	}
	if err != nil {
		return position{}, fmt.Errorf("ingest: checkpoint: %w", err)
	}
	var p position
	if err := json.Unmarshal(data, &p); err != nil {
		return position{}, fmt.Errorf("ingest: checkpoint %s is damaged (remove it to start over): %w", in.cfg.Checkpoint, err)
	}
	if p.File != "" && !slices.Contains(files, p.File) {
		return position{}, fmt.Errorf("ingest: checkpoint %s names %s, which is not among the inputs (remove it to start over)", in.cfg.Checkpoint, p.File)
	}
	return p, nil
}

// saveCheckpoint replaces the checkpoint file atomically.
func (in *Ingester) saveCheckpoint(p position) error {
	if in.cfg.Checkpoint == "" {
		return nil
	}
	data, err := json.Marshal(p)
	if err != nil {
		return err
	}
	tmp := in.cfg.Checkpoint + ".tmp"
	if err := os.WriteFile(tmp, append(data, '\n'), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, in.cfg.Checkpoint)
}

// idShift moves ids on each loop pass: 2^49 ms-shifted snowflakes stay apart from every id
// of a feed spanning less than about 4 years.
const idShift = 1 << 49

// pacer holds a replay's pacing state.
type pacer struct {
	first, wallStart time.Time // by Speed: feed time of the pass's first tweet, and when it was sent
	rateStart        time.Time // by Rate: when the run's first tweet was sent
	sent             int64     // tweets paced so far in this run
}

// wait blocks until rec is due and, in a paced replay by Speed, restamps it.
func (in *Ingester) wait(ctx context.Context, p *pacer, rec *tweet.Record) error {
	var due time.Time
	switch {
	case in.cfg.Speed > 0 && rec != nil:
		if p.first.IsZero() {
			p.first, p.wallStart = rec.CreatedAt, in.cfg.Clock.Now()
		}
		due = p.wallStart.Add(time.Duration(float64(rec.CreatedAt.Sub(p.first)) / in.cfg.Speed))
	case in.cfg.Rate > 0:
		if p.rateStart.IsZero() {
			p.rateStart = in.cfg.Clock.Now()
		}
		due = p.rateStart.Add(time.Duration(float64(p.sent) / in.cfg.Rate * float64(time.Second)))
		p.sent++
	default:
		return nil
	}
	if wait := due.Sub(in.cfg.Clock.Now()); wait > 0 {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-in.cfg.Clock.After(wait):
		}
	}
	if in.cfg.Speed > 0 && rec != nil && !in.cfg.KeepTime {
		rec.CreatedAt = in.cfg.Clock.Now().UTC().Truncate(time.Millisecond)
	}
	return nil
}

// stamp gives rec the moment it is sent (Config.Stamp). Ids are snowflakes: milliseconds
// since tweet.SnowflakeEpoch above 22 bits of sequence, so they rise with time and never repeat
// within a run.
func (in *Ingester) stamp(rec *tweet.Record) {
	now := in.cfg.Clock.Now().UTC().Truncate(time.Millisecond)
	ms := now.UnixMilli()
	if ms <= in.stampMS {
		if in.stampSeq++; in.stampSeq >= 1<<22 {
			in.stampMS, in.stampSeq = in.stampMS+1, 0
		}
		ms = in.stampMS
	} else {
		in.stampMS, in.stampSeq = ms, 0
	}
	rec.CreatedAt = now
	rec.ID = strconv.FormatUint(tweet.SnowflakeID(time.UnixMilli(ms), uint64(in.stampSeq)), 10)
	rec.RetweetOf, rec.QuoteOf, rec.ReplyTo, rec.EditHistory = "", "", "", nil
}

// chunk is a run of lines of one file: read in order, parsed by any worker, and emitted in
// read order, so that parsing uses every core while the topic and the checkpoint see the
// feed's order.
type chunk struct {
	pass  int
	file  string
	hints Hints
	// skipItems records of line skipLine were sent before the checkpoint the replay
	// resumes from.
	skipLine, skipItems int
	buf                 []byte // the lines' bytes, back to back
	lines               []chunkLine
	// Filled by the worker: encoded records, or (in a replay paced by Speed, which restamps
	// tweets as they are sent) the records to encode when they are emitted.
	items []item
	recs  []tweet.Record
	pos   []position
	err   error
	done  chan struct{}
}

type chunkLine struct{ no, start, end int }

// Chunks are cut at chunkLines lines or chunkBytes bytes.
const (
	chunkLines = 512
	chunkBytes = 1 << 20
)

// read parses every line of every file (again and again with Loop), from the checkpoint's
// position on, paces the records and hands them to the producer in the files' order.
func (in *Ingester) read(ctx context.Context, files []string, resume position, out chan<- item, dlq *kafka.Writer) error {
	workers := runtime.GOMAXPROCS(0)
	work := make(chan *chunk, 2*workers)
	order := make(chan *chunk, 4*workers)
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error {
		defer close(work)
		defer close(order)
		return in.readChunks(gctx, files, resume, work, order)
	})
	for range workers {
		g.Go(func() error {
			var fast fastV11
			for c := range work {
				in.parseChunk(gctx, &fast, c, dlq)
				close(c.done)
			}
			return nil
		})
	}
	g.Go(func() error { return in.emit(gctx, order, out) })
	return g.Wait()
}

// readChunks cuts the inputs into chunks and queues each for a worker and for the emitter.
func (in *Ingester) readChunks(ctx context.Context, files []string, resume position, work, order chan<- *chunk) error {
	resumeFile := slices.Index(files, resume.File)
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
		for fi, name := range files {
			from, skipLine, skipItems := 0, 0, 0
			if pass == resume.Pass && resumeFile >= 0 {
				if fi < resumeFile {
					continue
				}
				if fi == resumeFile {
					from = resume.Line
					if resume.More { // re-read the line, past the records already sent
						from, skipLine, skipItems = resume.Line-1, resume.Line, resume.Item+1
					}
				}
			}
			hints := Hints{UserCompliance: strings.Contains(strings.ToLower(filepath.Base(name)), "user")}
			newChunk := func() *chunk {
				return &chunk{pass: pass, file: name, hints: hints, skipLine: skipLine, skipItems: skipItems,
					buf: make([]byte, 0, 64<<10), done: make(chan struct{})}
			}
			c := newChunk()
			flush := func() error {
				if len(c.lines) == 0 {
					return nil
				}
				if err := send(c); err != nil {
					return err
				}
				c = newChunk()
				return nil
			}
			line := func(lineNo int, line []byte) error {
				start := len(c.buf)
				c.buf = append(c.buf, line...)
				c.lines = append(c.lines, chunkLine{no: lineNo, start: start, end: len(c.buf)})
				if len(c.lines) >= chunkLines || len(c.buf) >= chunkBytes {
					return flush()
				}
				return nil
			}
			var err error
			if name == streamSource {
				err = in.readStream(ctx, line, flush)
			} else {
				err = in.readFile(ctx, name, from, line)
			}
			if err == nil {
				err = flush()
			}
			if err != nil {
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

// parseChunk turns a chunk's lines into canonical records; rejected lines are dead-lettered
// here, so a bad line never holds up the good ones.
func (in *Ingester) parseChunk(ctx context.Context, fast *fastV11, c *chunk, dlq *kafka.Writer) {
	restamp := in.cfg.Speed > 0 || in.cfg.Stamp
	var valid, tombstones uint64
	enc := make([]byte, 0, len(c.buf))
	var one [1]tweet.Record
	var scratch tweet.Record // the fast path's, reused line after line
	hints := c.hints
	hints.Now = in.cfg.Clock.Now()
	for _, l := range c.lines {
		line := c.buf[l.start:l.end]
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
			if c.err = in.reject(ctx, dlq, c.file, l.no, line, err); c.err != nil {
				return
			}
		}
		for i := range recs {
			if l.no == c.skipLine && i < c.skipItems {
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
			pos := position{Pass: c.pass, File: c.file, Line: l.no, Item: i, More: i < len(recs)-1}
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
				if c.err = in.reject(ctx, dlq, c.file, l.no, line, err); c.err != nil {
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

// shiftIDs gives a record of a later loop pass fresh tweet ids (user ids stay).
func shiftIDs(rec *tweet.Record, pass int) {
	rec.ID = shiftID(rec.ID, pass)
	rec.RetweetOf = shiftID(rec.RetweetOf, pass)
	rec.QuoteOf = shiftID(rec.QuoteOf, pass)
	rec.ReplyTo = shiftID(rec.ReplyTo, pass)
	if len(rec.EditHistory) > 0 {
		hist := make([]string, len(rec.EditHistory))
		for i, id := range rec.EditHistory {
			hist[i] = shiftID(id, pass)
		}
		rec.EditHistory = hist
	}
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
			value, err := tweet.AppendEncode(make([]byte, 0, 512), rec)
			if err != nil {
				return fmt.Errorf("ingest: encode record %s: %w", rec.Key(), err)
			}
			if err := send(item{msg: kafka.Message{Key: []byte(rec.Key()), Value: value}, pos: c.pos[i]}); err != nil {
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
	if dlq == nil { // a dry run
		return nil
	}
	msg := kafka.Message{Value: append([]byte(nil), line...), Headers: []kafka.Header{
		{Key: tweet.HeaderReason, Value: []byte(err.Error())},
		{Key: tweet.HeaderSource, Value: []byte(file + ":" + strconv.Itoa(lineNo))},
	}}
	return in.writeRetrying(ctx, dlq, []kafka.Message{msg})
}

// maxLine bounds one line; longer lines are rejected, not buffered without limit.
const maxLine = 4 << 20

// generatorSource names the generator where a file name is expected (checkpoints, logs).
const generatorSource = "generator:"

// readFile calls fn for each non-blank line of the file after line from.
func (in *Ingester) readFile(ctx context.Context, name string, from int, fn func(lineNo int, line []byte) error) error {
	if name == generatorSource {
		return in.readGenerated(ctx, from, fn)
	}
	f, err := os.Open(name)
	if err != nil {
		return fmt.Errorf("ingest: %w", err)
	}
	defer f.Close()
	r, closeR, err := decompress(bufio.NewReaderSize(&countingReader{r: f, in: in}, 1<<20))
	if err != nil {
		return fmt.Errorf("ingest: %s: %w", name, err)
	}
	defer closeR()
	lr := bufio.NewReaderSize(r, 1<<20)
	var long []byte
	for lineNo := 1; ; lineNo++ {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		line, err := lr.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) { // a line longer than the buffer: gather it, up to maxLine
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
		} else if trimmed := bytes.TrimSpace(line); len(trimmed) > 0 && lineNo > from {
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
			found := []string{m}
			if st, err := os.Stat(m); err == nil && st.IsDir() {
				if found, err = filesBelow(m); err != nil {
					return nil, fmt.Errorf("ingest: %w", err)
				}
			}
			for _, f := range found {
				if !seen[f] {
					seen[f] = true
					files = append(files, f)
				}
			}
		}
	}
	if len(files) == 0 {
		return nil, errors.New("ingest: the inputs name no files")
	}
	return files, nil
}

// filesBelow lists the regular files under dir, in name order, skipping hidden ones (such
// as a checkpoint file kept beside an archive).
func filesBelow(dir string) ([]string, error) {
	var files []string
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if path != dir && len(d.Name()) > 0 && d.Name()[0] == '.' {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if d.Type().IsRegular() {
			files = append(files, path)
		}
		return nil
	})
	return files, err
}

// decompress returns a reader of r's content, decompressed when it starts with the magic
// bytes of gzip, bzip2 or zstd, and a function releasing the decoder.
func decompress(r *bufio.Reader) (io.Reader, func(), error) {
	magic, _ := r.Peek(4)
	switch {
	case len(magic) >= 2 && magic[0] == 0x1f && magic[1] == 0x8b:
		zr, err := gzip.NewReader(r)
		if err != nil {
			return nil, nil, fmt.Errorf("gzip: %w", err)
		}
		return zr, func() { zr.Close() }, nil
	case len(magic) >= 3 && string(magic[:3]) == "BZh":
		return bzip2.NewReader(r), func() {}, nil
	case len(magic) == 4 && string(magic) == "\x28\xb5\x2f\xfd":
		zr, err := zstd.NewReader(r, zstd.WithDecoderConcurrency(1))
		if err != nil {
			return nil, nil, fmt.Errorf("zstd: %w", err)
		}
		return zr, zr.Close, nil
	}
	return r, func() {}, nil
}

// readGenerated calls fn for each of Generate tweets of the sample-data generator after
// line from.
func (in *Ingester) readGenerated(ctx context.Context, from int, fn func(lineNo int, line []byte) error) error {
	g := generator.New(generator.Config{Count: in.cfg.Generate})
	for lineNo := 1; ; lineNo++ {
		if lineNo%1024 == 0 && ctx.Err() != nil {
			return ctx.Err()
		}
		line, ok := g.NextJSON()
		if !ok {
			return nil
		}
		if lineNo <= from {
			continue
		}
		in.mu.Lock()
		in.stats.Lines++
		in.mu.Unlock()
		if err := fn(lineNo, line); err != nil {
			return err
		}
	}
}

// countingReader adds the bytes read to the ingester's BytesRead.
type countingReader struct {
	r  io.Reader
	in *Ingester
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.in.mu.Lock()
	c.in.stats.BytesRead += int64(n)
	c.in.stats.PassBytesRead += int64(n)
	c.in.mu.Unlock()
	return n, err
}
