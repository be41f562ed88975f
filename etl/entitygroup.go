package etl

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/starling-analytics/starling/etl/entities"
	"github.com/starling-analytics/starling/internal/retry"
	"github.com/starling-analytics/starling/internal/tweet"
	"github.com/starling-analytics/starling/warehouse"
)

// The "entities" consumer group: a second reader of topic "tweets", beside the loader,
// that stores the people, places and organisations tweets name (etl/entities, prose's
// named-entity recogniser) in the warehouse's entities table.
//
// Recognition costs about a millisecond a tweet, a thousand times the rest of the ETL, so
// the group samples: of each partition it reads every k-th record, and doubles k while the
// partition's lag grows past EntitiesMaxLag, halving it again once the lag is small. Every
// row says what k was (sampled_every), so counts can be scaled up. Recognition also gets a
// CPU budget (EntitiesCPU) that it waits out when spent, so that it never takes the cores
// the loading needs; a sample that shrinks is the price. Its progress is kept like the
// loader's, in loaded_offsets under tweet.EntityProgress ("entities:tweets"), and in the group's
// committed offsets: a restart resumes where it was.

// entityGroup runs the entities consumer group.
type entityGroup struct {
	e   *ETL
	db  *warehouse.DB
	x   *entities.Extractor
	cpu *cpuBudget
}

// maxSampleEvery bounds the sampling step.
const maxSampleEvery = 1 << 12

// run consumes until ctx ends.
func (g *entityGroup) run(ctx context.Context) error {
	e := g.e
	// A new group samples from now, not from the beginning.
	cg, err := e.consumerGroup(e.cfg.EntitiesGroup, kafka.LastOffset, "entities-group")
	if err != nil {
		return fmt.Errorf("etl: entities group: %w", err)
	}
	defer cg.Close()
	e.log.Info("entities group started", "group", e.cfg.EntitiesGroup, "cpu_share", e.cfg.EntitiesCPU)
	for {
		gen, err := cg.Next(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			e.log.Warn("entities group: no generation yet", "err", err)
			continue
		}
		for _, a := range gen.Assignments[e.cfg.Topic] {
			p := &entityLoader{g: g, gen: gen, partition: a.ID, committed: a.Offset, every: 1}
			gen.Start(p.run)
		}
	}
}

// entityLoader samples one partition for one generation.
type entityLoader struct {
	g         *entityGroup
	gen       *kafka.Generation
	partition int
	committed int64
	every     int64 // the sampling step k
	dec       decoder
	rows      []warehouse.EntityRow
	last      int64 // offset of the last record read
	behind    int64 // the partition's lag at the last record read
	pending   bool  // records read since the last flush
	tried     bool  // a write of rows was attempted: some may be stored
	written   bool  // rows are stored; only the progress is left to record
}

// entityFlushEvery is how often a partition's entities are written and its progress kept.
const entityFlushEvery = time.Second

func (p *entityLoader) run(genCtx context.Context) {
	e := p.g.e
	ctx, cancel := context.WithCancel(genCtx)
	defer cancel()
	start, ok := p.startOffset(ctx)
	if !ok {
		return
	}
	r, err := e.partitionReader(p.partition, start, 1000, "entities-reader")
	if err != nil {
		e.log.Error("cannot position entities reader", "partition", p.partition, "offset", start, "err", err)
		return
	}
	defer e.closeReader(r, p.partition)
	part := strconv.Itoa(p.partition)
	lag := e.metrics.entityLag.WithLabelValues(e.cfg.Topic, part)
	every := e.metrics.entityEvery.WithLabelValues(e.cfg.Topic, part)
	defer e.metrics.entityLag.DeleteLabelValues(e.cfg.Topic, part)
	defer e.metrics.entityEvery.DeleteLabelValues(e.cfg.Topic, part)
	defer p.flush(context.WithoutCancel(ctx))
	nextFlush := time.Now().Add(entityFlushEvery)
	fetchBackoff := retry.Backoff{Max: maxBackoff}
	for {
		fetchCtx, cancelFetch := context.WithDeadline(ctx, nextFlush)
		m, err := r.FetchMessage(fetchCtx)
		cancelFetch()
		switch {
		case err == nil:
			fetchBackoff.Reset()
			p.behind = max(m.HighWaterMark-m.Offset-1, 0)
			lag.Set(float64(p.behind))
			p.add(ctx, m)
		case ctx.Err() != nil:
			return
		case errors.Is(err, context.DeadlineExceeded):
		default:
			e.log.Warn("entities fetch failed; retrying", "partition", p.partition, "err", err)
			if !fetchBackoff.Wait(ctx) {
				return
			}
		}
		if time.Now().After(nextFlush) {
			if !p.flush(ctx) {
				return
			}
			p.adjust()
			every.Set(float64(p.every))
			nextFlush = time.Now().Add(entityFlushEvery)
		}
	}
}

// startOffset is after the group's committed offset, the recorded progress or the last
// entity row stored (see flush), whichever is later. A partition with neither starts at
// its end as of now: the end is read from the partition's leader and committed at once, so
// that the group's starting point is fixed when it joins (records produced while a reader
// connects are not skipped, and a restart resumes there).
func (p *entityLoader) startOffset(ctx context.Context) (int64, bool) {
	e := p.g.e
	b := retry.Backoff{Max: maxBackoff}
	for {
		loaded, err := p.g.db.LoadedOffsets(ctx, tweet.EntityProgress(e.cfg.Topic))
		var extent map[int32]int64
		if err == nil {
			extent, err = p.g.db.EntityExtent(ctx)
		}
		if err == nil {
			start := p.committed // kafka.LastOffset for a new group
			if l, ok := loaded[int32(p.partition)]; ok && (start < 0 || l+1 > start) {
				start = l + 1
			}
			// Rows stored past the progress: a write whose progress was never recorded.
			if x, ok := extent[int32(p.partition)]; ok && start >= 0 && x+1 > start {
				start = x + 1
			}
			if start >= 0 {
				return start, true
			}
			if start, err = p.pinEnd(ctx); err == nil {
				return start, true
			}
		}
		e.log.Warn("reading the entities group's starting offset failed; retrying", "partition", p.partition, "err", err)
		if !b.Wait(ctx) {
			return 0, false
		}
	}
}

// pinEnd reads the partition's end offset and commits it as the group's offset.
func (p *entityLoader) pinEnd(ctx context.Context) (int64, error) {
	e := p.g.e
	var errs []error
	for _, broker := range e.cfg.Brokers {
		conn, err := e.readDialer.DialLeader(ctx, "tcp", broker, e.cfg.Topic, p.partition)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		end, err := conn.ReadLastOffset()
		conn.Close()
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if err := p.gen.CommitOffsets(map[string]map[int]int64{e.cfg.Topic: {p.partition: end}}); err != nil {
			return 0, fmt.Errorf("commit the starting offset: %w", err)
		}
		return end, nil
	}
	return 0, fmt.Errorf("read the end of partition %d: %w", p.partition, errors.Join(errs...))
}

// adjust moves the sampling step with the lag, once a flush: it doubles while the
// partition is further behind than EntitiesMaxLag, and halves once it is within a quarter
// of it.
func (p *entityLoader) adjust() {
	limit := int64(p.g.e.cfg.EntitiesMaxLag)
	switch {
	case p.behind > limit && p.every < maxSampleEvery:
		p.every *= 2
	case p.behind < limit/4 && p.every > 1:
		p.every /= 2
	}
}

// add samples one record.
func (p *entityLoader) add(ctx context.Context, m kafka.Message) {
	e := p.g.e
	p.last, p.pending = m.Offset, true
	if m.Offset%p.every != 0 {
		return
	}
	// Decoded as the loader decodes it: a record the loader rejects has no entities, and
	// the hashtags and words are those of the tweet's row in tweets.
	row, tomb, err := e.decode(&p.dec, m, false)
	if err != nil || tomb != nil {
		return // the loader reports bad records
	}
	if !p.g.cpu.wait(ctx) {
		return
	}
	began := time.Now()
	found := p.g.x.Extract(row.Text, row.Lang)
	spent := time.Since(began)
	p.g.cpu.spend(spent)
	e.metrics.entitySeconds.Add(spent.Seconds())
	e.metrics.entityTweets.Inc()
	if len(found) == 0 {
		return
	}
	compound, _, words := p.dec.analyze(e.scorer, row.Text)
	for _, f := range found {
		p.rows = append(p.rows, warehouse.EntityRow{
			TweetID: row.ID, CreatedAt: row.CreatedAt, Entity: f.Text, Kind: string(f.Kind), Lang: row.Lang,
			Sentiment: float32(compound), SampledEvery: uint32(p.every), KafkaPartition: int32(p.partition), KafkaOffset: m.Offset,
			Hashtags: row.Hashtags, Words: words,
		})
	}
}

// flush writes the sampled entities, then the progress, then commits. false means ctx
// ended first; what was not written is sampled again by the next owner. A write that
// failed may have been stored all the same (a lost reply, an INSERT cancelled as the
// generation ended but finished by ClickHouse), so a retry leaves out the rows whose
// offsets are stored: no entity is counted twice.
func (p *entityLoader) flush(ctx context.Context) bool {
	if !p.pending {
		return true
	}
	e := p.g.e
	b := retry.Backoff{Max: maxBackoff}
	for {
		err := p.write(ctx)
		if err == nil {
			err = p.g.db.RecordOffsets(ctx, tweet.EntityProgress(e.cfg.Topic), map[int32]int64{int32(p.partition): p.last})
		}
		if err == nil {
			break
		}
		e.metrics.writeErrors.WithLabelValues("entities").Inc()
		e.log.Warn("writing entities failed; retrying", "partition", p.partition, "rows", len(p.rows), "err", err)
		if !b.Wait(ctx) {
			return false
		}
	}
	e.metrics.entities.Add(float64(len(p.rows)))
	if err := p.gen.CommitOffsets(map[string]map[int]int64{e.cfg.Topic: {p.partition: p.last + 1}}); err != nil {
		e.log.Warn("entities offset commit failed", "partition", p.partition, "err", err)
	}
	clear(p.rows)
	p.rows, p.pending, p.written, p.tried = p.rows[:0], false, false, false
	return true
}

// write inserts the pending rows once: after a failed attempt, only those not stored.
func (p *entityLoader) write(ctx context.Context) error {
	if p.written || len(p.rows) == 0 {
		return nil
	}
	rows := p.rows
	if p.tried {
		stored, err := p.g.db.StoredEntityOffsets(ctx, int32(p.partition), rows[0].KafkaOffset, rows[len(rows)-1].KafkaOffset)
		if err != nil {
			return err
		}
		rows = slices.DeleteFunc(slices.Clone(rows), func(r warehouse.EntityRow) bool { return stored[r.KafkaOffset] })
	}
	p.tried = true
	if err := p.g.db.InsertEntities(ctx, rows); err != nil {
		return err
	}
	p.written = true
	return nil
}

// cpuBudget lets named-entity recognition use at most share of a core: a token bucket of
// CPU time, filled at share seconds per second up to a second's worth. A call waits while
// the bucket is empty; a long call may take it below zero, and the next waits longer.
type cpuBudget struct {
	share float64 // cores

	mu     sync.Mutex
	tokens time.Duration // guarded by mu
	at     time.Time     // guarded by mu: when tokens was last filled
}

func newCPUBudget(share float64) *cpuBudget {
	return &cpuBudget{share: share, tokens: time.Duration(share * float64(time.Second)), at: time.Now()}
}

// fill adds the tokens earned since the last fill. Caller holds mu.
func (c *cpuBudget) fill(now time.Time) {
	burst := time.Duration(c.share * float64(time.Second))
	c.tokens = min(c.tokens+time.Duration(c.share*float64(now.Sub(c.at))), burst)
	c.at = now
}

// wait blocks until the bucket holds time; false means ctx ended first.
func (c *cpuBudget) wait(ctx context.Context) bool {
	for {
		c.mu.Lock()
		c.fill(time.Now())
		delay := time.Duration(0)
		if c.tokens <= 0 {
			delay = time.Duration(float64(-c.tokens)/c.share) + time.Millisecond
		}
		c.mu.Unlock()
		if delay == 0 {
			return true
		}
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return false
		case <-t.C:
		}
	}
}

// spend takes d from the bucket.
func (c *cpuBudget) spend(d time.Duration) {
	c.mu.Lock()
	c.fill(time.Now())
	c.tokens -= d
	c.mu.Unlock()
}
