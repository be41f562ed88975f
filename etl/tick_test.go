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
		// A trickle slows the tick.
		{lo, 10, fast, time.Second},
		{time.Second, 999, fast, hi},
		{hi, 0, fast, hi},
		{hi, 1000, fast, hi}, // between the marks: as it is
		{hi, 4000, fast, hi},
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
		// Between the marks, in time: as it is.
		{lo, 3000, lo / 2, lo},
		{lo, 3000, 100 * time.Millisecond, lo}, // 6,000 tweets/s
		{time.Second, 3000, 100 * time.Millisecond, time.Second},
	} {
		if got := nextInterval(tc.cur, lo, hi, tc.records, tc.took); got != tc.want {
			t.Errorf("nextInterval(%s, %d records, took %s) = %s, want %s", tc.cur, tc.records, tc.took, got, tc.want)
		}
	}
	// A fixed tick (lo == hi) stays fixed.
	if got := nextInterval(lo, lo, lo, 40000, time.Second); got != lo {
		t.Errorf("a fixed tick moved to %s", got)
	}
}
