package etl

import (
	"testing"
	"time"
)

func TestNextInterval(t *testing.T) {
	const lo, hi = 500 * time.Millisecond, 2 * time.Second
	const fast = 20 * time.Millisecond
	for _, tc := range []struct {
		cur     time.Duration
		records int64
		took    time.Duration
		want    time.Duration
	}{
		// A trickle slows the tick, at most twofold a tick, to the interval that gathers
		// 500 records at its rate, or the max.
		{lo, 10, fast, time.Second},
		{lo, 0, fast, time.Second},
		{time.Second, 100, fast, hi},
		{hi, 0, fast, hi},
		{hi, 500, fast, hi},                     // 250 tweets/s
		{lo, 400, fast, 625 * time.Millisecond}, // 800 tweets/s
		{625 * time.Millisecond, 500, fast, 625 * time.Millisecond},
		{time.Second, 499, fast, 1002004008}, // 499 tweets/s: about 1 s
		// From 1,000 tweets/s, the flush interval, whatever the tick was.
		{lo, 500, fast, lo},
		{hi, 2000, fast, lo},
		{hi, 4000, fast, lo},
		{time.Second, 3000, 100 * time.Millisecond, lo},
		{lo, 3000, 100 * time.Millisecond, lo}, // 6,000 tweets/s
		{lo, 3000, lo / 2, lo},
		// A burst, or a fast rate ClickHouse takes easily, brings it back.
		{hi, 4001, fast, lo},
		{time.Second, 50000, fast, lo},
		{lo, 50000, fast, lo},
		{hi, 50000, hi / 2, lo},
		{time.Second, 40000, 200 * time.Millisecond, lo},
		// INSERTs that take over half the tick slow it, whatever they carry.
		{lo, 3000, lo/2 + 1, time.Second},
		{lo, 40000, 300 * time.Millisecond, time.Second},
		{time.Second, 80000, 600 * time.Millisecond, hi},
		{hi, 160000, 1200 * time.Millisecond, hi},
		{hi, 160000, hi/2 + 1, hi},
	} {
		if got := nextInterval(tc.cur, lo, hi, tc.records, tc.took); got != tc.want {
			t.Errorf("nextInterval(%s, %d records, took %s) = %s, want %s", tc.cur, tc.records, tc.took, got, tc.want)
		}
	}
	// At a steady rate the tick settles where it would from any start: a stream that began
	// as a trickle (every ETL's start) is not held at a slow tick, nor one that began as a
	// burst at a fast one.
	for _, rate := range []float64{5, 300, 499, 750, 1000, 2500, 6000, 50000} {
		settle := func(cur time.Duration) time.Duration {
			for range 30 {
				cur = nextInterval(cur, lo, hi, int64(rate*cur.Seconds()), fast)
			}
			return cur
		}
		fromLo, fromHi := settle(lo), settle(hi)
		if d := fromLo - fromHi; d > time.Millisecond || d < -time.Millisecond {
			t.Errorf("at %.0f tweets/s the tick settles at %s from %s, at %s from %s", rate, fromLo, lo, fromHi, hi)
		}
		if rate >= 1000 && fromHi != lo {
			t.Errorf("at %.0f tweets/s the tick settles at %s, want %s", rate, fromHi, lo)
		}
	}
	// A fixed tick (lo == hi) stays fixed.
	if got := nextInterval(lo, lo, lo, 40000, time.Second); got != lo {
		t.Errorf("a fixed tick moved to %s", got)
	}
}

// TestTickReadsTheFasterOfTwoTicks: records arrive in fetches, so at a steady 1,000
// tweets/s one tick may carry 300 and the next 700; the tick stays at the flush interval.
// Two slow ticks in a row are a slower stream, and lengthen it.
func TestTickReadsTheFasterOfTwoTicks(t *testing.T) {
	e, err := New(Config{Brokers: []string{"127.0.0.1:9092"}})
	if err != nil {
		t.Fatal(err)
	}
	lo := e.cfg.FlushInterval
	for i := range 20 {
		e.adaptTick([]int64{700, 300}[i%2], time.Millisecond)
		if got := e.flushTick(); got != lo {
			t.Fatalf("after tick %d of a steady stream in uneven fetches the tick is %s, want %s", i+1, got, lo)
		}
	}
	e.adaptTick(300, time.Millisecond)
	if got := e.flushTick(); got <= lo {
		t.Errorf("after two ticks of 300 records the tick is %s, want longer than %s", got, lo)
	}
}
