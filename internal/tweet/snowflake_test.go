package tweet

import (
	"testing"
	"time"
)

// TestSnowflake checks an id Twitter made (887453193294282752, whose payload in the
// ingester's testdata says created_at 2017-07-18T23:25:04Z, to the second) and that an id
// made from a time says that time.
func TestSnowflake(t *testing.T) {
	want := time.Date(2017, 7, 18, 23, 25, 4, 0, time.UTC)
	if got := SnowflakeTime(887453193294282752); !got.Truncate(time.Second).Equal(want) {
		t.Errorf("SnowflakeTime = %s, want %s", got.UTC(), want)
	}
	at := time.Date(2026, 12, 7, 6, 0, 0, 123e6, time.UTC)
	id := SnowflakeID(at, 5)
	if !SnowflakeTime(id).Equal(at) || id&(1<<22-1) != 5 {
		t.Errorf("SnowflakeID(%s, 5) = %d, says %s", at, id, SnowflakeTime(id))
	}
	if SnowflakeID(at, 1<<22) != SnowflakeID(at, 0) {
		t.Error("a sequence wider than 22 bits spills into the time")
	}
}
