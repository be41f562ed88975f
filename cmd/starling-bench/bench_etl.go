package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/starling-analytics/starling/etl"
	"github.com/starling-analytics/starling/etl/sentiment"
	"github.com/starling-analytics/starling/internal/cli"
	"github.com/starling-analytics/starling/internal/lab"
	"github.com/starling-analytics/starling/internal/tweet"
	"github.com/starling-analytics/starling/sample-data/generator"
	"github.com/starling-analytics/starling/warehouse"
	"github.com/starling-analytics/starling/warehouse/chlocal"
)

// etlBenchResult is one measured ETL run.
type etlBenchResult struct {
	Run           string        `json:"run"` // "throughput" or "freshness"
	BatchSize     int           `json:"batch_size"`
	Model         string        `json:"sentiment_model,omitempty"` // throughput runs
	FlushInterval time.Duration `json:"flush_interval_ns"`
	Tweets        int           `json:"tweets"`
	// Throughput runs: from the first loaded batch to the last (the consumer group's join
	// excluded), and the whole run from the ETL's start. When the first commit carries more
	// than a quarter of the tweets, both are the whole run.
	TweetsPerS      float64 `json:"tweets_per_s,omitempty"`
	Seconds         float64 `json:"seconds,omitempty"`
	StartupSeconds  float64 `json:"startup_seconds,omitempty"`
	WholeTweetsPerS float64 `json:"whole_run_tweets_per_s,omitempty"`
	// Raw runs: clickhouse-client inserting the rows an ETL run wrote (tweets, tweet_ids,
	// minute_stats, exported in ClickHouse's Native format) into a fresh database of the
	// same schema; Ratio is the ETL's rate over it in the same round.
	Round int     `json:"round,omitempty"`
	Ratio float64 `json:"etl_over_raw,omitempty"`
	// CPU time per tweet over the measured span, in microseconds: of this process (the ETL
	// and the broker it reads; throughput runs), of the ClickHouse server (when the bench
	// started it) and of clickhouse-client (raw runs). Where the machine is the limit, they
	// say which side spends it.
	BenchCPUMicros  float64 `json:"bench_cpu_us_per_tweet,omitempty"`
	ServerCPUMicros float64 `json:"clickhouse_server_cpu_us_per_tweet,omitempty"`
	ClientCPUMicros float64 `json:"clickhouse_client_cpu_us_per_tweet,omitempty"`
	// Freshness runs: produced at Rate, from the produce call to the tweet being returned
	// by a warehouse query.
	Rate        int     `json:"rate_per_s,omitempty"`
	Samples     int     `json:"samples,omitempty"`
	FreshP50Ms  float64 `json:"freshness_p50_ms,omitempty"`
	FreshP99Ms  float64 `json:"freshness_p99_ms,omitempty"`
	FreshMaxMs  float64 `json:"freshness_max_ms,omitempty"`
	PollEveryMs float64 `json:"poll_every_ms,omitempty"`
}

func runBenchETL(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := cli.NewFlagSet("starling-bench etl", "Loads generated tweets from the built-in broker (in this process) into ClickHouse with the ETL: "+
		"throughput for each batch size given, then freshness (produce → visible to a warehouse query) at a fixed rate.", stderr)
	tweets := fs.Int("tweets", 1_000_000, "tweets produced for the throughput runs")
	span := fs.Duration("span", 24*time.Hour, "time span of the generated tweets' timestamps: 24h is an archive of a day replayed "+
		"(each batch spans many minutes, so the per-minute aggregates collapse little); tweets / rate, e.g. 10s for a million, is a live stream at that rate")
	var batches cli.List = cli.List{"50000"}
	fs.Var(&batches, "batch-sizes", "comma-separated ETL batch sizes, one throughput run each")
	var models cli.List = cli.List{sentiment.Models()[0]}
	fs.Var(&models, "sentiment-models", "comma-separated sentiment models the ETL scores with ("+strings.Join(sentiment.Models(), ", ")+"), one throughput run each per batch size")
	flushEvery := fs.Duration("flush-interval", 0, "ETL flush interval (default: the ETL's)")
	rate := fs.Int("rate", 6000, "tweets/s of the freshness run (0 skips it)")
	freshFor := fs.Duration("freshness-duration", 30*time.Second, "length of the freshness run")
	var addrs cli.List
	fs.Var(&addrs, "clickhouse-addr", "ClickHouse native-protocol address (default: a local server started from the clickhouse-server binary, in a temporary folder)")
	jsonOut := fs.String("json", "", "also write the results as JSON to this file")
	cpuProfile := fs.String("cpu-profile", "", "write a CPU profile of the throughput runs to this file (go tool pprof)")
	rounds := fs.Int("rounds", 2, "rounds of throughput runs: in each, every batch size, then clickhouse-client inserting the same rows (0 skips the raw runs: one round)")
	if err := cli.Parse(fs, args); err != nil {
		return err
	}
	for _, m := range models {
		if !slices.Contains(sentiment.Models(), m) {
			return fmt.Errorf("--sentiment-models: no model %q (models: %s)", m, strings.Join(sentiment.Models(), ", "))
		}
	}
	tmp, err := os.MkdirTemp("", "starling-bench-etl-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	serverCPU := func() time.Duration { return 0 } // unknown for a server elsewhere
	if len(addrs) == 0 {
		srv, err := chlocal.Start(ctx, chlocal.Config{Dir: tmp + "/clickhouse"})
		if err != nil {
			return err
		}
		defer srv.Close()
		addrs = cli.List{srv.Addr()}
		serverCPU = func() time.Duration {
			cpu, _, _ := lab.ProcUsage(srv.PID())
			return cpu
		}
	}
	brokerAddr, stop, err := startBenchBroker(ctx, tmp+"/broker")
	if err != nil {
		return err
	}
	defer stop()
	fmt.Fprintf(stderr, "producing %d generated tweets over %s\n", *tweets, *span)
	if err := produceFeed(ctx, brokerAddr, generator.Config{Seed: 42, Count: *tweets, Span: *span}); err != nil {
		return err
	}

	var results []etlBenchResult
	stopProfile, err := startCPUProfile(*cpuProfile)
	if err != nil {
		return err
	}
	defer stopProfile()
	raw := *rounds > 0
	client, clientArgs := clickhouseClient(addrs[0])
	if raw && client == "" {
		return errors.New("the raw runs need clickhouse-client (apt-get install clickhouse-client), or --rounds 0")
	}
	exported := ""
	for round := 1; round <= max(*rounds, 1); round++ {
		var etlRate float64
		for i, b := range batches {
			size, err := strconv.Atoi(b)
			if err != nil || size < 1 {
				return fmt.Errorf("--batch-sizes: %q is not a positive size", b)
			}
			for j, model := range models {
				whCfg := warehouse.Config{Addr: addrs, Database: fmt.Sprintf("bench_etl_%d_%d_%d_%d", os.Getpid(), round, i, j)}
				var export func(db *warehouse.DB) error
				if raw && exported == "" {
					exported = tmp + "/rows"
					export = func(db *warehouse.DB) error { return exportRows(ctx, client, clientArgs, db.Database(), exported) }
				}
				r, err := benchETLThroughput(ctx, brokerAddr, whCfg, size, model, *flushEvery, *tweets, serverCPU, export)
				if err != nil {
					return fmt.Errorf("batch size %d, model %s: %w", size, model, err)
				}
				r.Round = round
				results = append(results, r)
				etlRate = max(etlRate, r.TweetsPerS)
				fmt.Fprintf(stderr, "done: round %d, batch size %d, model %s: %.0f tweets/s (load average %s)\n", round, size, model, r.TweetsPerS, loadAverage())
			}
		}
		if raw {
			r, err := benchRawInsert(ctx, addrs, client, clientArgs, exported, fmt.Sprintf("bench_raw_%d_%d", os.Getpid(), round), *tweets, serverCPU)
			if err != nil {
				return fmt.Errorf("raw insert: %w", err)
			}
			r.Round, r.Ratio = round, etlRate/r.TweetsPerS
			results = append(results, r)
			fmt.Fprintf(stderr, "done: round %d, clickhouse-client: %.0f tweets/s (load average %s); the ETL's best: %.2f of it\n", round, r.TweetsPerS, loadAverage(), r.Ratio)
		}
	}
	stopProfile()
	if *rate > 0 {
		size, _ := strconv.Atoi(batches[0])
		whCfg := warehouse.Config{Addr: addrs, Database: fmt.Sprintf("bench_etl_%d_fresh", os.Getpid())}
		r, err := benchETLFreshness(ctx, brokerAddr, whCfg, size, *flushEvery, *rate, *freshFor)
		if err != nil {
			return fmt.Errorf("freshness: %w", err)
		}
		results = append(results, r)
	}

	fmt.Fprintf(stdout, "%-11s %5s %6s %-9s %9s %10s %12s %10s %-22s  %s\n", "run", "round", "batch", "model", "flush", "tweets", "tweets/s", "startup s",
		"cpu us/tweet: s+srv+cli", "freshness p50 / p99 / max ms, or the ETL over clickhouse-client")
	for _, r := range results {
		switch r.Run {
		case "throughput":
			fmt.Fprintf(stdout, "%-11s %5d %6d %-9s %9s %10d %12.0f %10.2f %-22s  -\n", r.Run, r.Round, r.BatchSize, r.Model, r.FlushInterval, r.Tweets, r.TweetsPerS,
				r.StartupSeconds, cpuColumn(r))
		case "raw":
			fmt.Fprintf(stdout, "%-11s %5d %6s %-9s %9s %10d %12.0f %10s %-22s  ETL %.2fx\n", "clickhouse", r.Round, "-", "-", "-", r.Tweets, r.TweetsPerS, "-",
				cpuColumn(r), r.Ratio)
		default:
			fmt.Fprintf(stdout, "%-11s %5s %6d %-9s %9s %10d %12s %10s %-22s  %.0f / %.0f / %.0f at %d/s (%d samples, polled every %.0f ms)\n", r.Run, "-", r.BatchSize, "-",
				r.FlushInterval, r.Tweets, "-", "-", "-", r.FreshP50Ms, r.FreshP99Ms, r.FreshMaxMs, r.Rate, r.Samples, r.PollEveryMs)
		}
	}
	fmt.Fprintln(stdout, "cpu us/tweet: CPU time per tweet loaded, of this process (the ETL and the broker it reads), the ClickHouse server "+
		"(when the bench started it) and clickhouse-client; their sum over the rate's inverse is how many cores the run kept busy.")
	if *jsonOut != "" {
		data, _ := json.MarshalIndent(results, "", "  ")
		return os.WriteFile(*jsonOut, data, 0o644)
	}
	return nil
}

// startBenchETL migrates a fresh database and runs an ETL on it until the returned stop.
func startBenchETL(ctx context.Context, brokerAddr string, whCfg warehouse.Config, group string, size int, model string, flush time.Duration) (*warehouse.DB, *etl.ETL, func(), error) {
	db, err := warehouse.Open(ctx, whCfg)
	if err != nil {
		return nil, nil, nil, err
	}
	if err := db.Migrate(ctx); err != nil {
		db.Close()
		return nil, nil, nil, err
	}
	e, err := etl.New(etl.Config{Brokers: []string{brokerAddr}, Warehouse: whCfg, GroupID: group, BatchSize: size, SentimentModel: model, FlushInterval: flush,
		Logger: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))})
	if err != nil {
		db.Close()
		return nil, nil, nil, err
	}
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- e.Run(runCtx) }()
	return db, e, func() {
		cancel()
		<-done
		db.DropDatabase(context.Background())
		db.Close()
	}, nil
}

// loadedCount is how many records of the topic the warehouse has loaded (offsets are
// dense here: every record is a tweet).
func loadedCount(ctx context.Context, db *warehouse.DB) (int64, error) {
	loaded, err := db.LoadedOffsets(ctx, tweet.TopicTweets)
	var n int64
	for _, o := range loaded {
		n += o + 1
	}
	return n, err
}

// benchETLThroughput loads the topic with a new ETL into a new database and measures the
// rate; export, when given, is called with the loaded database before it is dropped.
func benchETLThroughput(ctx context.Context, brokerAddr string, whCfg warehouse.Config, size int, model string, flush time.Duration, n int,
	serverCPU func() time.Duration, export func(*warehouse.DB) error) (etlBenchResult, error) {
	r := etlBenchResult{Run: "throughput", BatchSize: size, Model: model, FlushInterval: flush, Tweets: n}
	start := time.Now()
	db, e, stop, err := startBenchETL(ctx, brokerAddr, whCfg, "bench-"+whCfg.Database, size, model, flush)
	if err != nil {
		return r, err
	}
	defer stop()
	// The ETL runs in this process: its own count of the tweets it has loaded (committed
	// with their batch marks) is watched, every millisecond, at no cost to ClickHouse. A
	// query every few milliseconds would cost ClickHouse a third more CPU per tweet than
	// the load itself, and the ETL the client side of it.
	var first time.Time
	var firstN int64
	var selfAt, serverAt time.Duration // CPU used by then
	selfStart, serverStart := selfCPU(), serverCPU()
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return r, ctx.Err()
		case <-tick.C:
		}
		got := int64(e.Stats().Loaded)
		if got > 0 && first.IsZero() {
			first, firstN = time.Now(), got
			selfAt, serverAt = selfCPU(), serverCPU()
		}
		if got >= int64(n) {
			end := time.Now()
			r.BenchCPUMicros = perTweet(selfCPU()-selfAt, int64(n)-firstN)
			r.ServerCPUMicros = perTweet(serverCPU()-serverAt, int64(n)-firstN)
			r.StartupSeconds = first.Sub(start).Seconds()
			r.Seconds = end.Sub(first).Seconds()
			r.TweetsPerS = float64(int64(n)-firstN) / r.Seconds
			r.WholeTweetsPerS = float64(n) / end.Sub(start).Seconds()
			if firstN*4 > int64(n) {
				// The first commit carried more than a quarter of the tweets (a feed of a
				// batch or two): what came after it is too little to time, so the figures
				// are the whole run's, the group's join included.
				r.Seconds = end.Sub(start).Seconds()
				r.TweetsPerS = r.WholeTweetsPerS
				r.BenchCPUMicros = perTweet(selfCPU()-selfStart, int64(n))
				r.ServerCPUMicros = perTweet(serverCPU()-serverStart, int64(n))
			}
			// What the ETL counted, the warehouse must hold: its batch marks cover the topic.
			if stored, err := loadedCount(ctx, db); err != nil {
				return r, err
			} else if stored != int64(n) {
				return r, fmt.Errorf("the ETL counts %d tweets loaded, the warehouse's marks cover %d of %d records", got, stored, n)
			}
			if export != nil {
				return r, export(db)
			}
			return r, nil
		}
		if time.Since(start) > 30*time.Minute {
			return r, fmt.Errorf("loaded %d of %d tweets in 30 minutes", got, n)
		}
	}
}

// benchETLFreshness produces live tweets at rate for d and measures, for a sample of them,
// the time from the produce call to the first warehouse query that returns them.
func benchETLFreshness(ctx context.Context, brokerAddr string, whCfg warehouse.Config, size int, flush time.Duration, rate int, d time.Duration) (etlBenchResult, error) {
	const pollEvery = 10 * time.Millisecond
	r := etlBenchResult{Run: "freshness", BatchSize: size, FlushInterval: flush, Rate: rate, PollEveryMs: float64(pollEvery) / 1e6}
	// The throughput runs' records are in the topic already: this ETL's group starts at the
	// end of it, after loading nothing of it (a new database and group would load it all).
	group := "bench-fresh-" + whCfg.Database
	if err := commitEnds(ctx, brokerAddr, group); err != nil {
		return r, err
	}
	db, _, stop, err := startBenchETL(ctx, brokerAddr, whCfg, group, size, "", flush)
	if err != nil {
		return r, err
	}
	defer stop()
	w := &kafka.Writer{Addr: kafka.TCP(brokerAddr), Topic: tweet.TopicTweets, Balancer: &kafka.Hash{}, RequiredAcks: kafka.RequireAll,
		BatchTimeout: time.Millisecond, Compression: kafka.Lz4}
	defer w.Close()

	var mu sync.Mutex
	sent := map[uint64]time.Time{} // sampled ids not seen yet → when produced
	var lat []time.Duration
	nextID := tweet.SnowflakeID(time.Now(), 0)
	mk := func(at time.Time) (kafka.Message, uint64) {
		nextID++
		rec := tweet.Record{ID: strconv.FormatUint(nextID, 10), CreatedAt: at, Text: "freshness probe: loving this #benchmark", Lang: "en",
			User: tweet.User{ID: "1", ScreenName: "bench"}, Hashtags: []string{"benchmark"}, SourceFormat: tweet.FormatGenerator}
		v, _ := tweet.Encode(rec)
		return kafka.Message{Key: []byte(rec.ID), Value: v}, nextID
	}
	// Warm up: wait until the group has its partitions and a first tweet is through.
	m, id := mk(time.Now())
	if err := w.WriteMessages(ctx, m); err != nil {
		return r, err
	}
	deadline := time.Now().Add(time.Minute)
	for {
		if got, err := db.LoadedTweets(ctx, []uint64{id}); err == nil && len(got) > 0 {
			break
		}
		if time.Now().After(deadline) {
			return r, errors.New("the ETL did not load a first tweet within a minute")
		}
		time.Sleep(50 * time.Millisecond)
	}

	pollCtx, stopPoll := context.WithCancel(ctx)
	pollDone := make(chan error, 1)
	go func() {
		t := time.NewTicker(pollEvery)
		defer t.Stop()
		for {
			select {
			case <-pollCtx.Done():
				pollDone <- nil
				return
			case <-t.C:
			}
			mu.Lock()
			ids := slices.Collect(maps.Keys(sent))
			mu.Unlock()
			if len(ids) == 0 {
				continue
			}
			loaded, err := db.LoadedTweets(pollCtx, ids)
			if err != nil {
				if pollCtx.Err() != nil {
					pollDone <- nil
				} else {
					pollDone <- err
				}
				return
			}
			now := time.Now()
			mu.Lock()
			for _, row := range loaded {
				if at, ok := sent[row.ID]; ok {
					lat = append(lat, now.Sub(at))
					delete(sent, row.ID)
				}
			}
			mu.Unlock()
		}
	}()

	// Produce: every 10 ms the tweets due by then, one call; every 20th tweet is sampled.
	start := time.Now()
	var produced int
	tick := time.NewTicker(10 * time.Millisecond)
	for time.Since(start) < d {
		<-tick.C
		due := int(time.Since(start).Seconds()*float64(rate)) - produced
		if due <= 0 {
			continue
		}
		now := time.Now()
		msgs := make([]kafka.Message, 0, due)
		var sample []uint64
		for range due {
			m, id := mk(now)
			msgs = append(msgs, m)
			if produced%20 == 0 {
				sample = append(sample, id)
			}
			produced++
		}
		mu.Lock()
		for _, id := range sample {
			sent[id] = now
		}
		mu.Unlock()
		if err := w.WriteMessages(ctx, msgs...); err != nil {
			tick.Stop()
			stopPoll()
			return r, err
		}
	}
	tick.Stop()
	// Let the last samples arrive.
	for wait := time.Now().Add(30 * time.Second); time.Now().Before(wait); time.Sleep(50 * time.Millisecond) {
		mu.Lock()
		left := len(sent)
		mu.Unlock()
		if left == 0 {
			break
		}
	}
	stopPoll()
	if err := <-pollDone; err != nil {
		return r, err
	}
	mu.Lock()
	defer mu.Unlock()
	if len(sent) > 0 {
		return r, fmt.Errorf("%d sampled tweets never became visible", len(sent))
	}
	slices.Sort(lat)
	pct := func(p float64) float64 { return float64(lat[int(p*float64(len(lat)-1))]) / 1e6 }
	r.Tweets, r.Samples = produced, len(lat)
	r.FreshP50Ms, r.FreshP99Ms, r.FreshMaxMs = pct(0.50), pct(0.99), pct(1)
	return r, nil
}

// commitEnds commits, for a new group, the current end of every partition of the tweet
// topic, so that the group starts there.
func commitEnds(ctx context.Context, addr, group string) error {
	c := &kafka.Client{Addr: kafka.TCP(addr)}
	meta, err := c.Metadata(ctx, &kafka.MetadataRequest{Topics: []string{tweet.TopicTweets}})
	if err != nil || len(meta.Topics) != 1 {
		return fmt.Errorf("metadata: %v", err)
	}
	req := &kafka.ListOffsetsRequest{Topics: map[string][]kafka.OffsetRequest{}}
	for _, p := range meta.Topics[0].Partitions {
		req.Topics[tweet.TopicTweets] = append(req.Topics[tweet.TopicTweets], kafka.LastOffsetOf(p.ID))
	}
	offs, err := c.ListOffsets(ctx, req)
	if err != nil {
		return err
	}
	commit := &kafka.OffsetCommitRequest{GroupID: group, GenerationID: -1, Topics: map[string][]kafka.OffsetCommit{}}
	for _, p := range offs.Topics[tweet.TopicTweets] {
		commit.Topics[tweet.TopicTweets] = append(commit.Topics[tweet.TopicTweets], kafka.OffsetCommit{Partition: p.Partition, Offset: p.LastOffset})
	}
	_, err = c.OffsetCommit(ctx, commit)
	return err
}

// rawTables are the tables the ETL writes, in the order the raw runs insert them: the rows
// first (at once), then the aggregates, as the ETL does.
var rawTables = []string{"tweets", "tweet_ids", "minute_stats"}

// clickhouseClient finds the clickhouse-client command and its arguments for addr.
func clickhouseClient(addr string) (string, []string) {
	host, port, _ := net.SplitHostPort(addr)
	args := []string{"--host", host, "--port", port}
	if p, err := exec.LookPath("clickhouse-client"); err == nil {
		return p, args
	}
	if p, err := exec.LookPath("clickhouse"); err == nil {
		return p, append([]string{"client"}, args...)
	}
	return "", nil
}

// exportRows writes the rows of the ETL's tables in database to dir, one Native file each.
func exportRows(ctx context.Context, client string, args []string, database, dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for _, t := range rawTables {
		f, err := os.Create(filepath.Join(dir, t+".native"))
		if err != nil {
			return err
		}
		q := fmt.Sprintf("SELECT %s FROM %s.%s FORMAT Native", strings.Join(warehouse.WrittenColumns(t), ", "), database, t)
		cmd := exec.CommandContext(ctx, client, append(slices.Clone(args), "--query", q)...)
		cmd.Stdout = f
		var errb strings.Builder
		cmd.Stderr = &errb
		err = cmd.Run()
		f.Close()
		if err != nil {
			return fmt.Errorf("export %s: %v: %s", t, err, errb.String())
		}
	}
	return nil
}

// benchRawInsert inserts the exported rows with clickhouse-client into a fresh database of
// the same schema and measures the rate, in tweets: tweets and tweet_ids at once, then
// minute_stats.
func benchRawInsert(ctx context.Context, addrs []string, client string, args []string, dir, database string, tweets int, serverCPU func() time.Duration) (etlBenchResult, error) {
	r := etlBenchResult{Run: "raw", Tweets: tweets}
	whCfg := warehouse.Config{Addr: addrs, Database: database}
	db, err := warehouse.Open(ctx, whCfg)
	if err != nil {
		return r, err
	}
	defer func() {
		db.DropDatabase(context.Background())
		db.Close()
	}()
	if err := db.Migrate(ctx); err != nil {
		return r, err
	}
	var clientMu sync.Mutex
	var clientCPU time.Duration
	insert := func(t string) error {
		f, err := os.Open(filepath.Join(dir, t+".native"))
		if err != nil {
			return err
		}
		defer f.Close()
		q := fmt.Sprintf("INSERT INTO %s.%s (%s) FORMAT Native", database, t, strings.Join(warehouse.WrittenColumns(t), ", "))
		cmd := exec.CommandContext(ctx, client, append(slices.Clone(args), "--query", q)...)
		cmd.Stdin = f
		var errb strings.Builder
		cmd.Stderr = &errb
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("insert %s: %v: %s", t, err, errb.String())
		}
		clientMu.Lock()
		clientCPU += cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
		clientMu.Unlock()
		return nil
	}
	serverAt := serverCPU()
	start := time.Now()
	errs := make(chan error, 2)
	for _, t := range rawTables[:2] {
		go func() { errs <- insert(t) }()
	}
	for range 2 {
		if err := <-errs; err != nil {
			return r, err
		}
	}
	if err := insert(rawTables[2]); err != nil {
		return r, err
	}
	r.Seconds = time.Since(start).Seconds()
	r.TweetsPerS = float64(tweets) / r.Seconds
	r.ServerCPUMicros = perTweet(serverCPU()-serverAt, int64(tweets))
	r.ClientCPUMicros = perTweet(clientCPU, int64(tweets))
	return r, nil
}

// cpuColumn is a result's CPU per tweet, "-" where not measured.
func cpuColumn(r etlBenchResult) string {
	f := func(us float64) string {
		if us == 0 {
			return "-"
		}
		return strconv.FormatFloat(us, 'f', 1, 64)
	}
	return f(r.BenchCPUMicros) + " + " + f(r.ServerCPUMicros) + " + " + f(r.ClientCPUMicros)
}

// selfCPU is the CPU time this process has used.
func selfCPU() time.Duration {
	cpu, _, _ := lab.ProcUsage(os.Getpid())
	return cpu
}

// perTweet is cpu per tweet in microseconds.
func perTweet(cpu time.Duration, tweets int64) float64 {
	if tweets <= 0 {
		return 0
	}
	return float64(cpu.Microseconds()) / float64(tweets)
}

// loadAverage is the machine's one-minute load average, as /proc/loadavg has it.
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	return strings.Fields(string(b))[0]
}
