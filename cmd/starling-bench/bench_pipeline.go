package main

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"io"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/starling-analytics/starling/internal/cli"
	"github.com/starling-analytics/starling/internal/lab"
	"github.com/starling-analytics/starling/internal/tweet"
	"github.com/starling-analytics/starling/warehouse"
)

// pipelineSample is one second of a pipeline run.
type pipelineSample struct {
	T          float64            `json:"t_s"`
	Produced   float64            `json:"produced_per_s"`
	Loaded     float64            `json:"loaded_per_s"`
	Lag        int64              `json:"lag"` // produced but not yet loaded
	LatencyP50 millis             `json:"latency_p50_ms"`
	LatencyP99 millis             `json:"latency_p99_ms"`
	CPU        map[string]float64 `json:"cpu_cores"` // per service
	RSS        map[string]float64 `json:"rss_mib"`
}

// millis is a latency in milliseconds; NaN, a second or a run without samples, is null
// in JSON (which has no NaN).
type millis float64

func (m millis) MarshalJSON() ([]byte, error) {
	if math.IsNaN(float64(m)) {
		return []byte("null"), nil
	}
	return json.Marshal(float64(m))
}

// pipelineResult is a whole pipeline run.
type pipelineResult struct {
	Rate          int                `json:"target_rate_per_s"` // 0: flat out
	Feed          string             `json:"feed"`              // how the replayed feed was stored
	Seconds       float64            `json:"seconds"`
	Produced      int64              `json:"produced"`
	Loaded        int64              `json:"loaded"`
	ProducedPerS  float64            `json:"produced_per_s"`
	SustainedPerS float64            `json:"sustained_loaded_per_s"`
	LatencyP50    millis             `json:"latency_p50_ms"`
	LatencyP99    millis             `json:"latency_p99_ms"`
	LatencyMax    millis             `json:"latency_max_ms"`
	Samples       int                `json:"latency_samples"`
	PollEveryMs   float64            `json:"latency_poll_every_ms"`
	CPU           map[string]float64 `json:"cpu_cores_mean"`
	RSS           map[string]float64 `json:"rss_mib_max"`
	Bottleneck    string             `json:"bottleneck"`
	// ClickHouse's folder at the end of the run, the bytes of its tables' active parts
	// (what the data needs; the rest is replaced parts not yet deleted, logs and
	// metadata), and the most active parts one table has.
	ClickHouseDirMiB  float64          `json:"clickhouse_dir_mib"`
	ActivePartsMiB    float64          `json:"clickhouse_active_parts_mib"`
	MostPartsOneTable uint64           `json:"clickhouse_most_active_parts_in_a_table"`
	Series            []pipelineSample `json:"series"`
}

func runBenchPipeline(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := cli.NewFlagSet("starling-bench pipeline", "Runs the whole pipeline as separate processes on this machine (a local ClickHouse server, the built-in broker, "+
		"the ETL and the ingester with the tweet generator), at a fixed rate or flat out, and reports sustained tweets/s, produce-to-queryable "+
		"latency, CPU and memory per service and the bottleneck, as text, JSON and an HTML chart.", stderr)
	rate := fs.Int("rate", 6000, "tweets/s to produce (0: as fast as the ingester can)")
	duration := fs.Duration("duration", time.Minute, "how long to produce")
	var replicaCounts cli.List = []string{"1"}
	fs.Var(&replicaCounts, "etl-replicas", "ETL processes in the group; a list (1,2,4) runs the pipeline once for each, and prints a table of them at the end")
	partitions := fs.Int("partitions", 3, "partitions of the tweet topic")
	pollEvery := fs.Duration("poll-every", 50*time.Millisecond, "how often the latency probe asks ClickHouse for new tweets: its queries are part of ClickHouse's CPU figure, and a latency is known to within this")
	jsonOut := fs.String("json", "", "write the results, with the per-second series, as JSON to this file")
	chartOut := fs.String("chart", "", "write an HTML chart of the run to this file")
	feed := fs.String("feed", "gzip", "how the generated feed the ingester replays is stored: "+strings.Join(feedCompressions, ", ")+
		" (the ingester decompresses it as it reads; gzip costs it about 2 µs of CPU a tweet, zstd a fraction of that)")
	keep := fs.String("dir", "", "keep the run's data and logs in this folder (default: a temporary one, removed)")
	var warehouses cli.List = []string{"one"}
	fs.Var(&warehouses, "clickhouse-cluster", "run the warehouse on a local ClickHouse cluster of SHARDSxREPLICAS servers (e.g. 2x2) with ZooKeeper, instead of one server (\"one\"); a list (one,2x2) runs each in turn, for every --etl-replicas")
	if err := cli.Parse(fs, args); err != nil {
		return err
	}
	runs, err := pipelineRuns(replicaCounts, warehouses)
	if err != nil {
		return err
	}
	if len(runs) > 1 && (*jsonOut != "" || *chartOut != "") {
		return errors.New("bench pipeline: --json and --chart take one run, not a list of --etl-replicas or --clickhouse-cluster")
	}
	if !slices.Contains(feedCompressions, *feed) {
		return fmt.Errorf("bench pipeline: --feed %q: one of %s", *feed, strings.Join(feedCompressions, ", "))
	}
	if *pollEvery < time.Millisecond {
		return fmt.Errorf("bench pipeline: --poll-every %s is shorter than a millisecond", *pollEvery)
	}
	exe, err := starlingBinary()
	if err != nil {
		return err
	}
	var summary strings.Builder
	var res *pipelineResult
	for i, run := range runs {
		run.rate, run.duration, run.partitions, run.pollEvery, run.feed = *rate, *duration, *partitions, *pollEvery, *feed
		dir := *keep
		if dir == "" {
			if dir, err = os.MkdirTemp("", "starling-bench-pipeline-"); err != nil {
				return err
			}
		} else if len(runs) > 1 {
			dir = filepath.Join(dir, fmt.Sprintf("run-%d", i+1))
		}
		load := loadAverage()
		res, err = benchPipeline(ctx, exe, nil, dir, run, stderr)
		if *keep == "" {
			os.RemoveAll(dir)
		}
		if err != nil {
			return err
		}
		printPipeline(stdout, res)
		fmt.Fprintf(&summary, "%-13d %-10s %14.0f %16.0f   %s\n", run.etlReplicas, run.warehouse(), res.SustainedPerS, res.ProducedPerS, load)
	}
	if len(runs) > 1 {
		fmt.Fprintf(stdout, "\n%-13s %-10s %14s %16s   %s\n%s", "etl replicas", "warehouse", "loaded/s", "produced/s", "load average (1 min) at the start", summary.String())
	}
	if *jsonOut != "" {
		data, err := json.MarshalIndent(res, "", "  ")
		if err != nil {
			return fmt.Errorf("--json: %w", err)
		}
		if err := os.WriteFile(*jsonOut, data, 0o644); err != nil {
			return err
		}
	}
	if *chartOut != "" {
		if err := os.WriteFile(*chartOut, []byte(pipelineChart(res)), 0o644); err != nil {
			return err
		}
	}
	return nil
}

// pipelineRuns are the runs of every ETL replica count with every warehouse ("one" or
// SHARDSxREPLICAS), the warehouses alternating within each count.
func pipelineRuns(replicaCounts, warehouses []string) ([]pipelineOptions, error) {
	var runs []pipelineOptions
	for _, rc := range replicaCounts {
		n, err := strconv.Atoi(rc)
		if err != nil || n < 1 {
			return nil, fmt.Errorf("bench pipeline: --etl-replicas %q is not a count of processes", rc)
		}
		for _, w := range warehouses {
			run := pipelineOptions{etlReplicas: n}
			if w != "one" {
				a, b, ok := strings.Cut(w, "x")
				var err1, err2 error
				run.shards, err1 = strconv.Atoi(a)
				run.replicas, err2 = strconv.Atoi(b)
				if !ok || err1 != nil || err2 != nil || run.shards < 1 || run.replicas < 1 {
					return nil, fmt.Errorf("bench pipeline: --clickhouse-cluster %q is not SHARDSxREPLICAS (e.g. 2x2) or one", w)
				}
			}
			runs = append(runs, run)
		}
	}
	return runs, nil
}

// warehouse names the run's warehouse: "one" server, or SHARDSxREPLICAS.
func (o pipelineOptions) warehouse() string {
	if o.shards == 0 {
		return "one"
	}
	return fmt.Sprintf("%dx%d", o.shards, o.replicas)
}

// pipelineOptions say what bench pipeline runs.
type pipelineOptions struct {
	rate        int // tweets/s; 0: flat out
	duration    time.Duration
	etlReplicas int
	partitions  int
	pollEvery   time.Duration
	feed        string // how the replayed feed is stored (generateFeed); "" is gzip
	// shards × replicas ClickHouse servers; 0: one server.
	shards, replicas int
}

// benchPipeline runs the stack and measures it.
func benchPipeline(ctx context.Context, exe string, env []string, dir string, o pipelineOptions, progress io.Writer) (*pipelineResult, error) {
	rate, duration, replicas, partitions, pollEvery := o.rate, o.duration, o.etlReplicas, o.partitions, o.pollEvery
	s, err := lab.NewStack(dir, exe, env)
	if err != nil {
		return nil, err
	}
	defer s.Close()
	if o.shards > 0 {
		err = s.StartClickHouseCluster(ctx, o.shards, o.replicas)
	} else {
		err = s.StartClickHouse(ctx)
	}
	if err != nil {
		return nil, err
	}
	if _, err := s.StartBroker("--broker-partitions", strconv.Itoa(partitions)); err != nil {
		return nil, err
	}
	db, err := openWarehouseMigrated(ctx, s.Warehouse)
	if err != nil {
		return nil, err
	}
	defer db.Close()
	// The latency probe and the disk figures read each server's own tables: the one
	// server, or every server of the cluster (the probe one replica of each shard).
	servers, probes, err := pipelineServers(ctx, s, db, o)
	if err != nil {
		return nil, err
	}
	services := map[string]*lab.Proc{"broker": s.Broker()}
	for i := range replicas {
		name := "etl"
		if replicas > 1 {
			name = fmt.Sprintf("etl-%d", i)
		}
		p, err := s.StartETL(name, "--entities=false")
		if err != nil {
			return nil, err
		}
		services[name] = p
	}
	if err := waitGroupStable(ctx, s.BrokerAddr, "etl", replicas); err != nil {
		return nil, err
	}
	// The generator itself is slower than the ingester's replay of files: replay a
	// generated archive, again and again, each tweet stamped with its send time.
	feed := cmp.Or(o.feed, "gzip")
	archive := filepath.Join(dir, "archive.jsonl"+map[string]string{"gzip": ".gz", "zstd": ".zst"}[feed])
	if err := generateFeed(archive, 1_000_000, feed); err != nil {
		return nil, err
	}
	ingestArgs := []string{"--input", archive, "--loop", "--stamp", "--speed", "0"}
	if rate > 0 {
		ingestArgs = append(ingestArgs, "--rate", strconv.Itoa(rate))
	}
	fmt.Fprintf(progress, "producing for %s at %s\n", duration, map[bool]string{true: strconv.Itoa(rate) + " tweets/s", false: "full speed"}[rate > 0])
	in, err := s.StartIngest("ingest", ingestArgs...)
	if err != nil {
		return nil, err
	}
	services["ingest"] = in

	lat := &latencies{}
	pollCtx, stopPoll := context.WithCancel(ctx)
	pollDone := make(chan error, 1)
	go func() { pollDone <- pollLatency(pollCtx, probes, lat, pollEvery) }()

	res := &pipelineResult{Rate: rate, Feed: feed, CPU: map[string]float64{}, RSS: map[string]float64{}}
	start := time.Now()
	lastCPU := map[string]time.Duration{}
	cpuTotal := map[string]time.Duration{}
	var lastProduced, lastLoaded int64
	pids := func() map[string][]int {
		out := s.ClickHousePIDs()
		for name, p := range services {
			out[name] = []int{p.PID()}
		}
		return out
	}
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	stopped := false
	var drainedAt time.Time
	for {
		select {
		case <-ctx.Done():
			stopPoll()
			return nil, ctx.Err()
		case <-tick.C:
		}
		now := time.Since(start)
		if !stopped && now >= duration {
			in.Stop(10 * time.Second) // a clean stop: its last records are acknowledged
			stopped = true
		}
		produced, err := topicEnd(ctx, s.BrokerAddr)
		if err != nil {
			produced = lastProduced
		}
		loaded, err := db.Rows(ctx, "tweets")
		if err != nil {
			continue
		}
		smp := pipelineSample{T: now.Seconds(), Produced: float64(produced - lastProduced), Loaded: float64(int64(loaded) - lastLoaded),
			Lag: produced - int64(loaded), CPU: map[string]float64{}, RSS: map[string]float64{}}
		p50, p99 := lat.window()
		smp.LatencyP50, smp.LatencyP99 = millis(p50), millis(p99)
		for name, ids := range pids() {
			if stopped && name == "ingest" {
				continue
			}
			cpu, rss, err := lab.ProcsUsage(ids)
			if err != nil {
				continue
			}
			if prev, ok := lastCPU[name]; ok {
				smp.CPU[name] = (cpu - prev).Seconds()
				cpuTotal[name] += cpu - prev
			}
			lastCPU[name] = cpu
			smp.RSS[name] = float64(rss) / (1 << 20)
			res.RSS[name] = max(res.RSS[name], smp.RSS[name])
		}
		res.Series = append(res.Series, smp)
		lastProduced, lastLoaded = produced, int64(loaded)
		res.Produced, res.Loaded = produced, int64(loaded)
		fmt.Fprintf(progress, "%5.0fs  produced %7.0f/s  loaded %7.0f/s  lag %8d  latency p50 %6.0f p99 %6.0f ms\n",
			smp.T, smp.Produced, smp.Loaded, smp.Lag, smp.LatencyP50, smp.LatencyP99)
		if stopped {
			if smp.Lag <= 0 {
				if drainedAt.IsZero() {
					drainedAt = time.Now()
				}
				break
			}
			if now > duration+2*time.Minute {
				break // report what there is
			}
		}
	}
	stopPoll()
	if err := <-pollDone; err != nil && !errors.Is(err, context.Canceled) {
		return nil, err
	}
	res.Seconds = duration.Seconds()
	p50, p99, mx, samples := lat.total()
	res.LatencyP50, res.LatencyP99, res.LatencyMax, res.Samples = millis(p50), millis(p99), millis(mx), samples
	res.PollEveryMs = float64(pollEvery) / 1e6
	// Sustained rates: per second over the run, after the first five seconds (processes
	// starting, the group joining), or the first third of a shorter run.
	warm := math.Floor(min(5, duration.Seconds()/3))
	var n int
	for _, smp := range res.Series {
		if smp.T > warm && smp.T <= duration.Seconds() {
			res.ProducedPerS += smp.Produced
			res.SustainedPerS += smp.Loaded
			n++
		}
	}
	if n > 0 {
		res.ProducedPerS /= float64(n)
		res.SustainedPerS /= float64(n)
	}
	elapsed := time.Since(start).Seconds()
	for name, c := range cpuTotal {
		span := elapsed
		if name == "ingest" {
			span = duration.Seconds()
		}
		res.CPU[name] = c.Seconds() / span
	}
	res.Bottleneck = bottleneck(res, duration)
	if err := clickhouseDisk(ctx, servers, filepath.Join(dir, "clickhouse"), res); err != nil {
		return nil, err
	}
	return res, nil
}

// pipelineServers opens each server of the stack's warehouse (db itself on one server) and
// returns them with the latency probe's samplers: of the one server, or of the first
// replica of each shard of a cluster.
func pipelineServers(ctx context.Context, s *lab.Stack, db *warehouse.DB, o pipelineOptions) ([]*warehouse.DB, []*warehouse.FreshSampler, error) {
	if o.shards == 0 {
		return []*warehouse.DB{db}, []*warehouse.FreshSampler{db.NewFreshSampler(latencySampleEvery)}, nil
	}
	var servers []*warehouse.DB
	var probes []*warehouse.FreshSampler
	for i, addr := range s.Warehouse.Addr {
		cfg := s.Warehouse
		cfg.Addr = []string{addr}
		one, err := warehouse.Open(ctx, cfg)
		if err != nil {
			return nil, nil, err
		}
		context.AfterFunc(ctx, func() { one.Close() })
		servers = append(servers, one)
		if i%o.replicas == 0 {
			probes = append(probes, one.NewFreshSampler(latencySampleEvery))
		}
	}
	return servers, probes, nil
}

// clickhouseDisk measures ClickHouse's folder against its servers' active parts.
func clickhouseDisk(ctx context.Context, servers []*warehouse.DB, dir string, res *pipelineResult) error {
	var active uint64
	for _, db := range servers {
		st, err := db.Storage(ctx)
		if err != nil {
			return err
		}
		active, res.MostPartsOneTable = active+st.ActiveBytes, max(res.MostPartsOneTable, st.MostPartsInTable)
	}
	var total int64
	filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			if info, err := d.Info(); err == nil {
				total += info.Size()
			}
		}
		return nil
	})
	res.ClickHouseDirMiB, res.ActivePartsMiB = float64(total)/(1<<20), float64(active)/(1<<20)
	return nil
}

// bottleneck names what limits a run.
func bottleneck(r *pipelineResult, duration time.Duration) string {
	var lagStart, lagEnd int64
	for _, smp := range r.Series {
		switch {
		case smp.T <= 10:
			lagStart = smp.Lag
		case smp.T <= duration.Seconds():
			lagEnd = smp.Lag
		}
	}
	var total float64
	for _, c := range r.CPU {
		total += c
	}
	busiest, most := "", 0.0
	for name, c := range r.CPU {
		if c > most {
			busiest, most = name, c
		}
	}
	cores := float64(numCPU())
	saturated := ""
	if total > 0.85*cores {
		saturated = fmt.Sprintf("; the machine's %d cores are saturated (%.2f cores in use, %s the most: %.2f)", int(cores), total, busiest, most)
	}
	growing := lagEnd > lagStart+int64(max(float64(r.Rate), r.SustainedPerS)*2)
	switch {
	case r.Rate > 0 && r.ProducedPerS < 0.95*float64(r.Rate):
		return fmt.Sprintf("the ingester: it produced %.0f of %d tweets/s (%.2f cores)%s", r.ProducedPerS, r.Rate, r.CPU["ingest"], saturated)
	case growing:
		etl := 0.0
		for name, c := range r.CPU {
			if strings.HasPrefix(name, "etl") {
				etl += c
			}
		}
		who := "the ETL"
		if r.CPU["clickhouse"] > etl {
			who = "ClickHouse"
		}
		return fmt.Sprintf("loading: the lag grew from %d to %d; %s is the busier of the two (ETL %.2f cores, ClickHouse %.2f)%s",
			lagStart, lagEnd, who, etl, r.CPU["clickhouse"], saturated)
	case r.Rate == 0:
		return fmt.Sprintf("the ingester: the loading keeps up with all it produces (%.0f tweets/s; ingest %.2f cores)%s", r.ProducedPerS, r.CPU["ingest"], saturated)
	}
	return "none at this rate: every stage keeps up" + saturated
}

func numCPU() int { return runtime.NumCPU() }

// latencies collects produce-to-queryable latencies.
type latencies struct {
	mu     sync.Mutex
	all    []float64 // ms, guarded by mu
	recent []float64 // since the last window call
}

func (l *latencies) add(ms float64) {
	l.mu.Lock()
	l.all = append(l.all, ms)
	l.recent = append(l.recent, ms)
	l.mu.Unlock()
}

func percentile(sorted []float64, p float64) float64 {
	if len(sorted) == 0 {
		return math.NaN()
	}
	return sorted[int(p*float64(len(sorted)-1))]
}

// window returns the p50 and p99 of the latencies seen since the last call.
func (l *latencies) window() (p50, p99 float64) {
	l.mu.Lock()
	r := l.recent
	l.recent = nil
	l.mu.Unlock()
	slices.Sort(r)
	return percentile(r, 0.5), percentile(r, 0.99)
}

// total returns the run's p50, p99, max and sample count.
func (l *latencies) total() (p50, p99, mx float64, n int) {
	l.mu.Lock()
	all := slices.Clone(l.all)
	l.mu.Unlock()
	slices.Sort(all)
	if len(all) == 0 {
		return math.NaN(), math.NaN(), math.NaN(), 0
	}
	return percentile(all, 0.5), percentile(all, 0.99), all[len(all)-1], len(all)
}

// latencySampleEvery is the latency probe's sample: one tweet in this many.
const latencySampleEvery = 16

// pollLatency finds newly loaded tweets of a sample (one in latencySampleEvery, by a hash
// of the id) every pollEvery; a stamped tweet's id says when it was produced (ingest
// --stamp), so the latency is the time of the query that first returns it less the time
// in its id.
func pollLatency(ctx context.Context, probes []*warehouse.FreshSampler, lat *latencies, every time.Duration) error {
	// Every poll, the parts of tweets that INSERTs made since the last look (merged
	// parts hold rows seen before), and the sampled tweets in those parts only: a query
	// reads what is new, not a range of the table, so the measurement's own cost stays out
	// of ClickHouse's CPU figure even when the latency, and with it the rows in flight,
	// grows (a part merged before the poller looks at it is missed, and so are its
	// samples). On a cluster, each shard's first replica is asked of its own parts.
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		}
		for _, p := range probes {
			ids, err := p.Next(ctx)
			if err != nil { // a poll the load crowds out: the next one finds the same parts
				continue
			}
			now := time.Now()
			for _, id := range ids {
				produced := tweet.SnowflakeTime(id)
				lat.add(float64(now.Sub(produced)) / 1e6)
			}
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
	}
}

// topicEnd is the number of records produced to topic tweets: the sum of its partitions'
// end offsets.
func topicEnd(ctx context.Context, addr string) (int64, error) {
	c := &kafka.Client{Addr: kafka.TCP(addr), Timeout: 5 * time.Second}
	meta, err := c.Metadata(ctx, &kafka.MetadataRequest{Topics: []string{tweet.TopicTweets}})
	if err != nil || len(meta.Topics) != 1 || meta.Topics[0].Error != nil {
		return 0, fmt.Errorf("metadata of %s: %v", tweet.TopicTweets, err)
	}
	req := &kafka.ListOffsetsRequest{Topics: map[string][]kafka.OffsetRequest{}}
	for _, p := range meta.Topics[0].Partitions {
		req.Topics[tweet.TopicTweets] = append(req.Topics[tweet.TopicTweets], kafka.LastOffsetOf(p.ID))
	}
	resp, err := c.ListOffsets(ctx, req)
	if err != nil {
		return 0, err
	}
	var n int64
	for _, p := range resp.Topics[tweet.TopicTweets] {
		if p.Error != nil {
			return 0, p.Error
		}
		n += p.LastOffset
	}
	return n, nil
}

// openWarehouseMigrated opens the warehouse once it answers, and migrates it.
func openWarehouseMigrated(ctx context.Context, cfg warehouse.Config) (*warehouse.DB, error) {
	if err := warehouse.MigrateWaiting(ctx, cfg, 2*time.Minute); err != nil {
		return nil, err
	}
	return warehouse.Open(ctx, cfg)
}

// waitGroupStable waits until the consumer group has members and is stable.
func waitGroupStable(ctx context.Context, addr, group string, members int) error {
	c := &kafka.Client{Addr: kafka.TCP(addr)}
	deadline := time.Now().Add(2 * time.Minute)
	for time.Now().Before(deadline) {
		resp, err := c.DescribeGroups(ctx, &kafka.DescribeGroupsRequest{GroupIDs: []string{group}})
		if err == nil && len(resp.Groups) == 1 && resp.Groups[0].GroupState == "Stable" && len(resp.Groups[0].Members) == members {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
	return fmt.Errorf("consumer group %s has not got its %d members after two minutes", group, members)
}

func printPipeline(w io.Writer, r *pipelineResult) {
	target := "flat out"
	if r.Rate > 0 {
		target = fmt.Sprintf("%d tweets/s", r.Rate)
	}
	fmt.Fprintf(w, "\npipeline, %s for %.0f s (the feed replayed from a %s file)\n", target, r.Seconds, r.Feed)
	fmt.Fprintf(w, "  produced        %10d  (%.0f tweets/s)\n", r.Produced, r.ProducedPerS)
	fmt.Fprintf(w, "  loaded          %10d  (sustained %.0f tweets/s)\n", r.Loaded, r.SustainedPerS)
	defer fmt.Fprintf(w, "  clickhouse disk %.0f MiB in its folder, %.0f MiB of it in active parts (%.1fx); at most %d active parts in one table\n",
		r.ClickHouseDirMiB, r.ActivePartsMiB, r.ClickHouseDirMiB/max(r.ActivePartsMiB, 0.001), r.MostPartsOneTable)
	fmt.Fprintf(w, "  latency         p50 %.0f ms  p99 %.0f ms  max %.0f ms  (%d samples, produce → returned by a warehouse query polled every %.0f ms)\n",
		r.LatencyP50, r.LatencyP99, r.LatencyMax, r.Samples, r.PollEveryMs)
	names := make([]string, 0, len(r.CPU))
	for name := range r.CPU {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		fmt.Fprintf(w, "  %-14s  CPU %.2f cores (mean)  memory %.0f MiB (peak RSS)\n", name, r.CPU[name], r.RSS[name])
	}
	fmt.Fprintf(w, "  bottleneck      %s\n", r.Bottleneck)
}

// shortNumber writes an axis value: 52k, 1.5k, 0.25.
func shortNumber(v float64) string {
	switch {
	case v >= 1e4:
		return fmt.Sprintf("%.0fk", v/1e3)
	case v >= 1e3:
		return fmt.Sprintf("%.1fk", v/1e3)
	}
	return strconv.FormatFloat(v, 'g', 3, 64)
}

// pipelineChart draws the run as an HTML page of SVG line charts: throughput, latency,
// CPU per service.
func pipelineChart(r *pipelineResult) string {
	type line struct {
		name  string
		color string
		ys    []float64
	}
	xs := make([]float64, len(r.Series))
	for i, s := range r.Series {
		xs[i] = s.T
	}
	pick := func(f func(pipelineSample) float64) []float64 {
		out := make([]float64, len(r.Series))
		for i, s := range r.Series {
			out[i] = f(s)
		}
		return out
	}
	colors := []string{"#2563eb", "#dc2626", "#16a34a", "#9333ea", "#ea580c", "#0891b2"}
	var services []string
	for name := range r.CPU {
		services = append(services, name)
	}
	slices.Sort(services)
	var cpu []line
	for i, name := range services {
		cpu = append(cpu, line{name, colors[i%len(colors)], pick(func(s pipelineSample) float64 { return s.CPU[name] })})
	}
	chart := func(title, unit string, lines []line) string {
		const width, h, left, bottom, top = 900.0, 280.0, 60.0, 30.0, 20.0
		const w = width - 30 // room for the last x label
		ymax := 0.0
		for _, l := range lines {
			for _, y := range l.ys {
				if !math.IsNaN(y) {
					ymax = max(ymax, y)
				}
			}
		}
		if ymax == 0 {
			ymax = 1
		}
		xmax := max(xs[len(xs)-1], 1)
		var b strings.Builder
		fmt.Fprintf(&b, `<h2>%s</h2><svg width="%.0f" height="%.0f" viewBox="0 0 %.0f %.0f" role="img">`, html.EscapeString(title), width, h+20, width, h+20)
		fmt.Fprintf(&b, `<line x1="%.0f" y1="%.0f" x2="%.0f" y2="%.0f" stroke="#999"/>`, left, h-bottom, w, h-bottom)
		fmt.Fprintf(&b, `<line x1="%.0f" y1="0" x2="%.0f" y2="%.0f" stroke="#999"/>`, left, left, h-bottom)
		plot := h - bottom - top // the plot's height, below the unit's label
		yOf := func(v float64) float64 { return top + plot*(1-v/ymax) }
		for i := 0; i <= 4; i++ {
			y := yOf(ymax * float64(i) / 4)
			fmt.Fprintf(&b, `<text x="%.0f" y="%.0f" font-size="11" text-anchor="end">%s</text>`, left-4, y+4, shortNumber(ymax*float64(i)/4))
			fmt.Fprintf(&b, `<line x1="%.0f" y1="%.0f" x2="%.0f" y2="%.0f" stroke="#eee"/>`, left, y, w, y)
		}
		for i := 0; i <= 5; i++ {
			x := left + (w-left)*float64(i)/5
			fmt.Fprintf(&b, `<text x="%.0f" y="%.0f" font-size="11" text-anchor="middle">%.0f s</text>`, x, h-bottom+16, xmax*float64(i)/5)
		}
		for li, l := range lines {
			var pts []string
			for i, y := range l.ys {
				if math.IsNaN(y) {
					continue
				}
				pts = append(pts, fmt.Sprintf("%.1f,%.1f", left+(w-left)*xs[i]/xmax, yOf(y)))
			}
			fmt.Fprintf(&b, `<polyline fill="none" stroke="%s" stroke-width="2" points="%s"/>`, l.color, strings.Join(pts, " "))
			fmt.Fprintf(&b, `<text x="%.0f" y="%.0f" font-size="12" fill="%s">%s</text>`, left+10+float64(li)*150, h+14, l.color, html.EscapeString(l.name))
		}
		fmt.Fprintf(&b, `<text x="4" y="12" font-size="11">%s</text></svg>`, html.EscapeString(unit))
		return b.String()
	}
	target := "flat out"
	if r.Rate > 0 {
		target = fmt.Sprintf("at %d tweets/s", r.Rate)
	}
	var b strings.Builder
	b.WriteString(`<!doctype html><meta charset="utf-8"><title>Starling pipeline benchmark</title>` +
		`<style>body{font-family:sans-serif;margin:24px;color:#222}h2{font-size:15px;margin:18px 0 4px}svg{background:#fff}</style>`)
	fmt.Fprintf(&b, "<h1>Starling pipeline, %s for %.0f s</h1>", html.EscapeString(target), r.Seconds)
	fmt.Fprintf(&b, "<p>Sustained %.0f tweets/s loaded; latency p50 %.0f ms, p99 %.0f ms, max %.0f ms. Bottleneck: %s.</p>",
		r.SustainedPerS, r.LatencyP50, r.LatencyP99, r.LatencyMax, html.EscapeString(r.Bottleneck))
	b.WriteString(chart("Throughput", "tweets/s", []line{
		{"produced", colors[0], pick(func(s pipelineSample) float64 { return s.Produced })},
		{"loaded", colors[1], pick(func(s pipelineSample) float64 { return s.Loaded })},
	}))
	b.WriteString(chart("Produce → queryable latency", "ms", []line{
		{"p50", colors[2], pick(func(s pipelineSample) float64 { return float64(s.LatencyP50) })},
		{"p99", colors[3], pick(func(s pipelineSample) float64 { return float64(s.LatencyP99) })},
	}))
	b.WriteString(chart("CPU per service", "cores", cpu))
	return b.String()
}
