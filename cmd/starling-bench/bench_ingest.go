package main

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/pprof"
	"strings"
	"sync"
	"time"

	"github.com/klauspost/compress/zstd"

	"github.com/starling-analytics/starling/broker"
	"github.com/starling-analytics/starling/ingest"
	"github.com/starling-analytics/starling/internal/cli"
	"github.com/starling-analytics/starling/internal/tweet"
	"github.com/starling-analytics/starling/sample-data/generator"
)

// ingestBenchResult is one measured replay.
type ingestBenchResult struct {
	Tool        string  `json:"tool"`
	Tweets      uint64  `json:"tweets"`
	Seconds     float64 `json:"seconds"`
	TweetsPerS  float64 `json:"tweets_per_s"`
	InputMBPerS float64 `json:"input_mb_per_s"` // uncompressed bytes read per second
	// CPU time per tweet, in microseconds: of this process (the broker, and in the
	// ingester's run the ingester) and of kcat in its run. The ingester's figure is what a
	// replay costs the machine, beside its wall time, which the machine's other work and
	// its cores bound.
	CPUUsPerTweet     float64 `json:"cpu_us_per_tweet"`
	KcatCPUUsPerTweet float64 `json:"kcat_cpu_us_per_tweet,omitempty"`
	Note              string  `json:"note"`
}

func runBenchIngest(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := cli.NewFlagSet("starling-bench ingest", "Replays a generated gzip archive of v1.1 tweets into the built-in broker (in this process, writing to disk) as fast as possible, then, in the same run, produces the same canonical records with kcat -P (librdkafka) from a plain file, and prints tweets/s and MB/s of both.", stderr)
	tweets := fs.Int("tweets", 2_000_000, "tweets in the generated archive")
	archive := fs.String("archive", "", "the archive to replay (generated there when missing; default: a temporary file)")
	jsonOut := fs.String("json", "", "also write the results as JSON to this file")
	stamp := fs.Bool("stamp", false, "stamp each tweet with its send time, as bench pipeline's ingester does (records are then encoded as they are sent)")
	cpuProfile := fs.String("cpu-profile", "", "write a CPU profile of the ingester's replay (and the broker it produces to, in this process) to this file (go tool pprof)")
	if err := cli.Parse(fs, args); err != nil {
		return err
	}
	tmp, err := os.MkdirTemp("", "starling-bench-ingest-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	if *archive == "" {
		*archive = filepath.Join(tmp, "archive.jsonl.gz")
	}
	if _, err := os.Stat(*archive); errors.Is(err, os.ErrNotExist) {
		fmt.Fprintf(stderr, "generating %d tweets into %s\n", *tweets, *archive)
		if err := generateFeed(*archive, *tweets, "gzip"); err != nil {
			return err
		}
	}
	// kcat's input: the canonical records the ingester produces, "id<TAB>json" a line.
	canonical := filepath.Join(tmp, "canonical.tsv")
	rawBytes, n, canonBytes, err := canonicalize(*archive, canonical)
	if err != nil {
		return err
	}
	fmt.Fprintf(stderr, "archive: %d tweets, %.1f MB of JSON; canonical: %.1f MB\n", n, float64(rawBytes)/1e6, float64(canonBytes)/1e6)

	addr, stop, err := startBenchBroker(ctx, filepath.Join(tmp, "broker"))
	if err != nil {
		return err
	}
	defer stop()

	var results []ingestBenchResult
	in, err := ingest.New(ingest.Config{Brokers: []string{addr}, Inputs: []string{*archive}, Stamp: *stamp, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		return err
	}
	stopProfile, err := startCPUProfile(*cpuProfile)
	if err != nil {
		return err
	}
	defer stopProfile()
	start, cpu0 := time.Now(), selfCPU()
	err = in.Run(ctx)
	secs, cpu := time.Since(start).Seconds(), selfCPU()-cpu0
	stopProfile()
	if err != nil {
		return fmt.Errorf("ingest: %w", err)
	}
	st := in.Stats()
	if st.Produced != n {
		return fmt.Errorf("ingest produced %d of %d tweets", st.Produced, n)
	}
	note := "gzip v1.1 JSON → canonical, acks=all, lz4"
	if *stamp {
		note = "gzip v1.1 JSON → canonical, stamped, acks=all, lz4"
	}
	results = append(results, ingestBenchResult{Tool: "starling ingest", Tweets: st.Produced, Seconds: secs, TweetsPerS: float64(st.Produced) / secs,
		InputMBPerS: float64(rawBytes) / secs / 1e6, CPUUsPerTweet: perTweet(cpu, int64(n)), Note: note})

	kcat, err := exec.LookPath("kcat")
	if err != nil {
		fmt.Fprintln(stderr, "kcat is not installed (apt-get install kcat): the librdkafka reference is skipped")
	} else {
		cmd := exec.CommandContext(ctx, kcat, "-P", "-b", addr, "-t", "bench-kcat", "-K", "\t", "-z", "lz4",
			"-X", "acks=all", "-X", "linger.ms=5", "-X", "queue.buffering.max.messages=1000000", "-l", canonical)
		cmd.Stderr = stderr
		start, cpu0 := time.Now(), selfCPU()
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("kcat: %w", err)
		}
		secs, cpu := time.Since(start).Seconds(), selfCPU()-cpu0
		kcatCPU := cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
		results = append(results, ingestBenchResult{Tool: "kcat -P", Tweets: n, Seconds: secs, TweetsPerS: float64(n) / secs,
			InputMBPerS: float64(canonBytes) / secs / 1e6, CPUUsPerTweet: perTweet(cpu, int64(n)), KcatCPUUsPerTweet: perTweet(kcatCPU, int64(n)), Note: "plain canonical lines, no parsing, acks=all, lz4"})
	}

	fmt.Fprintf(stdout, "%-16s %10s %9s %12s %9s %15s  %s\n", "tool", "tweets", "seconds", "tweets/s", "MB/s", "cpu us/tweet", "what")
	for _, r := range results {
		cpu := fmt.Sprintf("%.2f", r.CPUUsPerTweet)
		if r.KcatCPUUsPerTweet > 0 {
			cpu = fmt.Sprintf("%.2f + %.2f", r.CPUUsPerTweet, r.KcatCPUUsPerTweet)
		}
		fmt.Fprintf(stdout, "%-16s %10d %9.2f %12.0f %9.1f %15s  %s\n", r.Tool, r.Tweets, r.Seconds, r.TweetsPerS, r.InputMBPerS, cpu, r.Note)
	}
	fmt.Fprintf(stdout, "cpu us/tweet: CPU time per tweet of this process (the broker, and the ingester in its run), + kcat's in its run (load average %s)\n", loadAverage())
	if *jsonOut != "" {
		data, _ := json.MarshalIndent(results, "", "  ")
		return os.WriteFile(*jsonOut, data, 0o644)
	}
	return nil
}

// feedCompressions are how generateFeed can store a feed.
var feedCompressions = []string{"gzip", "zstd", "plain"}

// generateFeed writes n generated tweets to a file, compressed with gzip or zstd, or
// plain.
func generateFeed(path string, n int, compression string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer f.Close()
	var zw io.WriteCloser
	switch compression {
	case "gzip":
		zw, _ = gzip.NewWriterLevel(f, gzip.BestSpeed)
	case "zstd":
		if zw, err = zstd.NewWriter(f, zstd.WithEncoderLevel(zstd.SpeedFastest)); err != nil {
			return err
		}
	case "plain":
		zw = nopCloser{f}
	default:
		return fmt.Errorf("no feed compression %q (%s)", compression, strings.Join(feedCompressions, ", "))
	}
	bw := bufio.NewWriterSize(zw, 1<<20)
	g := generator.New(generator.Config{Seed: 42, Count: n})
	for {
		line, ok := g.NextJSON()
		if !ok {
			break
		}
		bw.Write(line)
		bw.WriteByte('\n')
	}
	if err := bw.Flush(); err != nil {
		return err
	}
	if err := zw.Close(); err != nil {
		return err
	}
	return f.Close()
}

// canonicalize writes the archive's tweets as canonical "id<TAB>json" lines, and returns
// the archive's uncompressed size, the tweet count and the canonical file's size.
func canonicalize(archive, out string) (rawBytes int64, n uint64, canonBytes int64, err error) {
	f, err := os.Open(archive)
	if err != nil {
		return 0, 0, 0, err
	}
	defer f.Close()
	zr, err := gzip.NewReader(bufio.NewReaderSize(f, 1<<20))
	if err != nil {
		return 0, 0, 0, err
	}
	o, err := os.Create(out)
	if err != nil {
		return 0, 0, 0, err
	}
	defer o.Close()
	bw := bufio.NewWriterSize(o, 1<<20)
	sc := bufio.NewScanner(zr)
	sc.Buffer(nil, 4<<20)
	for sc.Scan() {
		line := sc.Bytes()
		rawBytes += int64(len(line)) + 1
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		recs, err := ingest.ParseLine(line)
		if err != nil {
			return 0, 0, 0, fmt.Errorf("archive line %d: %w", n+1, err)
		}
		for _, rec := range recs {
			value, err := tweet.Encode(rec)
			if err != nil {
				return 0, 0, 0, err
			}
			bw.WriteString(rec.Key())
			bw.WriteByte('\t')
			bw.Write(value)
			bw.WriteByte('\n')
			canonBytes += int64(len(rec.Key()) + len(value) + 2)
			n++
		}
	}
	if err := sc.Err(); err != nil {
		return 0, 0, 0, err
	}
	return rawBytes, n, canonBytes, bw.Flush()
}

// startBenchBroker runs the built-in broker in this process on a loopback port, with the
// pipeline's topics.
func startBenchBroker(ctx context.Context, dir string) (string, func(), error) {
	return startBroker(ctx, broker.Config{DataDir: dir}, tweet.TopicTweets, tweet.TopicDLQ, "bench-kcat")
}

// startBroker runs the built-in broker in this process on a loopback port, with the topics
// of three partitions given; stop ends it.
func startBroker(ctx context.Context, cfg broker.Config, topics ...string) (addr string, stop func(), err error) {
	b, err := broker.New(cfg)
	if err != nil {
		return "", nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Close()
		return "", nil, err
	}
	for _, topic := range topics {
		if err := b.CreateTopic(topic, 3, nil); err != nil && !errors.Is(err, broker.ErrTopicExists) {
			ln.Close()
			b.Close()
			return "", nil, err
		}
	}
	sctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { b.Serve(sctx, ln); close(done) }()
	return ln.Addr().String(), func() { cancel(); <-done; b.Close() }, nil
}

type nopCloser struct{ io.Writer }

func (nopCloser) Close() error { return nil }

// startCPUProfile writes a CPU profile to path until stop is called (again is harmless);
// an empty path profiles nothing.
func startCPUProfile(path string) (stop func(), err error) {
	if path == "" {
		return func() {}, nil
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, err
	}
	var once sync.Once
	return func() {
		once.Do(func() {
			pprof.StopCPUProfile()
			f.Close()
		})
	}, nil
}
