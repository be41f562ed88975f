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
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/starling-analytics/starling/internal/cli"
)

// benchmark is one subcommand.
type benchmark struct {
	name    string
	summary string
	run     func(ctx context.Context, args []string, stdout, stderr io.Writer) error
}

func benchmarks() []benchmark {
	return []benchmark{
		{"broker", "the built-in broker beside franz-go's in-memory kfake cluster", runBenchBroker},
		{"ingest", "replay of a generated archive beside kcat -P producing the same records", runBenchIngest},
		{"etl", "tweets/s from the broker into ClickHouse beside a raw clickhouse-client insert, and freshness at a fixed rate", runBenchETL},
		{"pipeline", "the whole pipeline as separate processes: throughput, latency, CPU and memory per service", runBenchPipeline},
		{"sentiment", "tweets/s per core of the sentiment models beside the npm port of VADER", runBenchSentiment},
		{"dashboard", "every panel's API call, the page and live updates over a warehouse of millions of tweets", runBenchDashboard},
	}
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage(stderr)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	for _, b := range benchmarks() {
		if b.name == args[0] {
			err := b.run(ctx, args[1:], stdout, stderr)
			switch {
			case err == nil, errors.Is(err, flag.ErrHelp):
				return 0
			case errors.Is(err, cli.ErrUsage):
				return 2
			default:
				fmt.Fprintf(stderr, "starling-bench %s: %v\n", b.name, err)
				return 1
			}
		}
	}
	fmt.Fprintf(stderr, "starling-bench: unknown benchmark %q\n\n", args[0])
	usage(stderr)
	return 2
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "Usage: starling-bench <benchmark> [flags]   (or: starling bench <benchmark> [flags])\n\nBenchmarks:")
	for _, b := range benchmarks() {
		fmt.Fprintf(w, "  %-10s %s\n", b.name, b.summary)
	}
	fmt.Fprintln(w, "\nRun 'starling-bench <benchmark> --help' for its flags.")
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
