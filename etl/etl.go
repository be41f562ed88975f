// Package etl is Starling's streaming ETL: it consumes canonical tweets from topic "tweets"
// in a Kafka consumer group, scores their sentiment, extracts hashtags, mentions and
// word-cloud words, and loads them into the ClickHouse warehouse in batches. Records it
// cannot load go, unchanged, to the dead-letter topic with the reason and origin in headers.
//
// Loading is effectively once. Each row carries its Kafka topic, partition and offset, and
// a materialized view records the highest loaded offset per partition in the same INSERT as
// the rows (warehouse.LoadedOffsets). When the group assigns a partition, the ETL resumes
// after the later of the group's committed offset and the warehouse's loaded offset, so a
// batch loaded just before a crash, a failed commit or a rebalance is never loaded again.
// Group offsets are committed after each insert: they show the lag to Kafka tools and are
// the resume point for partitions whose records all went to the dead-letter topic.
//
// The consumer uses kafka-go's consumer group (Next → Generation → one goroutine per
// assigned partition via Generation.Start), so several ETL processes with the same group id
// share the partitions of the topic and take over each other's partitions.
package etl

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/starling-analytics/starling/etl/entities"
	"github.com/starling-analytics/starling/etl/sentiment"
	"github.com/starling-analytics/starling/internal/kafkaclient"
	"github.com/starling-analytics/starling/internal/tweet"
	"github.com/starling-analytics/starling/warehouse"
)

// Config configures the ETL. Zero values are the documented defaults.
type Config struct {
	// Brokers are the Kafka bootstrap addresses, host:port. Default ["127.0.0.1:9092"].
	Brokers []string
	// Kafka holds TLS and SASL settings for the brokers; the zero value is plaintext.
	Kafka kafkaclient.Config
	// Topic carries canonical tweets. Default tweet.TopicTweets ("tweets").
	Topic string
	// DLQTopic receives records that cannot be loaded. Default tweet.TopicDLQ ("tweets.dlq").
	DLQTopic string
	// GroupID is the consumer group; ETL processes with the same id share the partitions.
	// Default tweet.GroupETL ("etl").
	GroupID string
	// SentimentModel scores the tweets (sentiment.Models); each row records it. Default
	// the first of sentiment.Models(), the learned model.
	SentimentModel string
	// Warehouse is where tweets are loaded. The ETL does not migrate; run warehouse
	// Migrate (starling migrate) first.
	Warehouse warehouse.Config
	// BatchSize flushes a partition's batch at this many records. It also bounds memory:
	// a partition holds at most one batch and the reader's queue of as many records.
	// Default 50000: while a partition is behind its batches are flushed full, and a
	// backlog loads faster than with 20000 (starling bench etl --batch-sizes 50000,20000
	// compares them in one run); the reader and the batch then hold up to about a gigabyte
	// while catching up. A partition that keeps up flushes by FlushInterval, with batches
	// far smaller.
	BatchSize int
	// Entities runs the "entities" consumer group too, in the same process: it samples the
	// tweets and stores the people, places and organisations they name (see entitygroup.go).
	Entities bool
	// EntitiesGroup is that group's id. Default tweet.GroupEntities ("entities").
	EntitiesGroup string
	// EntitiesMaxLag is the lag, in records per partition, past which the entities group
	// samples more sparsely. Default 5000.
	EntitiesMaxLag int
	// EntitiesCPU is the share of a core named-entity recognition may use. Default 0.25.
	EntitiesCPU float64
	// FlushInterval is the tick of the ETL's clock at which the batches of partitions
	// that keep up are flushed, all together (see inserter): a record waits at most this
	// long for its batch. Default 500ms: at 6,000 tweets/s a tweet is then queryable
	// within about 0.65 s at p99 (starling bench pipeline), and a replica makes one set of
	// parts (tweets, tweet_ids, minute_stats) twice a second, which keeps ClickHouse's own
	// work at about 0.17 of a core on a journaled ext4 (0.23-0.25 on one without a journal,
	// where creating a part's files costs more); at 200ms the p99 was about 0.3 s and
	// ClickHouse's work more than twice as much.
	FlushInterval time.Duration
	// MaxFlushInterval is how far the tick slows down while the flushes are small, or
	// while ClickHouse is slow to take them: each INSERT costs ClickHouse a part, and
	// merging it into the table's big part rewrites that part, whatever the INSERT's size,
	// so a trickle of tweets flushed twice a second kept a local ClickHouse busy for a
	// quarter of a core merging; and flat out, on a machine ClickHouse shares with the
	// pipeline, INSERTs that took most of a 500 ms tick cost it a third more CPU a tweet
	// than at a 2 s tick. Below this, the interval is the one that gathers slowBelow
	// records at the faster of the last two ticks' rates (growing at most twofold a
	// tick); it doubles while INSERTs take more than half of it, and is back at
	// FlushInterval once a tick's INSERTs carry more than fastAbove records in at most
	// half of it (see nextInterval). Default 2s (at least FlushInterval); equal to
	// FlushInterval, the tick is fixed.
	MaxFlushInterval time.Duration
	// Logger receives the ETL's logs; nil discards them.
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
	if c.SentimentModel == "" {
		c.SentimentModel = sentiment.Models()[0]
	}
	if c.GroupID == "" {
		c.GroupID = tweet.GroupETL
	}
	if c.BatchSize == 0 {
		c.BatchSize = 50000
	}
	if c.FlushInterval == 0 {
		c.FlushInterval = 500 * time.Millisecond
	}
	if c.MaxFlushInterval == 0 {
		c.MaxFlushInterval = max(2*time.Second, c.FlushInterval)
	}
	if c.EntitiesGroup == "" {
		c.EntitiesGroup = tweet.GroupEntities
	}
	if c.EntitiesMaxLag == 0 {
		c.EntitiesMaxLag = 5000
	}
	if c.EntitiesCPU == 0 {
		c.EntitiesCPU = 0.25
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c
}

// Validate reports the first setting that cannot work.
func (c Config) Validate() error {
	c = c.WithDefaults()
	if err := c.Kafka.Validate(); err != nil {
		return fmt.Errorf("etl: %w", err)
	}
	for _, b := range c.Brokers {
		if _, port, err := net.SplitHostPort(b); err != nil || port == "" {
			return fmt.Errorf("etl: broker address %q is not host:port", b)
		}
	}
	if !slices.Contains(sentiment.Models(), c.SentimentModel) {
		return fmt.Errorf("etl: no sentiment model %q (models: %s)", c.SentimentModel, strings.Join(sentiment.Models(), ", "))
	}
	if c.BatchSize < 1 {
		return fmt.Errorf("etl: batch size must be positive, not %d", c.BatchSize)
	}
	if c.FlushInterval < time.Millisecond {
		return fmt.Errorf("etl: flush interval %s is shorter than a millisecond", c.FlushInterval)
	}
	if c.MaxFlushInterval < c.FlushInterval {
		return fmt.Errorf("etl: max flush interval %s is shorter than the flush interval %s", c.MaxFlushInterval, c.FlushInterval)
	}
	if c.Entities && c.EntitiesGroup == c.GroupID {
		return errors.New("etl: the entities group must differ from the loading group")
	}
	if c.EntitiesMaxLag < 1 || c.EntitiesCPU <= 0 || c.EntitiesCPU > 64 {
		return fmt.Errorf("etl: entities max lag %d and CPU share %g must be positive", c.EntitiesMaxLag, c.EntitiesCPU)
	}
	if c.Topic == c.DLQTopic {
		return errors.New("etl: the dead-letter topic must differ from the input topic")
	}
	if err := c.Warehouse.Validate(); err != nil {
		return fmt.Errorf("etl: %w", err)
	}
	return nil
}

// insertWorkers is how many INSERTs of tweets may run at once (see inserter): two keep
// both of a small machine's cores busy, where one left ClickHouse waiting (about 25% fewer
// tweets/s in starling bench etl).
const insertWorkers = 2

// Timing of the consumer group and the warehouse writes. A member that does not rejoin
// within rebalanceTimeout is dropped and its partitions go to others, so an insert must
// finish (or fail) well within it: otherwise the next owner could read the loaded offsets
// before that insert lands and load its rows a second time.
const (
	heartbeatInterval = time.Second // how soon a member notices a rebalance
	sessionTimeout    = 10 * time.Second
	rebalanceTimeout  = 30 * time.Second
	insertTimeout     = 20 * time.Second // one insert attempt, never cut short by a rebalance
	closeFlushTimeout = 5 * time.Second  // the last flush when a partition is taken away
	maxBackoff        = 10 * time.Second
	readerCloseWait   = 15 * time.Second // longer than a fetch's deadlines (MaxWait, then 10 s per read)
)

// maxBatchRecordBytes bounds what one fetched batch's records may decompress to; a batch
// past it is dead-lettered, not handed to kafka-go, which would hold it all in memory.
// Producers cap batches at about 1 MiB before compression (Kafka's max.message.bytes
// default caps them after), so this leaves room for any sane producer.
const maxBatchRecordBytes = 64 << 20

// Stats are the ETL's running counters, since New.
type Stats struct {
	Consumed     uint64 // records read from the topic (re-reads after a rebalance count again)
	Loaded       uint64 // tweets inserted into the warehouse
	Duplicates   uint64 // tweets not inserted because the warehouse holds them, or a newer edit
	Withdrawn    uint64 // tweets withdrawn by tombstones and edits
	DeadLettered uint64 // records written to the dead-letter topic
	InsertErrors uint64 // failed writes to the warehouse or the dead-letter topic (each retried)
	Batches      uint64 // batches flushed (inserted and/or offsets recorded)
	// Of the batches: flushed at BatchSize records; by the flush interval while their
	// partition kept up; while their partition was behind, because its reader delivered
	// nothing for a while (a slow broker or machine); and when their partition was taken
	// away.
	FullBatches, IntervalBatches, StalledBatches, HandoverBatches uint64
	FlushInterval                                                 time.Duration // the current tick of the ETL's clock (see MaxFlushInterval)
}

// ETL is a streaming consumer. Create it with New, run it with Run.
type ETL struct {
	cfg     Config
	log     *slog.Logger
	scorer  sentiment.Scorer // cfg.SentimentModel
	metrics *etlMetrics
	dialer  *kafka.Dialer // set by Run, used by the consumer groups
	// readDialer, set by Run, is the partition readers': it checks the batches fetched.
	readDialer *kafka.Dialer
	purger     *purger   // set by Run
	inserter   *inserter // set by Run

	// tick is the current flush interval, between FlushInterval and MaxFlushInterval;
	// lastRate the records a second of the last Load (float64 bits), for adaptTick.
	tick     atomic.Int64
	lastRate atomic.Uint64

	consumed, loaded, duplicates, withdrawn, dead, insertErrors atomic.Uint64
	batches                                                     [flushReasons]atomic.Uint64
}

// New checks cfg and prepares an ETL (it loads the sentiment model).
func New(cfg Config) (*ETL, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.WithDefaults()
	scorer, err := sentiment.ByName(cfg.SentimentModel)
	if err != nil {
		return nil, fmt.Errorf("etl: %w", err)
	}
	e := &ETL{cfg: cfg, log: cfg.Logger, scorer: scorer, metrics: newETLMetrics(cfg.GroupID)}
	e.tick.Store(int64(cfg.FlushInterval))
	e.metrics.flushInterval.Set(cfg.FlushInterval.Seconds())
	return e, nil
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
	s := Stats{
		Consumed:     e.consumed.Load(),
		Loaded:       e.loaded.Load(),
		Duplicates:   e.duplicates.Load(),
		Withdrawn:    e.withdrawn.Load(),
		DeadLettered: e.dead.Load(),
		InsertErrors: e.insertErrors.Load(),

		FlushInterval: e.flushTick(),

		FullBatches:     e.batches[flushFull].Load(),
		IntervalBatches: e.batches[flushInterval].Load(),
		StalledBatches:  e.batches[flushStalled].Load(),
		HandoverBatches: e.batches[flushHandover].Load(),
	}
	s.Batches = s.FullBatches + s.IntervalBatches + s.StalledBatches + s.HandoverBatches
	return s
}

// The flush interval adapts to the records each tick's INSERTs carry (MaxFlushInterval).
const (
	slowBelow = 500
	fastAbove = 4000
)

// flushTick is the current flush interval.
func (e *ETL) flushTick() time.Duration { return time.Duration(e.tick.Load()) }

// adaptTick moves the flush interval after INSERTs that carried records records and took
// took.
func (e *ETL) adaptTick(records int64, took time.Duration) {
	cur := e.flushTick()
	// The rules read the faster of this tick's rate and the last one's: records arrive in
	// fetches, and a tick that missed one is not yet a slower stream (at 1,000 tweets/s,
	// a single tick's rate moved the tick between 500 ms and a second: p99 1.25-1.93 s,
	// against 0.61-0.83 s with two).
	rate := float64(records) / cur.Seconds()
	last := math.Float64frombits(e.lastRate.Swap(math.Float64bits(rate)))
	records = max(records, int64(math.Round(last*cur.Seconds())))
	next := nextInterval(cur, e.cfg.FlushInterval, e.cfg.MaxFlushInterval, records, took)
	if next != cur && e.tick.CompareAndSwap(int64(cur), int64(next)) {
		e.metrics.flushInterval.Set(next.Seconds())
		e.log.Debug("flush interval", "interval", next, "records", records, "took", took)
	}
}

// nextInterval is the flush interval after a tick at cur whose INSERTs carried records and
// took took.
//
// A tick gathers at least about slowBelow records where the rate allows it within hi: the
// interval is the one that gathers slowBelow at the rate records says (at most twice cur,
// at least lo). Fewer records than that are parts that cost ClickHouse more than their
// freshness is worth (a trickle, the sample feed: 2 s); from 1,000 tweets/s (slowBelow a
// 500 ms tick) the tick is lo. The mark is half of what a tick carries at that rate, so
// that the bursts in which records arrive (fetches) do not hold a stream above it at a
// slower tick. INSERTs that take more than half the interval double it: ClickHouse is
// short of CPU (on a machine it shares with the pipeline, flat out) or far away, and
// fewer, larger INSERTs cost it less a tweet. Measured on two cores flat out, the INSERTs
// of a 500 ms tick took 306 ms at the median (579 at p90), and ClickHouse spent 7.5-8.3 µs
// a tweet against 5.5-6.6 at a 2 s tick; at 6,000 tweets/s they took 52 ms at the median
// (89 at p99), so that tick stays. A tick whose INSERTs carry more than fastAbove records
// in at most half the interval (a burst after a trickle, or a rate ClickHouse takes in
// time again) is back to lo, fresh flushes at once.
func nextInterval(cur, lo, hi time.Duration, records int64, took time.Duration) time.Duration {
	switch {
	case took > cur/2, records <= 0:
		return min(2*cur, hi)
	case records > fastAbove:
		return lo
	}
	gather := time.Duration(float64(cur) * slowBelow / float64(records))
	return max(lo, min(gather, 2*cur, hi))
}

// Run consumes and loads until ctx is done, then returns nil. It waits for the warehouse
// and the brokers to answer, so it may start before them. A batch not yet loaded when ctx
// ends is left to the next run, which reads it again.
func (e *ETL) Run(ctx context.Context) error {
	wcfg := e.cfg.Warehouse
	if wcfg.Logger == nil {
		wcfg.Logger = e.log
	}
	db, err := warehouse.OpenWaiting(ctx, wcfg, maxBackoff)
	if err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return err
	}
	defer db.Close()
	e.purger = newPurger(db, e.log)
	// The purger outlives ctx: it stops after the partitions' last flushes (the group
	// closes first, below), and purges what they withdrew.
	purgeCtx, stopPurge := context.WithCancel(context.WithoutCancel(ctx))
	purgeDone := make(chan struct{})
	go func() { defer close(purgeDone); e.purger.run(purgeCtx) }()
	defer func() { stopPurge(); <-purgeDone }()
	// Likewise the inserter serves the partitions' last flushes.
	e.inserter = newInserter(db, e.adaptTick)
	insertCtx, stopInsert := context.WithCancel(context.WithoutCancel(ctx))
	insertDone := make(chan struct{})
	go func() {
		defer close(insertDone)
		e.inserter.run(insertCtx, insertWorkers)
	}()
	defer func() { stopInsert(); <-insertDone }()

	transport, err := e.cfg.Kafka.Transport()
	if err != nil {
		return fmt.Errorf("etl: %w", err)
	}
	dialer, err := e.cfg.Kafka.Dialer()
	if err != nil {
		return fmt.Errorf("etl: %w", err)
	}
	e.dialer = dialer
	if e.readDialer, err = e.cfg.Kafka.ConsumerDialer(maxBatchRecordBytes); err != nil {
		return fmt.Errorf("etl: %w", err)
	}
	dlq := &kafka.Writer{
		Addr:                   kafka.TCP(e.cfg.Brokers...),
		Transport:              transport,
		Topic:                  e.cfg.DLQTopic,
		Balancer:               &kafka.Hash{}, // keep a key's records together, as on the input
		RequiredAcks:           kafka.RequireAll,
		AllowAutoTopicCreation: true,
		BatchTimeout:           time.Millisecond, // each flush writes its dead letters in one call
		ErrorLogger:            e.kafkaLogger(slog.LevelWarn, "dlq-writer"),
	}
	defer dlq.Close()
	requeue := &kafka.Writer{
		Addr:         kafka.TCP(e.cfg.Brokers...),
		Transport:    transport,
		Topic:        e.cfg.Topic,
		Balancer:     samePartition{}, // a tombstone lands in its tweet's partition
		RequiredAcks: kafka.RequireAll,
		BatchTimeout: time.Millisecond,
		ErrorLogger:  e.kafkaLogger(slog.LevelWarn, "tombstone-writer"),
	}
	defer requeue.Close()

	cg, err := e.consumerGroup(e.cfg.GroupID, kafka.FirstOffset, "consumer-group")
	if err != nil {
		return fmt.Errorf("etl: consumer group: %w", err)
	}
	defer cg.Close() // ends the current generation and waits for its partition goroutines
	e.log.Info("etl started", "group", e.cfg.GroupID, "topic", e.cfg.Topic, "brokers", e.cfg.Brokers)
	if e.cfg.Entities {
		// The recogniser's model takes most of a second to load: the loading group does not
		// wait for it.
		entCtx, stopEnt := context.WithCancel(ctx)
		entDone := make(chan error, 1)
		go func() {
			x, err := entities.New()
			if err != nil {
				entDone <- fmt.Errorf("etl: entities: %w", err)
				return
			}
			g := &entityGroup{e: e, db: db, x: x, cpu: newCPUBudget(e.cfg.EntitiesCPU)}
			entDone <- g.run(entCtx)
		}()
		defer func() {
			stopEnt()
			if err := <-entDone; err != nil {
				e.log.Error("entities group stopped", "err", err)
			}
		}()
	}

	for {
		gen, err := cg.Next(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			// Join errors (broker down, coordinator moving) are retried by the group itself
			// after JoinGroupBackoff; Next reports each one.
			e.log.Warn("consumer group: no generation yet", "err", err)
			continue
		}
		assigned := gen.Assignments[e.cfg.Topic]
		ids := make([]int, 0, len(assigned))
		for _, a := range assigned {
			ids = append(ids, a.ID)
			p := &partitionLoader{etl: e, db: db, dlq: dlq, requeue: requeue, gen: gen, partition: a.ID, committed: a.Offset}
			gen.Start(p.run)
		}
		e.log.Info("partitions assigned", "generation", gen.ID, "member", gen.MemberID, "partitions", ids)
	}
}

// consumerGroup joins group on the tweet topic; a partition the group never committed
// starts at start. component names the group in logs.
func (e *ETL) consumerGroup(group string, start int64, component string) (*kafka.ConsumerGroup, error) {
	return kafka.NewConsumerGroup(kafka.ConsumerGroupConfig{
		ID:                group,
		Brokers:           e.cfg.Brokers,
		Dialer:            e.dialer,
		Topics:            []string{e.cfg.Topic},
		StartOffset:       start,
		HeartbeatInterval: heartbeatInterval,
		SessionTimeout:    sessionTimeout,
		RebalanceTimeout:  rebalanceTimeout,
		JoinGroupBackoff:  time.Second,
		// A topic created after the ETL joined, or given more partitions, rebalances
		// the group instead of being ignored until the next restart.
		WatchPartitionChanges:  true,
		PartitionWatchInterval: 2 * time.Second,
		Logger:                 e.kafkaLogger(slog.LevelDebug, component),
		ErrorLogger:            e.kafkaLogger(slog.LevelWarn, component),
	})
}

// partitionReader reads one partition of the tweet topic from start, with a read-ahead
// queue of queue messages.
func (e *ETL) partitionReader(partition int, start int64, queue int, component string) (*kafka.Reader, error) {
	r := kafka.NewReader(kafka.ReaderConfig{
		Brokers:   e.cfg.Brokers,
		Topic:     e.cfg.Topic,
		Partition: partition,
		Dialer:    e.readDialer,
		MinBytes:  1,
		MaxBytes:  8 << 20,
		// kafka-go gives a fetch a connection deadline of MaxWait and asks the broker to
		// answer within three quarters of it (a quarter more below one second): with
		// 250 ms, 62 ms of slack timed fetches out on a loaded machine. The broker answers
		// as soon as a record arrives, so a longer wait costs no latency.
		MaxWait:       2 * time.Second,
		QueueCapacity: queue,
		ErrorLogger:   e.kafkaLogger(slog.LevelInfo, component),
	})
	if err := r.SetOffset(start); err != nil {
		r.Close()
		return nil, err
	}
	return r, nil
}

// closeReader closes a partition reader, waiting for it at most readerCloseWait. kafka-go's
// Close waits for the reader's fetch goroutine; should that goroutine be stuck, the caller
// (a partition's worker, whose return a consumer group generation waits for) goes on, the
// reader is left to finish in the background, and the log says so.
func (e *ETL) closeReader(r *kafka.Reader, partition int) {
	done := make(chan struct{})
	go func() {
		r.Close()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(readerCloseWait):
		e.log.Warn("a partition reader did not close in time; left to close in the background", "partition", partition, "waited", readerCloseWait)
	}
}

// samePartition sends a message to the partition its Partition field names. kafka-go's
// Writer ignores the field (and documents it as read-only); it hands the message to the
// balancer as it is, so this balancer can read it. fanOut sets it to the partition a
// tweet was loaded from.
type samePartition struct{}

// Balance returns msg.Partition when the topic has it, else the first partition.
func (samePartition) Balance(msg kafka.Message, partitions ...int) int {
	for _, p := range partitions {
		if p == msg.Partition {
			return p
		}
	}
	return partitions[0]
}

// kafkaLogger adapts kafka-go's printf logging to the ETL's logger.
func (e *ETL) kafkaLogger(level slog.Level, component string) kafka.LoggerFunc {
	return func(msg string, args ...any) {
		if e.log.Enabled(context.Background(), level) {
			e.log.Log(context.Background(), level, fmt.Sprintf(msg, args...), "component", component)
		}
	}
}
