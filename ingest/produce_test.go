package ingest

import (
	"testing"
	"testing/synctest"
	"time"
)

// TestFillLingers checks how a produce call's batch is gathered: what is ready at once, then
// what arrives within the linger, no more than the batch size, and no waiting when the
// input has ended or the linger is negative.
func TestFillLingers(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		linger time.Duration
		ready  int           // records ready when fill starts
		later  int           // records arriving one every millisecond after that
		close  bool          // the input ends after them
		want   int           // the batch fill returns
		waited time.Duration // how long fill took
	}{
		{"lingers for records arriving", 4500 * time.Microsecond, 2, 3, false, 5, 4500 * time.Microsecond},
		{"stops at the batch size", 4500 * time.Microsecond, 6, 10, false, 8, 2 * time.Millisecond},
		{"a full batch does not wait", 4500 * time.Microsecond, 9, 0, false, 8, 0},
		{"the end of the input does not wait", 4500 * time.Microsecond, 2, 1, true, 3, time.Millisecond},
		{"a negative linger sends what is ready", -1, 2, 3, false, 2, 0},
		{"records after the linger wait for the next batch", 4500 * time.Microsecond, 1, 9, false, 5, 4500 * time.Microsecond},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				in := &Ingester{cfg: Config{BatchSize: 8, Linger: tc.linger}}
				records := make(chan item, 32)
				for range tc.ready {
					records <- item{}
				}
				sent := make(chan struct{})
				go func() {
					defer close(sent)
					for range tc.later {
						time.Sleep(time.Millisecond)
						records <- item{}
					}
					if tc.close {
						close(records)
					}
				}()
				start := time.Now()
				batch := in.fill(nil, records)
				if len(batch) != tc.want || time.Since(start) != tc.waited {
					t.Errorf("fill gathered %d records in %s, want %d in %s", len(batch), time.Since(start), tc.want, tc.waited)
				}
				<-sent
			})
		})
	}
}
