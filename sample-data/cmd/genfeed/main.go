// Command genfeed writes Starling's sample feed: synthetic tweets in Twitter API v1.1 JSON,
// one a line, gzip-compressed. The output depends only on the flags.
//
//	go run ./sample-data/cmd/genfeed -seed 1 -n 25000 -o sample-data/tweets-v1.1.jsonl.gz
package main

import (
	"bufio"
	"compress/gzip"
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/starling-analytics/starling/sample-data/generator"
)

func main() {
	seed := flag.Uint64("seed", 1, "random seed")
	n := flag.Int("n", 25000, "number of tweets")
	start := flag.String("start", "2026-03-14T00:00:00Z", "start of the feed's time span (RFC 3339)")
	span := flag.Duration("span", 24*time.Hour, "length of the feed's time span")
	out := flag.String("o", "sample-data/tweets-v1.1.jsonl.gz", "output file (gzip)")
	flag.Parse()
	if err := run(*seed, *n, *start, *span, *out); err != nil {
		fmt.Fprintln(os.Stderr, "genfeed:", err)
		os.Exit(1)
	}
}

func run(seed uint64, n int, start string, span time.Duration, out string) error {
	t0, err := time.Parse(time.RFC3339, start)
	if err != nil {
		return fmt.Errorf("-start: %w", err)
	}
	f, err := os.Create(out)
	if err != nil {
		return err
	}
	defer f.Close()
	zw, err := gzip.NewWriterLevel(f, gzip.BestCompression)
	if err != nil {
		return err
	}
	zw.ModTime = t0 // a fixed header keeps the file byte-identical across runs
	w := bufio.NewWriter(zw)
	g := generator.New(generator.Config{Seed: seed, Count: n, Start: t0, Span: span})
	for {
		line, ok := g.NextJSON()
		if !ok {
			break
		}
		w.Write(line)
		w.WriteByte('\n')
	}
	if err := w.Flush(); err != nil {
		return err
	}
	if err := zw.Close(); err != nil {
		return err
	}
	return f.Close()
}
