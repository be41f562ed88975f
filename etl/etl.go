// Package etl is Starling's streaming ETL: it consumes canonical tweets from the broker in a
// consumer group, scores their sentiment, extracts hashtags and words, and loads them into
// the ClickHouse warehouse in batches.
//
// Loading is effectively once. Each batch's rows carry their Kafka partition and offset, and
// the warehouse records the batch's last offset in the same INSERT (a materialized view). When
// the group assigns a partition, the ETL resumes after the later of the group's committed
// offset and the warehouse's loaded offset, so a batch loaded just before a crash is never
// loaded again. Group offsets are committed after the insert, for lag monitoring and as the
// fallback position.
package etl

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/starling-analytics/starling/etl/sentiment"
	"github.com/starling-analytics/starling/internal/tweet"
	"github.com/starling-analytics/starling/warehouse"
)

// Config configures the ETL. Zero values are the documented defaults.
type Config struct {
	// Brokers are the Kafka bootstrap addresses. Default ["127.0.0.1:9092"].
	Brokers []string
	// Topic carries canonical tweets. Default "tweets".
	Topic string
	// DLQTopic receives records that cannot be loaded. Default "tweets.dlq".
	DLQTopic string
	// GroupID is the consumer group; ETL processes with the same id share the partitions.
	// Default "etl".
	GroupID string
	// Warehouse is where tweets are loaded.
	Warehouse warehouse.Config
	// BatchSize flushes a partition's batch at this many records. Default 5000.
	BatchSize int
	// FlushInterval flushes a partition's batch this long after its first record.
	// Default 500ms.
	FlushInterval time.Duration
	// Logger receives the ETL's logs; nil discards them.
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
	if c.GroupID == "" {
		c.GroupID = "etl"
	}
	if c.BatchSize == 0 {
		c.BatchSize = 5000
	}
	if c.FlushInterval == 0 {
		c.FlushInterval = 500 * time.Millisecond
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c
}

// Validate reports the first setting that cannot work.
func (c Config) Validate() error {
	c = c.withDefaults()
	if c.BatchSize < 1 {
		return fmt.Errorf("etl: batch size must be positive, not %d", c.BatchSize)
	}
	if c.FlushInterval < time.Millisecond {
		return fmt.Errorf("etl: flush interval %s is too short", c.FlushInterval)
	}
	if c.Topic == c.DLQTopic {
		return errors.New("etl: the dead-letter topic must differ from the input topic")
	}
	return c.Warehouse.Validate()
}

// Stats are the ETL's running counters.
type Stats struct {
	Consumed     uint64 // records read from the topic
	Loaded       uint64 // tweets inserted into the warehouse
	DeadLettered uint64 // records sent to the dead-letter topic
	Batches      uint64 // successful inserts
	InsertErrors uint64 // failed insert attempts (each retried)
}

// ETL is a running consumer. Create it with New and run it with Run.
type ETL struct {
	cfg      Config
	log      *slog.Logger
	analyzer *sentiment.Analyzer

	consumed, loaded, dead, batches, insertErrors atomic.Uint64
}

// New checks cfg and prepares an ETL.
func New(cfg Config) (*ETL, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	return &ETL{cfg: cfg, log: cfg.Logger, analyzer: sentiment.New()}, nil
}

// Run is New followed by (*ETL).Run.
func Run(ctx context.Context, cfg Config) error {
	e, err := New(cfg)
	if err != nil {
		return err
	}
	return e.Run(ctx)
}

// Stats returns a snapshot of the counters.
func (e *ETL) Stats() Stats {
	return Stats{Consumed: e.consumed.Load(), Loaded: e.loaded.Load(), DeadLettered: e.dead.Load(), Batches: e.batches.Load(), InsertErrors: e.insertErrors.Load()}
}

// Run consumes and loads until ctx is done. It waits for the warehouse and the broker to
// answer, so it can start before them.
func (e *ETL) Run(ctx context.Context) error {
	db, err := e.openWarehouse(ctx)
	if err != nil {
		return err
	}
	defer db.Close()

	dlq := &kafka.Writer{
		Addr:                   kafka.TCP(e.cfg.Brokers...),
		Topic:                  e.cfg.DLQTopic,
		RequiredAcks:           kafka.RequireAll,
		AllowAutoTopicCreation: true,
		BatchTimeout:           time.Millisecond,
	}
	defer dlq.Close()

	cg, err := kafka.NewConsumerGroup(kafka.ConsumerGroupConfig{
		ID:          e.cfg.GroupID,
		Brokers:     e.cfg.Brokers,
		Topics:      []string{e.cfg.Topic},
		StartOffset: kafka.FirstOffset,
		// Members notice a rebalance at the next heartbeat: keep that short so a new ETL
		// replica gets its share quickly.
		HeartbeatInterval: time.Second,
		SessionTimeout:    10 * time.Second,
		RebalanceTimeout:  10 * time.Second,
		JoinGroupBackoff:  time.Second,
		Logger:            kafka.LoggerFunc(func(msg string, args ...any) { e.log.Debug(fmt.Sprintf(msg, args...), "component", "consumer-group") }),
		ErrorLogger:       kafka.LoggerFunc(func(msg string, args ...any) { e.log.Warn(fmt.Sprintf(msg, args...), "component", "consumer-group") }),
	})
	if err != nil {
		return fmt.Errorf("etl: consumer group: %w", err)
	}
	defer cg.Close()
	e.log.Info("etl started", "group", e.cfg.GroupID, "topic", e.cfg.Topic, "brokers", e.cfg.Brokers)

	for {
		gen, err := cg.Next(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			e.log.Warn("joining the consumer group failed; retrying", "err", err)
			select {
			case <-ctx.Done():
				return nil
			case <-time.After(time.Second):
			}
			continue
		}
		assigned := gen.Assignments[e.cfg.Topic]
		loaded, err := e.loadedOffsets(ctx, db)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			e.log.Error("reading loaded offsets failed", "err", err)
			continue // the next generation tries again
		}
		parts := make([]string, 0, len(assigned))
		for _, a := range assigned {
			start := kafka.FirstOffset
			if a.Offset >= 0 {
				start = a.Offset
			}
			if l, ok := loaded[int32(a.ID)]; ok && l+1 > start {
				start = l + 1
			}
			parts = append(parts, fmt.Sprintf("%d@%d", a.ID, start))
			p := partitionConsumer{etl: e, db: db, dlq: dlq, gen: gen, partition: a.ID, start: start}
			gen.Start(p.run)
		}
		e.log.Info("partitions assigned", "generation", gen.ID, "partitions", strings.Join(parts, " "))
	}
}

// openWarehouse connects to ClickHouse, retrying until it answers or ctx is done.
func (e *ETL) openWarehouse(ctx context.Context) (*warehouse.DB, error) {
	backoff := newBackoff()
	for {
		db, err := warehouse.Open(ctx, e.cfg.Warehouse)
		if err == nil {
			return db, nil
		}
		e.log.Warn("warehouse not reachable; retrying", "err", err)
		if !backoff.wait(ctx) {
			return nil, fmt.Errorf("etl: %w", err)
		}
	}
}

func (e *ETL) loadedOffsets(ctx context.Context, db *warehouse.DB) (map[int32]int64, error) {
	backoff := newBackoff()
	for {
		offs, err := db.LoadedOffsets(ctx, e.cfg.Topic)
		if err == nil {
			return offs, nil
		}
		e.log.Warn("warehouse not reachable; retrying", "err", err)
		if !backoff.wait(ctx) {
			return nil, err
		}
	}
}

// backoff is exponential back-off from 100ms to 10s.
type backoff struct{ d time.Duration }

func newBackoff() *backoff { return &backoff{d: 100 * time.Millisecond} }

// wait sleeps for the next interval; false means ctx ended first.
func (b *backoff) wait(ctx context.Context) bool {
	t := time.NewTimer(b.d)
	defer t.Stop()
	b.d = min(b.d*2, 10*time.Second)
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// transform turns a decoded canonical tweet into a warehouse row.
func (e *ETL) transform(rec tweet.Record, m kafka.Message) (warehouse.TweetRow, error) {
	id, err := strconv.ParseUint(rec.ID, 10, 64)
	if err != nil {
		return warehouse.TweetRow{}, fmt.Errorf("tweet id %q: %w", rec.ID, err)
	}
	compound, label := e.analyzer.Score(rec.Text)
	userID, _ := strconv.ParseUint(rec.User.ID, 10, 64)
	retweetOf, _ := strconv.ParseUint(rec.RetweetOf, 10, 64)
	quoteOf, _ := strconv.ParseUint(rec.QuoteOf, 10, 64)
	return warehouse.TweetRow{
		ID:             id,
		CreatedAt:      rec.CreatedAt.UTC(),
		Text:           rec.Text,
		Lang:           rec.Lang,
		UserID:         userID,
		UserScreenName: rec.User.ScreenName,
		UserFollowers:  uint64(max(rec.User.Followers, 0)),
		Hashtags:       lowerAll(rec.Hashtags),
		Mentions:       lowerAll(rec.Mentions),
		URLs:           rec.URLs,
		Words:          sentiment.Words(rec.Text),
		RetweetOf:      retweetOf,
		QuoteOf:        quoteOf,
		Sentiment:      float32(compound),
		SentimentLabel: int8(label),
		SourceFormat:   rec.SourceFormat,
		KafkaTopic:     m.Topic,
		KafkaPartition: int32(m.Partition),
		KafkaOffset:    m.Offset,
	}, nil
}

// lowerAll lower-cases and de-duplicates terms, keeping their order.
func lowerAll(in []string) []string {
	out := make([]string, 0, len(in))
	seen := make(map[string]bool, len(in))
	for _, s := range in {
		s = strings.ToLower(s)
		if s == "" || seen[s] {
			continue
		}
		seen[s] = true
		out = append(out, s)
	}
	return out
}
