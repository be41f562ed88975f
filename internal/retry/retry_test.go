package retry

import (
	"context"
	"testing"
	"time"
)

func TestBackoffDoublesUpToMax(t *testing.T) {
	t.Parallel()
	b := Backoff{First: time.Millisecond, Max: 4 * time.Millisecond}
	var got []time.Duration
	for range 5 {
		got = append(got, b.Next())
		if !b.Wait(context.Background()) {
			t.Fatal("Wait ended early")
		}
	}
	want := []time.Duration{1, 2, 4, 4, 4}
	for i := range want {
		if got[i] != want[i]*time.Millisecond {
			t.Fatalf("waits %v, want %v ms", got, want)
		}
	}
	b.Reset()
	if b.Next() != time.Millisecond {
		t.Errorf("after Reset the wait is %v, want 1ms", b.Next())
	}
	var zero Backoff
	if zero.Next() != 100*time.Millisecond {
		t.Errorf("the zero Backoff waits %v first, want 100ms", zero.Next())
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	slow := Backoff{First: time.Hour}
	if slow.Wait(ctx) {
		t.Error("Wait on an ended context returned true")
	}
}
