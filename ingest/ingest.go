// Package ingest is Starling's producer side: it reads tweets from its sources (archive
// files, Twitter's live stream, the sample-data generator: see Source), turns each into the
// canonical record (internal/tweet) and produces it to topic "tweets" with the tweet id as
// key. Lines that are not usable tweets are counted, logged and sent unchanged to the
// dead-letter topic; they never stop a run.
package ingest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"

	"github.com/segmentio/kafka-go"
	"golang.org/x/sync/errgroup"

	"github.com/starling-analytics/starling/internal/kafkaclient"
	"github.com/starling-analytics/starling/internal/tweet"
)

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
	// Sources, when set, are read in order instead of Inputs, Stream or Generate: for a
	// program that embeds the ingester and brings its own Source.
	Sources []Source
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
	// Linger is how long a produce call waits for more records when fewer than BatchSize
	// are ready. A paced replay has a few records ready each millisecond, spread over the
	// partitions: sent at once, each would be a produce request of its own, and the broker
	// and the ETL would spend a request's work on each record. Default 5ms; negative sends
	// what is ready at once.
	Linger time.Duration
	// Clock paces the replay; nil is the real clock.
	Clock Clock
	// Logger receives progress and rejections; nil discards them.
	Logger *slog.Logger
}

// WithDefaults returns c with every zero field set to its default; the commands' flags
// show these defaults.
func (c Config) WithDefaults() Config {
	if len(c.Brokers) == 0 {
		c.Brokers = kafkaclient.DefaultBrokers()
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
	if c.Linger == 0 {
		c.Linger = 5 * time.Millisecond
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
	switch {
	case c.Speed < 0:
		return fmt.Errorf("ingest: speed must not be negative, not %g", c.Speed)
	case c.Rate < 0:
		return fmt.Errorf("ingest: rate must not be negative, not %g", c.Rate)
	case c.Speed > 0 && c.Rate > 0:
		return errors.New("ingest: pace by speed or by rate, not both")
	case c.BatchSize < 0:
		return fmt.Errorf("ingest: batch size must be positive, not %d", c.BatchSize)
	case c.Generate < 0:
		return fmt.Errorf("ingest: generate must not be negative, not %d", c.Generate)
	}
	kinds := 0
	for _, given := range []bool{len(c.Sources) > 0, len(c.Inputs) > 0, c.Stream != nil, c.Generate > 0} {
		if given {
			kinds++
		}
	}
	if kinds > 1 {
		return errors.New("ingest: read input files, the live stream, the generator or the given sources, not several")
	}
	switch {
	case len(c.Sources) > 0:
		names := map[string]bool{}
		for _, src := range c.Sources {
			if names[src.Name()] {
				return fmt.Errorf("ingest: two sources are named %q", src.Name())
			}
			names[src.Name()] = true
		}
	case c.Stream != nil:
		if c.Rate > 0 || c.Loop || c.Checkpoint != "" {
			return errors.New("ingest: rate, loop and checkpoint do not apply to the live stream")
		}
		return c.Stream.validate()
	case c.Generate > 0:
	case len(c.Inputs) == 0:
		return errors.New("ingest: no input files given")
	default:
		_, err := expand(c.Inputs)
		return err
	}
	return nil
}

// sources are the replay's sources, as the configuration names them.
func (in *Ingester) sources() ([]Source, error) {
	switch {
	case len(in.cfg.Sources) > 0:
		return in.cfg.Sources, nil
	case in.cfg.Stream != nil:
		return []Source{&streamSource{cfg: in.cfg.Stream, clock: in.cfg.Clock, log: in.log, reconnected: func() {
			in.mu.Lock()
			in.stats.Reconnects++
			in.mu.Unlock()
		}}}, nil
	case in.cfg.Generate > 0:
		return []Source{GeneratorSource(in.cfg.Generate)}, nil
	}
	return fileSources(in.cfg.Inputs)
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

// Ingester replays its sources into the broker.
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
	cfg = cfg.WithDefaults()
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

// Run replays the inputs (forever with Loop) and returns when they are done and every record
// is acknowledged, or when ctx is done.
func (in *Ingester) Run(ctx context.Context) error {
	sources, err := in.sources()
	if err != nil {
		return err
	}
	resume, err := in.loadCheckpoint(sources)
	if err != nil {
		return err
	}
	var total int64
	for _, src := range sources {
		if m, ok := src.(measuredSource); ok {
			total += m.Size()
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
		return in.read(gctx, sources, resume, records, dlq)
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
