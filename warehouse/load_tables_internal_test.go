package warehouse

import "testing"

// TestOversized: a block stays kept at a steady size and through a catch-up; one sized for
// a backlog's large INSERTs is let go once the INSERTs are a quarter of that or less.
func TestOversized(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		peak, rows int
		want       bool
	}{
		{3000, 3000, false},
		{3000, 10, false},       // small blocks are cheap to keep
		{300000, 300000, false}, // a catch-up
		{300000, 100000, false},
		{300000, 3000, true}, // a steady stream after it
		{1 << 16, 1, false},
	} {
		if got := oversized(c.peak, c.rows); got != c.want {
			t.Errorf("oversized(%d, %d) = %v, want %v", c.peak, c.rows, got, c.want)
		}
	}
}
