package etl

import (
	"testing"
	"time"
)

func TestNextInterval(t *testing.T) {
	const lo, hi = 500 * time.Millisecond, 2 * time.Second
	for _, tc := range []struct {
		cur     time.Duration
		records int64
		want    time.Duration
	}{
		{lo, 10, time.Second},
		{time.Second, 999, hi},
		{hi, 0, hi},
		{hi, 1000, hi}, // between the marks: as it is
		{hi, 4000, hi},
		{hi, 4001, lo},
		{time.Second, 50000, lo},
		{lo, 50000, lo},
	} {
		if got := nextInterval(tc.cur, lo, hi, tc.records); got != tc.want {
			t.Errorf("nextInterval(%s, %d records) = %s, want %s", tc.cur, tc.records, got, tc.want)
		}
	}
}
