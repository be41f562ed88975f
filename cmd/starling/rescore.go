package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/starling-analytics/starling/etl"
	"github.com/starling-analytics/starling/etl/sentiment"
	"github.com/starling-analytics/starling/internal/cli"
	"github.com/starling-analytics/starling/internal/tweet"
)

func runRescore(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := cli.NewFlagSet("starling rescore", "Replays topic \"tweets\" from a time and writes another sentiment model's scores of the stored tweets beside the ETL's, exactly once, while the ETL runs.", stderr)
	var cfg etl.RescoreConfig
	var brokers, addrs cli.List
	var lf cli.Log
	kafkaFlags(fs, &brokers, &cfg.Kafka)
	warehouseFlags(fs, &cfg.Warehouse, &addrs)
	fs.StringVar(&cfg.Model, "model", "", "the model to score with ("+strings.Join(sentiment.Models(), ", ")+"); required")
	since := fs.String("since", "", "where to start: a time (2026-05-01T10:00:00Z, 2026-05-01) or how long ago (90m, 24h); required")
	fs.StringVar(&cfg.Topic, "topic", tweet.TopicTweets, "the tweet topic the ETL loads")
	fs.StringVar(&cfg.GroupID, "rescore-group", "", "the rescore's consumer group (default rescore-MODEL)")
	fs.IntVar(&cfg.BatchSize, "rescore-batch-size", etl.RescoreConfig{}.WithDefaults().BatchSize, "records per batch of scores")
	logger, err := lf.Parse(fs, args, stderr)
	if err != nil {
		return err
	}
	if cfg.Model == "" || *since == "" {
		return errors.New("rescore: --model and --since are required")
	}
	if cfg.Since, err = parseSince(*since, time.Now()); err != nil {
		return err
	}
	cfg.Brokers, cfg.Warehouse.Addr, cfg.Logger = brokers, addrs, logger.With("service", "rescore")
	cfg.Warehouse.Logger = cfg.Logger
	cfg.Progress = func(p etl.RescoreProgress) {
		rate := float64(p.Records) / max(p.Elapsed.Seconds(), 1e-3)
		eta := "-"
		if left := p.Total - p.Records; rate > 0 && left > 0 {
			eta = time.Duration(float64(left) / rate * float64(time.Second)).Round(time.Second).String()
		}
		fmt.Fprintf(stderr, "rescore %s: %5.1f%% (%d of %d records), %d tweets scored, %.0f records/s, eta %s\n",
			cfg.Model, p.Percent(), p.Records, p.Total, p.Scored, rate, eta)
	}
	p, err := etl.Rescore(ctx, cfg)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "rescored with %s since %s: %d records read, %d tweets scored, in %s\n",
		cfg.Model, cfg.Since.UTC().Format(time.RFC3339), p.Records, p.Scored, p.Elapsed.Round(time.Millisecond))
	return nil
}

// parseSince reads --since: an RFC 3339 time, a date (UTC), or a duration before now.
func parseSince(s string, now time.Time) (time.Time, error) {
	if d, err := time.ParseDuration(s); err == nil {
		if d < 0 {
			return time.Time{}, fmt.Errorf("rescore: --since %s: a duration ago must not be negative", s)
		}
		return now.Add(-d), nil
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02T15:04", "2006-01-02"} {
		if t, err := time.ParseInLocation(layout, s, time.UTC); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("rescore: --since %q is neither a time (2026-05-01T10:00:00Z, 2026-05-01) nor a duration ago (90m)", s)
}
