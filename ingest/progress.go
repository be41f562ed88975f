package ingest

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// progress reports counters until ctx is done: a redrawn line on Config.Progress, or a log
// line every 5 seconds.
func (in *Ingester) progress(ctx context.Context, start time.Time) {
	every := 5 * time.Second
	if in.cfg.Progress != nil {
		every = 250 * time.Millisecond
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			if in.cfg.Progress != nil {
				fmt.Fprintf(in.cfg.Progress, "\r%s\n", in.progressLine(start))
			}
			return
		case <-t.C:
			if in.cfg.Progress != nil {
				fmt.Fprintf(in.cfg.Progress, "\r%s", in.progressLine(start))
				continue
			}
			s := in.Stats()
			in.log.Info("ingest progress", "lines", s.Lines, "valid", s.Valid, "produced", s.Produced, "rejected", s.Rejected,
				"pass", s.Passes+1, "pass_bytes_read", s.PassBytesRead, "pass_bytes", s.TotalBytes, "tweets_per_s", float64(s.Valid)/time.Since(start).Seconds(),
				"eta", in.eta(s, start).String())
		}
	}
}

// done estimates the fraction of the current pass that is sent: the tweets sent against
// the pass's tweet count, which is extrapolated from the lines and bytes read so far (the
// reader runs ahead of the broker, so bytes read alone would overstate it). -1 when
// unknown (the generator, loops past their first pass).
func (in *Ingester) done(s Stats) float64 {
	if s.TotalBytes == 0 || s.BytesRead == 0 || s.Passes > 0 || s.Lines == 0 {
		return -1
	}
	total := float64(s.Lines) * float64(s.TotalBytes) / float64(s.BytesRead)
	return min(float64(in.sent(s))/total, 1)
}

// sent is what counts as progress: tweets acknowledged, or validated in a dry run.
func (in *Ingester) sent(s Stats) uint64 {
	if in.cfg.DryRun {
		return s.Valid
	}
	return s.Produced
}

// eta estimates the time left in the current pass; 0 when unknown.
func (in *Ingester) eta(s Stats, start time.Time) time.Duration {
	frac := in.done(s)
	if frac <= 0 || frac >= 1 {
		return 0
	}
	return time.Duration(float64(time.Since(start)) * (1 - frac) / frac).Round(100 * time.Millisecond)
}

// progressLine is the one-line summary a terminal shows: a bar of the pass sent, bytes
// read, tweets, rate, rejections and ETA.
func (in *Ingester) progressLine(start time.Time) string {
	s := in.Stats()
	var rejected uint64
	for _, n := range s.Rejected {
		rejected += n
	}
	sent := in.sent(s)
	rate := float64(sent) / time.Since(start).Seconds()
	bar := ""
	if frac := in.done(s); frac >= 0 {
		const width = 24
		filled := int(frac * width)
		bar = fmt.Sprintf("[%s%s] %3.0f%%  read %s/%s  ", strings.Repeat("#", filled), strings.Repeat(".", width-filled), frac*100,
			humanBytes(s.PassBytesRead), humanBytes(s.TotalBytes))
	}
	eta := "--"
	if d := in.eta(s, start); d > 0 {
		eta = d.String()
	}
	return fmt.Sprintf("%s%d tweets  %.0f tweets/s  %d rejected  ETA %s   ", bar, sent, rate, rejected, eta)
}

func humanBytes(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}
