package main

import (
	"flag"
	"testing"

	"github.com/starling-analytics/starling/ingest"
	"github.com/starling-analytics/starling/internal/cli"
)

// TestRateReplacesSpeed checks that --rate alone turns the default pacing by timestamps
// off, and that --speed given with it stays (a conflict Validate reports).
func TestRateReplacesSpeed(t *testing.T) {
	for _, tt := range []struct {
		args  []string
		speed float64
	}{
		{[]string{"--rate", "3000"}, 0},
		{[]string{"--rate", "3000", "--speed", "2"}, 2},
		{[]string{"--speed", "5"}, 5},
		{nil, 1},
	} {
		fs := flag.NewFlagSet("t", flag.ContinueOnError)
		var c ingest.Config
		var inputs cli.List
		ingestFlags(fs, &c, &inputs)
		if err := fs.Parse(tt.args); err != nil {
			t.Fatal(err)
		}
		rateReplacesSpeed(fs, &c)
		if c.Speed != tt.speed {
			t.Errorf("%v: speed %g, want %g", tt.args, c.Speed, tt.speed)
		}
	}
}
