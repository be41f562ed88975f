// Command starling-bench measures Starling: the broker beside franz-go's in-memory kfake
// cluster, the ingester beside kcat, the ETL beside a raw clickhouse-client insert, the
// whole pipeline as separate processes, the sentiment engine beside the npm port of VADER,
// and the dashboard over millions of tweets. It is a binary of its own so that the product,
// starling, links none of the clients and drivers only measurement needs; `starling bench
// …` runs it.
//
// The pipeline benchmark starts the starling binary named by STARLING_BIN, else the one
// beside this binary, else the one on PATH.
package main

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/starling-analytics/starling/internal/cli"
)

func benchmarks() []cli.Command {
	return []cli.Command{
		{Name: "broker", Summary: "the built-in broker beside franz-go's in-memory kfake cluster", Run: runBenchBroker},
		{Name: "ingest", Summary: "replay of a generated archive beside kcat -P producing the same records", Run: runBenchIngest},
		{Name: "etl", Summary: "tweets/s from the broker into ClickHouse beside a raw clickhouse-client insert, and freshness at a fixed rate", Run: runBenchETL},
		{Name: "pipeline", Summary: "the whole pipeline as separate processes: throughput, latency, CPU and memory per service", Run: runBenchPipeline},
		{Name: "sentiment", Summary: "tweets/s per core of the sentiment models beside the npm port of VADER", Run: runBenchSentiment},
		{Name: "dashboard", Summary: "every panel's API call, the page and live updates over a warehouse of millions of tweets", Run: runBenchDashboard},
	}
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(cli.Dispatch(ctx, "starling-bench",
		"Usage: starling-bench <benchmark> [flags]   (or: starling bench <benchmark> [flags])\n\nBenchmarks:",
		"\nRun 'starling-bench <benchmark> --help' for its flags.",
		benchmarks(), os.Args[1:], os.Stdout, os.Stderr))
}

// starlingBinary is the starling binary the pipeline benchmark runs: STARLING_BIN, else the
// one beside this binary, else the one on PATH.
func starlingBinary() (string, error) {
	if path := os.Getenv("STARLING_BIN"); path != "" {
		return path, nil
	}
	if self, err := os.Executable(); err == nil {
		path := filepath.Join(filepath.Dir(self), "starling")
		if _, err := os.Stat(path); err == nil {
			return path, nil
		}
	}
	path, err := exec.LookPath("starling")
	if err != nil {
		return "", errors.New("no starling binary: set STARLING_BIN, or build it beside this one (make build)")
	}
	return path, nil
}
