package ingest

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"os"
	"testing"

	"github.com/starling-analytics/starling/internal/tweet"
)

// referenceLines are the lines both paths are compared on: every testdata payload, the
// committed sample feed and generated tweets.
func referenceLines(t testing.TB) [][]byte {
	t.Helper()
	var lines [][]byte
	add := func(r *bufio.Scanner) {
		r.Buffer(nil, 4<<20)
		for r.Scan() {
			if l := bytes.TrimSpace(r.Bytes()); len(l) > 0 {
				lines = append(lines, bytes.Clone(l))
			}
		}
	}
	for _, name := range formatFiles(t) {
		f, err := os.Open(name)
		if err != nil {
			t.Fatal(err)
		}
		add(bufio.NewScanner(f))
		f.Close()
	}
	f, err := os.Open("../sample-data/tweets-v1.1.jsonl.gz")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	add(bufio.NewScanner(zr))
	add(bufio.NewScanner(bytes.NewReader(generatedLines(t, 77, 2000))))
	return lines
}

// sameAsReference checks one line: whatever the fast path accepts, the reference path
// turns into the same canonical bytes.
func sameAsReference(t *testing.T, fast *fastV11, line []byte) bool {
	var rec tweet.Record
	orig := bytes.Clone(line)
	ok := fast.parse(line, &rec)
	if !bytes.Equal(line, orig) {
		t.Fatalf("the fast path changed the line it parsed:\n%s\n%s", orig, line)
	}
	if !ok {
		return false
	}
	ref, err := parseOne(line)
	if err != nil {
		t.Fatalf("the fast path accepted a line the reference rejects (%v):\n%s", err, line)
	}
	got, err1 := tweet.Encode(rec)
	want, err2 := tweet.Encode(ref)
	if err1 != nil || err2 != nil || !bytes.Equal(got, want) {
		t.Fatalf("fast and reference paths differ on\n%s\nfast:      %s (%v)\nreference: %s (%v)", line, got, err1, want, err2)
	}
	return true
}

// TestFastPathMatchesReference compares the two decoders on real and generated tweets, and
// checks that the fast path does take the common line.
func TestFastPathMatchesReference(t *testing.T) {
	t.Parallel()
	var fast fastV11
	lines := referenceLines(t)
	accepted := 0
	for _, l := range lines {
		if sameAsReference(t, &fast, l) {
			accepted++
		}
	}
	// The sample feed and the generated tweets are plain v1.1 tweets: nearly all of them
	// must take the fast path, or it is not doing its job.
	if accepted < 27000 {
		t.Fatalf("the fast path took %d of %d lines", accepted, len(lines))
	}
	t.Logf("the fast path took %d of %d lines", accepted, len(lines))
}

// TestCloneRecordOutlivesTheNextParse keeps a clone of every record the fast path fills,
// parses the next lines into the same buffers and into copies of the lines that are then
// scribbled over, and checks that each clone still encodes as its line did.
func TestCloneRecordOutlivesTheNextParse(t *testing.T) {
	t.Parallel()
	var fast fastV11
	var scratch tweet.Record
	type kept struct {
		clone tweet.Record
		want  []byte
	}
	var all []kept
	for _, l := range referenceLines(t) {
		line := bytes.Clone(l)
		if !fast.parse(line, &scratch) {
			continue
		}
		want, err := tweet.Encode(scratch)
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, kept{cloneRecord(scratch), want})
		for i := range line {
			line[i] = 'x'
		}
	}
	if len(all) < 1000 {
		t.Fatalf("only %d lines took the fast path", len(all))
	}
	for _, k := range all {
		got, err := tweet.Encode(k.clone)
		if err != nil || !bytes.Equal(got, k.want) {
			t.Fatalf("the clone encodes as\n%s (%v), the record it was made from as\n%s", got, err, k.want)
		}
	}
}

// FuzzFastPath: on any input, what the fast path accepts, the reference decodes the same.
func FuzzFastPath(f *testing.F) {
	for i, l := range referenceLines(f) {
		if i%50 == 0 || i < 200 {
			f.Add(l)
		}
	}
	f.Add([]byte(`{"id_str":"1","created_at":"Sat Mar 14 10:00:00 +0000 2026","text":"a \ud83d b","user":{"screen_name":"x"}}`))
	f.Add([]byte(`{"ID_STR":"1","Created_At":"Sat Mar 14 10:00:00 +0000 2026","TEXT":"a","id_str":"2"}`))
	f.Add([]byte(`{"id_str":"1","created_at":"Sat Mar 14 10:00:00 +0000 2026","text":"\ud83d\ude00 \ud800\u0041 \u00e9 \/ \"q\" \\","user":{"id":9}}`))
	f.Add([]byte(`{"id":1e3,"created_at":"sat mar 14 10:00:00 +0000 2026","text":"x","user":{"id_str":"9","followers_count":-0}}`))
	f.Add([]byte(`{"id_str":"1","created_at":"Sat Feb 30 10:00:00 +0000 2026","text":"$AB $ab.. $1 x$CD","user":{"id":9},"entities":{"hashtags":[{"text":null},{}]}}`))
	var fast fastV11
	f.Fuzz(func(t *testing.T, line []byte) {
		sameAsReference(t, &fast, line)
	})
}

// BenchmarkParse compares the fast path with the reference on the sample feed.
func BenchmarkParse(b *testing.B) {
	lines := referenceLines(b)
	var size int
	for _, l := range lines {
		size += len(l)
	}
	b.Run("reference", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(size / len(lines)))
		for i := range b.N {
			ParseLine(lines[i%len(lines)])
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "lines/s")
	})
	b.Run("fast", func(b *testing.B) {
		var fast fastV11
		var rec tweet.Record
		b.ReportAllocs()
		b.SetBytes(int64(size / len(lines)))
		for i := range b.N {
			if !fast.parse(lines[i%len(lines)], &rec) {
				ParseLine(lines[i%len(lines)])
			}
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "lines/s")
	})
}
