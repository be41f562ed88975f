package ingest

import (
	"compress/gzip"
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/starling-analytics/starling/broker/brokertest"
)

// BenchmarkReplay replays a gzip archive of generated v1.1 tweets as fast as possible:
// read, decompress, parse, encode, and (but for the dry run) produce into a broker in this
// process, which writes to disk. starling bench ingest is the same beside kcat -P.
//
//	go test -run '^$' -bench Replay -benchtime 3x ./ingest/
func BenchmarkReplay(b *testing.B) {
	const n = 200_000
	archive := filepath.Join(b.TempDir(), "archive.jsonl.gz")
	f, err := os.Create(archive)
	if err != nil {
		b.Fatal(err)
	}
	zw, _ := gzip.NewWriterLevel(f, gzip.BestSpeed)
	zw.Write(generatedLines(b, 42, n))
	zw.Close()
	f.Close()
	st, _ := os.Stat(archive)
	for _, run := range []struct {
		name       string
		dry, stamp bool
	}{
		{"dry-run", true, false},
		{"dry-run-stamped", true, true}, // as bench pipeline replays: each tweet stamped when sent
		{"produce", false, false},
	} {
		b.Run(run.name, func(b *testing.B) {
			cfg := Config{Inputs: []string{archive}, DryRun: run.dry, Stamp: run.stamp}
			if !run.dry {
				cfg.Brokers = []string{brokertest.Start(b, nil).Addr}
			}
			b.ReportAllocs()
			b.SetBytes(st.Size())
			b.ResetTimer()
			for range b.N {
				in, err := New(cfg)
				if err != nil {
					b.Fatal(err)
				}
				if err := in.Run(context.Background()); err != nil {
					b.Fatal(err)
				}
				if s := in.Stats(); s.Valid != n {
					b.Fatalf("%d of %d tweets", s.Valid, n)
				}
			}
			b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "tweets/s")
		})
	}
}
