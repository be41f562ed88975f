package warehouse

import (
	"testing"
	"time"
)

// TestBlockClock feeds a blockClock a table's highest block second by second: it answers
// only once it has watched for longer than the span, with the block of the newest moment at
// least a span ago, keeps what longer spans need, and forgets a table made again.
func TestBlockClock(t *testing.T) {
	t.Parallel()
	var c blockClock
	t0 := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	at := func(s int) time.Time { return t0.Add(time.Duration(s) * time.Second) }
	const span = 10 * time.Second
	for s := range 10 {
		if b, ok := c.note(at(s), int64(100+s), span); ok {
			t.Fatalf("second %d: block %d, before watching for a span", s, b)
		}
	}
	for s := 10; s < 100; s++ {
		b, ok := c.note(at(s), int64(100+s), span)
		if !ok || b != int64(100+s-10) {
			t.Fatalf("second %d: %d, %v; want %d", s, b, ok, 100+s-10)
		}
	}
	if len(c.samples) > 4*10+2 {
		t.Errorf("%d samples kept for a span of 10 s", len(c.samples))
	}
	// A longer span finds its moment among the samples kept.
	if b, ok := c.note(at(100), 200, 3*span); !ok || b != 170 {
		t.Errorf("30 s span: %d, %v; want 170", b, ok)
	}
	// The same second again is not a new sample; a gap finds the last one before it.
	c.note(at(100), 200, span)
	if b, ok := c.note(at(130), 230, span); !ok || b != 200 {
		t.Errorf("after a gap: %d, %v; want 200", b, ok)
	}
	// The table made again: its blocks start over, and so does the clock.
	if _, ok := c.note(at(140), 3, span); ok {
		t.Error("answered for a table made again")
	}
	if b, ok := c.note(at(150), 9, span); !ok || b != 3 {
		t.Errorf("the new table: %d, %v; want 3", b, ok)
	}
}
