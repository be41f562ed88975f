package main

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/starling-analytics/starling/broker"
	"github.com/starling-analytics/starling/internal/cli"
)

// benchResult is one measured run.
type benchResult struct {
	Target          string  `json:"target"`
	RecordBytes     int     `json:"record_bytes"`
	Records         int     `json:"records"`
	ProducePerSec   float64 `json:"produce_records_per_s"`
	ProduceMBPerS   float64 `json:"produce_mb_per_s"`
	ProduceP50Ms    float64 `json:"produce_latency_p50_ms"`
	ProduceP99Ms    float64 `json:"produce_latency_p99_ms"`
	ConsumePerSec   float64 `json:"consume_records_per_s"`
	ConsumeMBPerS   float64 `json:"consume_mb_per_s"`
	AllocsPerRecord float64 `json:"allocs_per_record"`
	// Produce latency at a fixed rate well below saturation: the service time a producer
	// sees, without the queueing of the flat-out run above.
	PacedRate  int     `json:"paced_rate_per_s"`
	PacedP50Ms float64 `json:"paced_latency_p50_ms"`
	PacedP99Ms float64 `json:"paced_latency_p99_ms"`
	PacedMaxMs float64 `json:"paced_latency_max_ms"`
}

func runBenchBroker(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := cli.NewFlagSet("starling-bench broker", "Produces and consumes with franz-go against the built-in broker (writing to disk) and against franz-go's in-memory kfake cluster, in one run, and prints records/s, MB/s, produce latency and allocations per record.", stderr)
	records := fs.Int("records", 1_000_000, "records per run")
	var sizes cli.List = cli.List{"100", "1000"}
	fs.Var(&sizes, "sizes", "comma-separated record value sizes in bytes")
	dataDir := fs.String("data-dir", "", "broker data directory (default: a temporary one, removed afterwards)")
	syncWrites := fs.Bool("sync-writes", false, "run the built-in broker with --broker-sync-writes")
	jsonOut := fs.String("json", "", "also write the results as JSON to this file")
	pacedRate := fs.Int("paced-rate", 10_000, "records/s of the fixed-rate latency run (0 skips it)")
	pacedFor := fs.Duration("paced-duration", 5*time.Second, "length of the fixed-rate latency run")
	if err := cli.Parse(fs, args); err != nil {
		return err
	}
	var results []benchResult
	for _, s := range sizes {
		size, err := strconv.Atoi(s)
		if err != nil || size < 1 {
			return fmt.Errorf("--sizes: %q is not a positive size", s)
		}
		for _, target := range []string{"starling", "kfake"} {
			addr, stop, err := startBenchTarget(ctx, target, *dataDir, *syncWrites)
			if err != nil {
				return err
			}
			r, err := benchOne(ctx, addr, *records, size)
			if err == nil && *pacedRate > 0 {
				err = benchPaced(ctx, addr, size, *pacedRate, *pacedFor, &r)
			}
			stop()
			if err != nil {
				return fmt.Errorf("%s, %d B: %w", target, size, err)
			}
			r.Target = target
			results = append(results, r)
			fmt.Fprintf(stderr, "done: %s %d B\n", target, size)
		}
	}
	fmt.Fprintf(stdout, "%-9s %6s %10s %14s %9s %9s %9s %14s %9s %12s  %s\n", "target", "bytes", "records", "produce rec/s", "MB/s", "p50 ms", "p99 ms", "consume rec/s", "MB/s", "allocs/rec", "paced latency p50/p99/max ms")
	for _, r := range results {
		paced := "-"
		if r.PacedRate > 0 {
			paced = fmt.Sprintf("%.3f / %.3f / %.3f at %d/s", r.PacedP50Ms, r.PacedP99Ms, r.PacedMaxMs, r.PacedRate)
		}
		fmt.Fprintf(stdout, "%-9s %6d %10d %14.0f %9.1f %9.2f %9.2f %14.0f %9.1f %12.2f  %s\n", r.Target, r.RecordBytes, r.Records,
			r.ProducePerSec, r.ProduceMBPerS, r.ProduceP50Ms, r.ProduceP99Ms, r.ConsumePerSec, r.ConsumeMBPerS, r.AllocsPerRecord, paced)
	}
	if *jsonOut != "" {
		data, _ := json.MarshalIndent(results, "", "  ")
		if err := os.WriteFile(*jsonOut, data, 0o644); err != nil {
			return err
		}
	}
	return nil
}

// startBenchTarget starts the broker under test on a loopback port.
func startBenchTarget(ctx context.Context, target, dataDir string, syncWrites bool) (string, func(), error) {
	if target == "kfake" {
		c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(3, "bench"))
		if err != nil {
			return "", nil, err
		}
		return c.ListenAddrs()[0], c.Close, nil
	}
	dir := dataDir
	if dir == "" {
		var err error
		if dir, err = os.MkdirTemp("", "starling-bench-"); err != nil {
			return "", nil, err
		}
	}
	addr, stop, err := startBroker(ctx, broker.Config{DataDir: dir, SyncWrites: syncWrites}, "bench")
	if err != nil {
		return "", nil, err
	}
	return addr, func() {
		stop()
		if dataDir == "" {
			os.RemoveAll(dir)
		}
	}, nil
}

// benchOne produces n records of size bytes as fast as franz-go sends them, timing each
// record from Produce to its acknowledgement, then consumes them all back.
func benchOne(ctx context.Context, addr string, n, size int) (benchResult, error) {
	r := benchResult{RecordBytes: size, Records: n}
	value := make([]byte, size) // random, so compression cannot shortcut anything
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range value {
		value[i] = byte(rng.Uint32())
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.DefaultProduceTopic("bench"),
		kgo.ProducerLinger(0), kgo.MaxBufferedRecords(1<<20), kgo.ProducerBatchMaxBytes(1<<20),
		kgo.ProducerBatchCompression(kgo.NoCompression()))
	if err != nil {
		return r, err
	}
	defer cl.Close()
	if err := cl.ProduceSync(ctx, &kgo.Record{Value: value}).FirstErr(); err != nil { // warm up
		return r, err
	}
	tp := timedProducer{latencies: make([]time.Duration, n)}
	var ms0, ms1 runtime.MemStats
	runtime.ReadMemStats(&ms0)
	start := time.Now()
	for i := range n {
		tp.produce(ctx, cl, i, value)
	}
	if err := cl.Flush(ctx); err != nil {
		return r, err
	}
	elapsed := time.Since(start)
	runtime.ReadMemStats(&ms1)
	if tp.firstErr != nil {
		return r, tp.firstErr
	}
	latencies := tp.latencies
	r.ProducePerSec = float64(n) / elapsed.Seconds()
	r.ProduceMBPerS = r.ProducePerSec * float64(size) / 1e6
	r.AllocsPerRecord = float64(ms1.Mallocs-ms0.Mallocs) / float64(n)
	slices.Sort(latencies)
	r.ProduceP50Ms = float64(latencies[n/2]) / 1e6
	r.ProduceP99Ms = float64(latencies[n*99/100]) / 1e6

	consumer, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.ConsumeTopics("bench"),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.FetchMaxBytes(64<<20))
	if err != nil {
		return r, err
	}
	defer consumer.Close()
	got := 0
	start = time.Now()
	for got < n+1 {
		fetches := consumer.PollFetches(ctx)
		if err := fetches.Err0(); err != nil {
			return r, fmt.Errorf("consume: %w", err)
		}
		got += fetches.NumRecords()
	}
	r.ConsumePerSec = float64(got) / time.Since(start).Seconds()
	r.ConsumeMBPerS = r.ConsumePerSec * float64(size) / 1e6
	return r, nil
}

// benchPaced produces at a fixed rate for d, one record at a time (no linger), and records
// the latency of each from Produce to its acknowledgement.
func benchPaced(ctx context.Context, addr string, size, rate int, d time.Duration, r *benchResult) error {
	value := make([]byte, size)
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.DefaultProduceTopic("bench"), kgo.ProducerLinger(0),
		kgo.ProducerBatchCompression(kgo.NoCompression()))
	if err != nil {
		return err
	}
	defer cl.Close()
	if err := cl.ProduceSync(ctx, &kgo.Record{Value: value}).FirstErr(); err != nil { // warm up
		return err
	}
	n := int(float64(rate) * d.Seconds())
	tp := timedProducer{latencies: make([]time.Duration, n)}
	start := time.Now()
	for i := range n {
		// Record i is due at start + i/rate; sleep until then when ahead.
		if wait := time.Until(start.Add(time.Duration(i) * time.Second / time.Duration(rate))); wait > 0 {
			time.Sleep(wait)
		}
		tp.produce(ctx, cl, i, value)
	}
	if err := cl.Flush(ctx); err != nil {
		return err
	}
	if tp.firstErr != nil {
		return fmt.Errorf("paced run: %w", tp.firstErr)
	}
	latencies := tp.latencies
	slices.Sort(latencies)
	r.PacedRate = rate
	r.PacedP50Ms = float64(latencies[n/2]) / 1e6
	r.PacedP99Ms = float64(latencies[n*99/100]) / 1e6
	r.PacedMaxMs = float64(latencies[n-1]) / 1e6
	return nil
}

// timedProducer produces records and notes each one's time from Produce to its
// acknowledgement, and the first error.
type timedProducer struct {
	latencies []time.Duration // by record; each written once, by its callback
	mu        sync.Mutex      // guards firstErr
	firstErr  error
}

// produce sends record i with value; read latencies and firstErr after cl.Flush.
func (t *timedProducer) produce(ctx context.Context, cl *kgo.Client, i int, value []byte) {
	sent := time.Now()
	cl.Produce(ctx, &kgo.Record{Value: value}, func(_ *kgo.Record, err error) {
		t.latencies[i] = time.Since(sent)
		if err != nil {
			t.mu.Lock()
			t.firstErr = cmp.Or(t.firstErr, err)
			t.mu.Unlock()
		}
	})
}
