// Command starling runs Starling's services: the built-in broker, the tweet ingester, the
// streaming ETL, the dashboard, warehouse migrations, or all of them at once with `up`.
//
// Every flag can also be set through the environment: --clickhouse-addr is
// STARLING_CLICKHOUSE_ADDR. Flags win over the environment.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/starling-analytics/starling/internal/cli"
)

// command is one subcommand of the binary.
type command struct {
	name    string
	summary string
	run     func(ctx context.Context, args []string, stdout, stderr io.Writer) error
}

func commands() []command {
	return []command{
		{"up", "run the whole pipeline in one process: broker, local ClickHouse, ETL, ingest, dashboard", runUp},
		{"broker", "run the built-in Kafka-compatible broker", runBroker},
		{"ingest", "replay tweet files into the broker", runIngest},
		{"etl", "consume tweets, score sentiment and load them into ClickHouse", runETL},
		{"dashboard", "serve the web dashboard over the warehouse", runDashboard},
		{"rescore", "score the stored tweets again with another sentiment model, from the log, beside the ETL's scores", runRescore},
		{"migrate", "apply the warehouse schema migrations and exit", runMigrate},
		{"bench", "measure: runs starling-bench (`starling bench etl`, `bench pipeline`, …; see its help)", runBench},
		{"probe", "check that a service answers (for container healthchecks)", runProbe},
		{"score", "score the sentiment of each line of stdin: label<TAB>compound", runScore},
		{"eval-sentiment", "accuracy, macro-F1 and macro-recall of the sentiment models on labelled tweets, side by side", runEvalSentiment},
		{"train-sentiment", "train the learned sentiment model on labelled tweets and write its weights file", runTrainSentiment},
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
	for _, c := range commands() {
		if c.name == args[0] {
			err := c.run(ctx, args[1:], stdout, stderr)
			var status exitStatus
			switch {
			case errors.As(err, &status):
				return int(status)
			case err == nil, errors.Is(err, flag.ErrHelp):
				return 0
			case errors.Is(err, cli.ErrUsage):
				return 2
			default:
				fmt.Fprintf(stderr, "starling %s: %v\n", c.name, err)
				return 1
			}
		}
	}
	fmt.Fprintf(stderr, "starling: unknown command %q\n\n", args[0])
	usage(stderr)
	return 2
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "Starling: tweets → Kafka-compatible broker → streaming ETL with sentiment → ClickHouse → dashboard.")
	fmt.Fprintln(w, "\nUsage: starling <command> [flags]\n\nCommands:")
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-10s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w, "\nRun 'starling <command> --help' for a command's flags. Every flag can also be set")
	fmt.Fprintln(w, "in the environment as STARLING_<FLAG>, e.g. --clickhouse-addr as STARLING_CLICKHOUSE_ADDR.")
}
