package main

import (
	"testing"
	"time"
)

func TestParseSince(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	for in, want := range map[string]time.Time{
		"90m":                       now.Add(-90 * time.Minute),
		"24h":                       now.Add(-24 * time.Hour),
		"2026-04-30":                time.Date(2026, 4, 30, 0, 0, 0, 0, time.UTC),
		"2026-04-30T10:15":          time.Date(2026, 4, 30, 10, 15, 0, 0, time.UTC),
		"2026-04-30T10:15:30Z":      time.Date(2026, 4, 30, 10, 15, 30, 0, time.UTC),
		"2026-04-30T12:15:30+02:00": time.Date(2026, 4, 30, 10, 15, 30, 0, time.UTC),
	} {
		got, err := parseSince(in, now)
		if err != nil || !got.Equal(want) {
			t.Errorf("parseSince(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "yesterday", "-5m", "2026-13-01"} {
		if _, err := parseSince(bad, now); err == nil {
			t.Errorf("parseSince(%q) took it", bad)
		}
	}
}
