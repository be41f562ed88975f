// Package retry is Starling's one back-off between attempts of something that fails for a
// while (a broker or a warehouse restarting, a network hiccup).
package retry

import (
	"context"
	"time"
)

// Backoff waits longer after each failed attempt: First, then twice as long each time, up
// to Max. The zero value waits 100 ms at first and 5 s at most.
type Backoff struct {
	First, Max time.Duration
	next       time.Duration
}

// Reset starts the sequence again, after a success.
func (b *Backoff) Reset() { b.next = 0 }

// Next is how long the next Wait sleeps.
func (b *Backoff) Next() time.Duration {
	if b.next == 0 {
		b.next = b.First
		if b.next <= 0 {
			b.next = 100 * time.Millisecond
		}
	}
	return b.next
}

// Wait sleeps for the next interval and lengthens the one after; false means ctx ended
// first.
func (b *Backoff) Wait(ctx context.Context) bool {
	t := time.NewTimer(b.Next())
	defer t.Stop()
	limit := b.Max
	if limit <= 0 {
		limit = 5 * time.Second
	}
	b.next = min(b.next*2, max(limit, b.next))
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
