package etl

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/starling-analytics/starling/etl/sentiment"
	"github.com/starling-analytics/starling/internal/kafkaclient"
	"github.com/starling-analytics/starling/internal/retry"
	"github.com/starling-analytics/starling/internal/tweet"
	"github.com/starling-analytics/starling/warehouse"
)

// Re-scoring history from the log: `starling rescore --model NAME --since TIME` reads topic
// "tweets" again from the first record at or after TIME (ListOffsets by time), in a
// consumer group of its own ("rescore-NAME"), and writes that model's scores of the tweets
// the warehouse holds beside the scores the ETL gave them (warehouse.LoadScores: exactly
// once, by batch marks). The live ETL keeps running meanwhile.
//
// Which tweets count is the ETL's decision, not the rescore's: a record is scored when the
// tweets table holds a tweet loaded from that very record (so duplicates, superseded edits,
// withdrawn-and-purged tweets and dead letters are left out as the ETL left them), unless
// the ETL scored it with the same model already. A run rescores each partition up to where
// the ETL had loaded it when the run began; run it again later for what came after.

// RescoreConfig configures a rescore. Zero values are the documented defaults.
type RescoreConfig struct {
	// Model is the sentiment model to score with (sentiment.Models). Required.
	Model string
	// Since is the time of the first record to read again: each partition starts at its
	// first record whose Kafka timestamp is at or after it. Required.
	Since time.Time
	// Brokers are the Kafka bootstrap addresses. Default ["127.0.0.1:9092"].
	Brokers []string
	// Kafka holds TLS and SASL settings for the brokers.
	Kafka kafkaclient.Config
	// Topic is the tweet topic the ETL loads. Default tweet.TopicTweets.
	Topic string
	// GroupID is the rescore's consumer group. Default "rescore-" + Model.
	GroupID string
	// Warehouse is the ETL's warehouse (schema version 4 or later).
	Warehouse warehouse.Config
	// BatchSize is the records of one batch of scores. Default 20000.
	BatchSize int
	// Progress, when set, is called every ProgressEvery (default 2s) and once at the end.
	Progress      func(RescoreProgress)
	ProgressEvery time.Duration
	// Logger receives the rescore's logs. Default slog.Default().
	Logger *slog.Logger
}

// RescoreProgress is how far a rescore is.
type RescoreProgress struct {
	Records int64         // records of the range read by this run
	Total   int64         // records of the range this run has to read (committed batches left out)
	Scored  int64         // tweets this run scored and committed
	Elapsed time.Duration // since the run began
	Done    bool          // every partition's range is committed
}

// Percent is the share of Total read, 0-100.
func (p RescoreProgress) Percent() float64 {
	if p.Total == 0 {
		return 100
	}
	return 100 * float64(p.Records) / float64(p.Total)
}

// WithDefaults returns c with every zero field set to its default; the command's flags
// show these defaults.
func (c RescoreConfig) WithDefaults() RescoreConfig {
	if len(c.Brokers) == 0 {
		c.Brokers = kafkaclient.DefaultBrokers()
	}
	if c.Topic == "" {
		c.Topic = tweet.TopicTweets
	}
	if c.GroupID == "" {
		c.GroupID = "rescore-" + c.Model
	}
	if c.BatchSize == 0 {
		c.BatchSize = 20000
	}
	if c.ProgressEvery == 0 {
		c.ProgressEvery = 2 * time.Second
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return c
}

// Validate reports the first setting that cannot work.
func (c RescoreConfig) Validate() error {
	if !slices.Contains(sentiment.Models(), c.Model) {
		return fmt.Errorf("rescore: no sentiment model %q (models: %s)", c.Model, strings.Join(sentiment.Models(), ", "))
	}
	if c.Since.IsZero() {
		return errors.New("rescore: no start time given")
	}
	if c.BatchSize < 0 {
		return fmt.Errorf("rescore: batch size must be positive, not %d", c.BatchSize)
	}
	return c.Kafka.Validate()
}

// partRange is the records [start, end) of a partition a run rescores.
type partRange struct{ start, end int64 }

// rescore is one run.
type rescore struct {
	cfg    RescoreConfig
	e      *ETL // the ETL's decoding, scoring and Kafka plumbing, with the rescore's model
	db     *warehouse.DB
	ranges map[int]partRange
	began  time.Time

	records, scored atomic.Int64
	total           int64
}

// Rescore runs a rescore to its end: every partition's range committed. It returns the
// final progress. Cancelled, it stops after the batches in flight; a later run with the
// same model resumes (committed batches are not read again).
func Rescore(ctx context.Context, cfg RescoreConfig) (RescoreProgress, error) {
	if err := cfg.Validate(); err != nil {
		return RescoreProgress{}, err
	}
	cfg = cfg.WithDefaults()
	scorer, err := sentiment.ByName(cfg.Model)
	if err != nil {
		return RescoreProgress{}, fmt.Errorf("rescore: %w", err)
	}
	e := &ETL{log: cfg.Logger, scorer: scorer, cfg: Config{
		Brokers: cfg.Brokers, Kafka: cfg.Kafka, Topic: cfg.Topic, SentimentModel: cfg.Model, Warehouse: cfg.Warehouse, Logger: cfg.Logger,
	}.WithDefaults()}
	if e.dialer, err = cfg.Kafka.Dialer(); err != nil {
		return RescoreProgress{}, fmt.Errorf("rescore: %w", err)
	}
	if e.readDialer, err = cfg.Kafka.ConsumerDialer(maxBatchRecordBytes); err != nil {
		return RescoreProgress{}, fmt.Errorf("rescore: %w", err)
	}
	db, err := warehouse.Open(ctx, cfg.Warehouse)
	if err != nil {
		return RescoreProgress{}, fmt.Errorf("rescore: %w", err)
	}
	defer db.Close()
	applied, err := db.AppliedMigrations(ctx)
	if err != nil {
		return RescoreProgress{}, fmt.Errorf("rescore: %w", err)
	}
	if !applied[4] {
		return RescoreProgress{}, errors.New("rescore: the warehouse has no place for other models' scores (schema version 4): run starling migrate")
	}
	r := &rescore{cfg: cfg, e: e, db: db, began: time.Now()}
	if err := r.plan(ctx); err != nil {
		return RescoreProgress{}, err
	}
	return r.run(ctx)
}

// plan finds each partition's range: from the first record at or after Since to where
// the ETL has loaded, and the records of it left to read.
func (r *rescore) plan(ctx context.Context) error {
	transport, err := r.cfg.Kafka.Transport()
	if err != nil {
		return fmt.Errorf("rescore: %w", err)
	}
	client := &kafka.Client{Addr: kafka.TCP(r.cfg.Brokers...), Transport: transport, Timeout: 30 * time.Second}
	meta, err := client.Metadata(ctx, &kafka.MetadataRequest{Topics: []string{r.cfg.Topic}})
	if err != nil {
		return fmt.Errorf("rescore: read the partitions of %s: %w", r.cfg.Topic, err)
	}
	if len(meta.Topics) != 1 || meta.Topics[0].Error != nil {
		return fmt.Errorf("rescore: topic %s: %v", r.cfg.Topic, meta.Topics)
	}
	var lastReq, timeReq []kafka.OffsetRequest
	for _, p := range meta.Topics[0].Partitions {
		lastReq = append(lastReq, kafka.LastOffsetOf(p.ID))
		timeReq = append(timeReq, kafka.TimeOffsetOf(p.ID, r.cfg.Since))
	}
	// Two requests: Kafka refuses a partition named twice in one.
	list := func(reqs []kafka.OffsetRequest) (map[int]kafka.PartitionOffsets, error) {
		res, err := client.ListOffsets(ctx, &kafka.ListOffsetsRequest{Topics: map[string][]kafka.OffsetRequest{r.cfg.Topic: reqs}})
		if err != nil {
			return nil, fmt.Errorf("rescore: list offsets of %s: %w", r.cfg.Topic, err)
		}
		out := map[int]kafka.PartitionOffsets{}
		for _, po := range res.Topics[r.cfg.Topic] {
			if po.Error != nil {
				return nil, fmt.Errorf("rescore: list offsets of %s[%d]: %w", r.cfg.Topic, po.Partition, po.Error)
			}
			out[po.Partition] = po
		}
		return out, nil
	}
	last, err := list(lastReq)
	if err != nil {
		return err
	}
	at, err := list(timeReq)
	if err != nil {
		return err
	}
	loaded, err := r.db.LoadedOffsets(ctx, r.cfg.Topic)
	if err != nil {
		return fmt.Errorf("rescore: %w", err)
	}
	marks, err := r.db.ScoreMarks(ctx, r.cfg.Model, r.cfg.Topic)
	if err != nil {
		return fmt.Errorf("rescore: %w", err)
	}
	r.ranges = map[int]partRange{}
	for p, lo := range last {
		hwm := lo.LastOffset
		start := hwm // no record at or after Since
		for off := range at[p].Offsets {
			if off >= 0 {
				start = min(off, hwm)
			}
		}
		end := hwm
		if l, ok := loaded[int32(p)]; !ok {
			end = start
		} else if l+1 < hwm {
			end = max(l+1, start)
			r.cfg.Logger.Warn("the ETL has not loaded all of the partition yet: the rest is left to a later rescore", "partition", p, "loaded_to", l, "high_watermark", hwm)
		}
		if start < end {
			if start, err = r.firstSince(ctx, p, start, end); err != nil {
				return err
			}
		}
		r.ranges[p] = partRange{start, end}
		r.total += uncovered(marks[int32(p)], start, end)
	}
	r.cfg.Logger.Info("rescore planned", "model", r.cfg.Model, "since", r.cfg.Since, "partitions", len(r.ranges), "records", r.total, "group", r.cfg.GroupID)
	return nil
}

// firstSince returns the offset of the partition's first record at or after Since, from
// the offset ListOffsets gave (which a broker may place a little early, at the start of an
// index interval), or end when there is none before end.
func (r *rescore) firstSince(ctx context.Context, partition int, from, end int64) (int64, error) {
	reader, err := r.e.partitionReader(partition, from, 100, "rescore-reader")
	if err != nil {
		return 0, fmt.Errorf("rescore: position a reader at %d of partition %d: %w", from, partition, err)
	}
	defer r.e.closeReader(reader, partition)
	for {
		m, err := reader.FetchMessage(ctx)
		if err != nil {
			return 0, fmt.Errorf("rescore: find the first record since %s in partition %d: %w", r.cfg.Since.Format(time.RFC3339), partition, err)
		}
		if m.Offset >= end {
			return end, nil
		}
		if !m.Time.Before(r.cfg.Since) {
			return m.Offset, nil
		}
	}
}

// uncovered counts the offsets of [start, end) outside the committed ranges.
func uncovered(marks []warehouse.OffsetRange, start, end int64) int64 {
	n := end - start
	for _, m := range marks {
		lo, hi := max(m.First, start), min(m.Last+1, end)
		if hi > lo {
			n -= hi - lo
		}
	}
	return max(n, 0)
}

// progress is the run's progress now.
func (r *rescore) progress(done bool) RescoreProgress {
	return RescoreProgress{Records: min(r.records.Load(), r.total), Total: r.total, Scored: r.scored.Load(), Elapsed: time.Since(r.began), Done: done}
}

// run joins the group and rescores the partitions it is given until every partition's
// range is committed (by this process or another of the group).
func (r *rescore) run(ctx context.Context) (RescoreProgress, error) {
	if done, err := r.complete(ctx); err != nil || done {
		p := r.progress(done)
		if r.cfg.Progress != nil {
			r.cfg.Progress(p)
		}
		return p, err
	}
	cg, err := r.e.consumerGroup(r.cfg.GroupID, kafka.FirstOffset, "rescore-group")
	if err != nil {
		return RescoreProgress{}, fmt.Errorf("rescore: consumer group: %w", err)
	}
	groupCtx, stop := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			gen, err := cg.Next(groupCtx)
			if err != nil {
				if groupCtx.Err() != nil {
					return
				}
				r.cfg.Logger.Warn("rescore group: no generation yet", "err", err)
				continue
			}
			for _, a := range gen.Assignments[r.cfg.Topic] {
				rg, ok := r.ranges[a.ID]
				if !ok {
					continue // a partition added since the run began
				}
				p := &rescorePartition{r: r, gen: gen, partition: a.ID, rng: rg}
				gen.Start(p.run)
			}
		}
	}()
	defer func() {
		stop()
		cg.Close()
		wg.Wait()
	}()
	tick := time.NewTicker(r.cfg.ProgressEvery)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return r.progress(false), ctx.Err()
		case <-tick.C:
		}
		done, err := r.complete(ctx)
		if err != nil {
			r.cfg.Logger.Warn("rescore: cannot read its marks; retrying", "err", err)
		}
		p := r.progress(done)
		if r.cfg.Progress != nil {
			r.cfg.Progress(p)
		}
		if done {
			return p, nil
		}
	}
}

// complete reports whether every partition's range is committed.
func (r *rescore) complete(ctx context.Context) (bool, error) {
	marks, err := r.db.ScoreMarks(ctx, r.cfg.Model, r.cfg.Topic)
	if err != nil {
		return false, err
	}
	for p, rg := range r.ranges {
		if uncovered(marks[int32(p)], rg.start, rg.end) > 0 {
			return false, nil
		}
	}
	return true, nil
}

// rescorePartition rescores one partition for one generation.
type rescorePartition struct {
	r         *rescore
	gen       *kafka.Generation
	partition int
	rng       partRange
	dec       decoder
}

// run rescores the partition's range, resuming from its marks after a failure. A
// partition done waits for the generation to end: kafka-go ends a generation as soon as
// one function it started returns, so a partition that finished first would end every
// generation at once, and the group would rejoin again and again while the others'
// readers never got as far as their first fetch (a rescore that hung in CI: a new
// generation every second or two, partition 0 left part-way for minutes). The rescore
// ends the generation itself when every range is committed.
func (p *rescorePartition) run(ctx context.Context) {
	r := p.r
	log := r.cfg.Logger.With("partition", p.partition)
	b := retry.Backoff{Max: maxBackoff}
	for ctx.Err() == nil {
		err := p.resume(ctx)
		if err == nil || ctx.Err() != nil {
			break
		}
		log.Warn("rescore of partition failed; resuming from its marks", "err", err)
		if !b.Wait(ctx) {
			break
		}
	}
	<-ctx.Done()
}

// resume rescores the partition's range from its marks on: the committed batches are
// skipped, every other stretch is read in batches of BatchSize records at most.
func (p *rescorePartition) resume(ctx context.Context) error {
	r := p.r
	marks, err := r.db.ScoreMarks(ctx, r.cfg.Model, r.cfg.Topic)
	if err != nil {
		return err
	}
	committed := marks[int32(p.partition)]
	pos := p.rng.start
	var reader *kafka.Reader
	defer func() {
		if reader != nil {
			r.e.closeReader(reader, p.partition)
		}
	}()
	readAt := int64(-1) // the reader's next offset
	var pending *kafka.Message
	for pos < p.rng.end {
		// Past a committed batch, and up to the next one.
		limit := min(p.rng.end, pos+int64(r.cfg.BatchSize))
		skipped := false
		for _, m := range committed {
			if m.First <= pos && pos <= m.Last {
				pos, skipped = m.Last+1, true
				break
			}
			if m.First > pos {
				limit = min(limit, m.First)
			}
		}
		if skipped {
			continue
		}
		if reader == nil || readAt != pos {
			if reader != nil {
				r.e.closeReader(reader, p.partition)
			}
			if reader, err = r.e.partitionReader(p.partition, pos, 1000, "rescore-reader"); err != nil {
				return fmt.Errorf("position the reader at %d: %w", pos, err)
			}
			readAt, pending = pos, nil
		}
		var msgs []kafka.Message
		for {
			var m kafka.Message
			if pending != nil {
				m, pending = *pending, nil
			} else if m, err = reader.FetchMessage(ctx); err != nil {
				return fmt.Errorf("read offset %d: %w", readAt, err)
			}
			if m.Offset >= limit {
				pending = &m
				break
			}
			readAt = m.Offset + 1
			r.records.Add(1)
			msgs = append(msgs, m)
			if readAt >= limit {
				break
			}
		}
		batch, err := p.scores(ctx, msgs, pos, limit-1)
		if err != nil {
			return err
		}
		if err := p.commit(ctx, batch); err != nil {
			return err
		}
		committed = append(committed, warehouse.OffsetRange{First: batch.First, Last: batch.Last})
		r.scored.Add(int64(len(batch.Scores)))
		if err := p.gen.CommitOffsets(map[string]map[int]int64{r.cfg.Topic: {p.partition: batch.Last + 1}}); err != nil {
			r.cfg.Logger.Warn("rescore: commit group offset", "partition", p.partition, "err", err)
		}
		pos = limit
	}
	return nil
}

// scores scores the batch's records that the warehouse holds as tweets (see above).
func (p *rescorePartition) scores(ctx context.Context, msgs []kafka.Message, first, last int64) (warehouse.ScoreBatch, error) {
	r := p.r
	b := warehouse.ScoreBatch{Model: r.cfg.Model, Topic: r.cfg.Topic, Partition: int32(p.partition), First: first, Last: last}
	rows := make([]warehouse.TweetRow, 0, len(msgs))
	for _, m := range msgs {
		row, tomb, err := r.e.decode(&p.dec, m, false) // scored below, if kept
		if err != nil || tomb != nil {
			continue // a dead letter or a tombstone: no tweet of this record is stored
		}
		rows = append(rows, row)
	}
	if len(rows) == 0 {
		return b, nil
	}
	stored, err := r.db.StoredTweets(ctx, r.cfg.Topic, rows)
	if err != nil {
		return b, err
	}
	for _, row := range rows {
		s, ok := stored[row.ID]
		if !ok || s.KafkaPartition != row.KafkaPartition || s.KafkaOffset != row.KafkaOffset || s.SentimentModel == r.cfg.Model {
			continue
		}
		compound, label := r.e.scorer.Score(row.Text)
		b.Scores = append(b.Scores, warehouse.ScoreRow{ID: row.ID, CreatedAt: row.CreatedAt, Lang: row.Lang, Sentiment: float32(compound),
			SentimentLabel: int8(label), KafkaTopic: row.KafkaTopic, KafkaPartition: row.KafkaPartition, KafkaOffset: row.KafkaOffset})
	}
	return b, nil
}

// commit loads the batch, retrying until it is committed: after a failure it asks the
// marks whether the attempt committed before trying again.
func (p *rescorePartition) commit(ctx context.Context, b warehouse.ScoreBatch) error {
	r := p.r
	bo := retry.Backoff{Max: maxBackoff}
	for {
		err := r.db.LoadScores(ctx, b)
		if err == nil {
			return nil
		}
		if errors.Is(err, warehouse.ErrInvalidRow) {
			return err
		}
		r.cfg.Logger.Warn("rescore: batch not loaded; retrying", "partition", b.Partition, "first", b.First, "last", b.Last, "err", err)
		if !bo.Wait(ctx) {
			return ctx.Err()
		}
		marks, merr := r.db.ScoreMarks(ctx, b.Model, b.Topic)
		if merr != nil {
			continue
		}
		if slices.Contains(marks[b.Partition], warehouse.OffsetRange{First: b.First, Last: b.Last}) {
			return nil
		}
	}
}
