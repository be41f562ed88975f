// Command starling runs Starling's services: the built-in broker, the tweet ingester, the
// streaming ETL, the dashboard, warehouse migrations, or all of them at once with `up`.
//
// Every flag can also be set through the environment: --clickhouse-addr is
// STARLING_CLICKHOUSE_ADDR. Flags win over the environment.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/pprof"
	"syscall"

	"github.com/starling-analytics/starling/internal/cli"
)

func commands() []cli.Command {
	return []cli.Command{
		{Name: "up", Summary: "run the whole pipeline in one process: broker, local ClickHouse, ETL, ingest, dashboard", Run: runUp},
		{Name: "broker", Summary: "run the built-in Kafka-compatible broker", Run: runBroker},
		{Name: "ingest", Summary: "replay tweet files into the broker", Run: runIngest},
		{Name: "etl", Summary: "consume tweets, score sentiment and load them into ClickHouse", Run: runETL},
		{Name: "dashboard", Summary: "serve the web dashboard over the warehouse", Run: runDashboard},
		{Name: "rescore", Summary: "score the stored tweets again with another sentiment model, from the log, beside the ETL's scores", Run: runRescore},
		{Name: "migrate", Summary: "apply the warehouse schema migrations and exit", Run: runMigrate},
		{Name: "bench", Summary: "measure: runs starling-bench (`starling bench etl`, `bench pipeline`, …; see its help)", Run: runBench},
		{Name: "probe", Summary: "check that a service answers (for container healthchecks)", Run: runProbe},
		{Name: "score", Summary: "score the sentiment of each line of stdin: label<TAB>compound", Run: runScore},
		{Name: "eval-sentiment", Summary: "accuracy, macro-F1 and macro-recall of the sentiment models on labelled tweets, side by side", Run: runEvalSentiment},
		{Name: "train-sentiment", Summary: "train the learned sentiment model on labelled tweets and write its weights file", Run: runTrainSentiment},
	}
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	stopProfile := startCPUProfile(os.Getenv("STARLING_CPU_PROFILE"), os.Args[1:])
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stopProfile()
	os.Exit(code)
}

// startCPUProfile profiles the process when STARLING_CPU_PROFILE names a folder: the
// profile goes to FOLDER/<command>-<pid>.pprof when the command returns (a service,
// once it is stopped with SIGINT or SIGTERM), for go tool pprof. Each process of a
// pipeline (bench pipeline passes its environment on) writes its own.
func startCPUProfile(dir string, args []string) (stop func()) {
	if dir == "" || len(args) == 0 {
		return func() {}
	}
	name := filepath.Join(dir, fmt.Sprintf("%s-%d.pprof", filepath.Base(args[0]), os.Getpid()))
	f, err := os.Create(name)
	if err == nil {
		err = pprof.StartCPUProfile(f)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "STARLING_CPU_PROFILE: %v\n", err)
		return func() {}
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
	}
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	return cli.Dispatch(ctx, "starling",
		"Starling: tweets → Kafka-compatible broker → streaming ETL with sentiment → ClickHouse → dashboard.\n\nUsage: starling <command> [flags]\n\nCommands:",
		"\nRun 'starling <command> --help' for a command's flags. Every flag can also be set\nin the environment as STARLING_<FLAG>, e.g. --clickhouse-addr as STARLING_CLICKHOUSE_ADDR.",
		commands(), args, stdout, stderr)
}
