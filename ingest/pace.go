package ingest

import (
	"context"
	"strconv"
	"time"

	"github.com/starling-analytics/starling/internal/tweet"
)

// Clock is the time source pacing uses; tests pass a fake one.
type Clock interface {
	Now() time.Time
	After(d time.Duration) <-chan time.Time
}

type realClock struct{}

func (realClock) Now() time.Time { return time.Now() }

func (realClock) After(d time.Duration) <-chan time.Time { return time.After(d) }

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
