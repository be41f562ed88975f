package ingest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/klauspost/compress/gzip"
)

// readAll opens src after line from and reads it to its end.
func readAll(t *testing.T, src Source, from int) ([]Line, error) {
	t.Helper()
	if err := src.Open(context.Background(), from); err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	var all []Line
	for {
		lines, err := src.Read(context.Background())
		for _, l := range lines {
			all = append(all, Line{No: l.No, Data: bytes.Clone(l.Data), Err: l.Err})
		}
		if err != nil {
			if errors.Is(err, io.EOF) {
				err = nil
			}
			return all, err
		}
	}
}

// TestFileSource checks the contract on a file: lines numbered as the file numbers them,
// blank lines left out, a resumed read after line from, a line too long said as such, the
// bytes read counted up to the file's size, and a second pass after Close.
func TestFileSource(t *testing.T) {
	var b strings.Builder
	for i := 1; i <= 1500; i++ {
		switch {
		case i == 7:
			b.WriteString("   \n") // blank
		case i == 1000:
			b.WriteString(strings.Repeat("x", maxLine+10) + "\n")
		default:
			fmt.Fprintf(&b, "  {\"n\":%d}\n", i)
		}
	}
	path := filepath.Join(t.TempDir(), "feed.jsonl")
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	src := FileSource(path)
	for pass := range 2 {
		lines, err := readAll(t, src, 0)
		if err != nil {
			t.Fatal(err)
		}
		if len(lines) != 1499 {
			t.Fatalf("pass %d: %d lines, want 1499 (one blank)", pass, len(lines))
		}
		for _, l := range lines {
			switch {
			case l.No == 1000:
				if !errors.Is(l.Err, ErrLineTooLong) || l.Data != nil {
					t.Errorf("line 1000: %v, %d bytes", l.Err, len(l.Data))
				}
			case string(l.Data) != fmt.Sprintf(`{"n":%d}`, l.No) || l.Err != nil:
				t.Errorf("line %d: %q, %v", l.No, l.Data, l.Err)
			}
		}
		m := src.(measuredSource)
		if m.BytesRead() != m.Size() || m.Size() != int64(b.Len()) {
			t.Errorf("pass %d: read %d bytes of %d (file %d)", pass, m.BytesRead(), m.Size(), b.Len())
		}
	}
	lines, err := readAll(t, src, 1200)
	if err != nil || len(lines) != 300 || lines[0].No != 1201 {
		t.Errorf("after line 1200: %d lines from %v, %v", len(lines), lines[0].No, err)
	}
}

// TestFileSourceDamaged checks that a truncated gzip archive gives its good lines, then an
// error that is neither io.EOF nor the context's.
func TestFileSourceDamaged(t *testing.T) {
	var raw bytes.Buffer
	zw := gzip.NewWriter(&raw)
	for i := 1; i <= 20000; i++ {
		fmt.Fprintf(zw, "{\"n\":%d,\"pad\":\"%x\"}\n", i, i*7919)
	}
	zw.Close()
	path := filepath.Join(t.TempDir(), "feed.jsonl.gz")
	if err := os.WriteFile(path, raw.Bytes()[:raw.Len()/2], 0o644); err != nil {
		t.Fatal(err)
	}
	lines, err := readAll(t, FileSource(path), 0)
	if err == nil || len(lines) == 0 || len(lines) >= 20000 {
		t.Fatalf("%d lines, err %v; want some lines and an error", len(lines), err)
	}
	for i, l := range lines {
		if l.No != i+1 || !bytes.HasPrefix(l.Data, fmt.Appendf(nil, `{"n":%d,`, i+1)) {
			t.Fatalf("line %d: %d %q", i, l.No, l.Data)
		}
	}
}

// TestGeneratorSourceResumes checks the generator source's count and a resumed read.
func TestGeneratorSourceResumes(t *testing.T) {
	all, err := readAll(t, GeneratorSource(1300), 0)
	if err != nil || len(all) != 1300 || all[0].No != 1 || all[1299].No != 1300 {
		t.Fatalf("%d lines, %v", len(all), err)
	}
	rest, err := readAll(t, GeneratorSource(1300), 1000)
	if err != nil || len(rest) != 300 || rest[0].No != 1001 || !bytes.Equal(rest[0].Data, all[1000].Data) {
		t.Fatalf("after line 1000: %d lines, %v", len(rest), err)
	}
}

// memorySource is a Source of its own: what a program embedding the ingester brings.
type memorySource struct {
	name   string
	lines  []string
	at     int
	opened int
}

func (s *memorySource) Name() string { return s.name }
func (s *memorySource) Open(_ context.Context, from int) error {
	s.at, s.opened = from, s.opened+1
	return nil
}
func (s *memorySource) Read(context.Context) ([]Line, error) {
	if s.at >= len(s.lines) {
		return nil, io.EOF
	}
	s.at++
	return []Line{{No: s.at, Data: []byte(s.lines[s.at-1])}}, nil
}
func (s *memorySource) Close() error { return nil }

// TestConfigSources replays sources of its own (a dry run): every line is read, the
// tweets among them parsed and the others rejected, and a checkpoint names the source.
func TestConfigSources(t *testing.T) {
	tweetLine := func(id int) string {
		return fmt.Sprintf(`{"id_str":"%d","created_at":"Sat Mar 14 10:00:00 +0000 2026","text":"hello","user":{"id_str":"1","screen_name":"a"}}`, id)
	}
	a := &memorySource{name: "mem:a", lines: []string{tweetLine(1), "not json", tweetLine(2)}}
	b := &memorySource{name: "mem:b", lines: []string{tweetLine(3)}}
	in, err := New(Config{Sources: []Source{a, b}, DryRun: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := in.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	s := in.Stats()
	if s.Lines != 4 || s.Valid != 3 || s.Rejected["invalid json"] != 1 || a.opened != 1 || b.opened != 1 {
		t.Errorf("stats %+v, opened %d and %d", s, a.opened, b.opened)
	}
	if _, err := New(Config{Sources: []Source{a, &memorySource{name: "mem:a"}}}); err == nil {
		t.Error("two sources of one name accepted")
	}
	if _, err := New(Config{Sources: []Source{a}, Generate: 10}); err == nil {
		t.Error("sources and the generator accepted together")
	}
}
