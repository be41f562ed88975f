package ingest

import (
	"bufio"
	"bytes"
	"compress/bzip2"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"

	"github.com/klauspost/compress/gzip" // about twice the stdlib's decompression speed
	"github.com/klauspost/compress/zstd"

	"github.com/starling-analytics/starling/sample-data/generator"
)

// maxLine bounds one line; longer lines are rejected, not buffered without limit.
const maxLine = 4 << 20

// generatorSource names the generator where a file name is expected (checkpoints, logs).
const generatorSource = "generator:"

// readFile calls fn for each non-blank line of the file after line from.
func (in *Ingester) readFile(ctx context.Context, name string, from int, fn func(lineNo int, line []byte) error) error {
	if name == generatorSource {
		return in.readGenerated(ctx, from, fn)
	}
	f, err := os.Open(name)
	if err != nil {
		return fmt.Errorf("ingest: %w", err)
	}
	defer f.Close()
	r, closeR, err := decompress(bufio.NewReaderSize(&countingReader{r: f, in: in}, 1<<20))
	if err != nil {
		return fmt.Errorf("ingest: %s: %w", name, err)
	}
	defer closeR()
	lr := bufio.NewReaderSize(r, 1<<20)
	var long []byte
	for lineNo := 1; ; lineNo++ {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		line, err := lr.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) { // a line longer than the buffer: gather it, up to maxLine
			long = append(long[:0], line...)
			for errors.Is(err, bufio.ErrBufferFull) && len(long) <= maxLine {
				line, err = lr.ReadSlice('\n')
				long = append(long, line...)
			}
			line = long
		}
		if len(line) > maxLine {
			in.mu.Lock()
			in.stats.Rejected["line too long"]++
			in.mu.Unlock()
			in.log.Warn("rejected line", "file", name, "line", lineNo, "reason", "line too long", "bytes", len(line))
			for errors.Is(err, bufio.ErrBufferFull) { // skip the rest of it
				_, err = lr.ReadSlice('\n')
			}
		} else if trimmed := bytes.TrimSpace(line); len(trimmed) > 0 && lineNo > from {
			in.mu.Lock()
			in.stats.Lines++
			in.mu.Unlock()
			if ferr := fn(lineNo, trimmed); ferr != nil {
				return ferr
			}
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			// A truncated gzip stream still yields its good lines; report the damage.
			in.log.Warn("input ended with an error", "file", name, "line", lineNo, "err", err)
			in.mu.Lock()
			in.stats.Rejected["damaged file"]++
			in.mu.Unlock()
			return nil
		}
	}
}

// expand resolves globs into a sorted, de-duplicated file list.
func expand(patterns []string) ([]string, error) {
	var files []string
	seen := map[string]bool{}
	for _, p := range patterns {
		matches, err := filepath.Glob(p)
		if err != nil {
			return nil, fmt.Errorf("ingest: pattern %q: %w", p, err)
		}
		if len(matches) == 0 {
			return nil, fmt.Errorf("ingest: no file matches %q", p)
		}
		sort.Strings(matches)
		for _, m := range matches {
			found := []string{m}
			if st, err := os.Stat(m); err == nil && st.IsDir() {
				if found, err = filesBelow(m); err != nil {
					return nil, fmt.Errorf("ingest: %w", err)
				}
			}
			for _, f := range found {
				if !seen[f] {
					seen[f] = true
					files = append(files, f)
				}
			}
		}
	}
	if len(files) == 0 {
		return nil, errors.New("ingest: the inputs name no files")
	}
	return files, nil
}

// filesBelow lists the regular files under dir, in name order, skipping hidden ones (such
// as a checkpoint file kept beside an archive).
func filesBelow(dir string) ([]string, error) {
	var files []string
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if path != dir && len(d.Name()) > 0 && d.Name()[0] == '.' {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if d.Type().IsRegular() {
			files = append(files, path)
		}
		return nil
	})
	return files, err
}

// decompress returns a reader of r's content, decompressed when it starts with the magic
// bytes of gzip, bzip2 or zstd, and a function releasing the decoder.
func decompress(r *bufio.Reader) (io.Reader, func(), error) {
	magic, _ := r.Peek(4)
	switch {
	case len(magic) >= 2 && magic[0] == 0x1f && magic[1] == 0x8b:
		zr, err := gzip.NewReader(r)
		if err != nil {
			return nil, nil, fmt.Errorf("gzip: %w", err)
		}
		return zr, func() { zr.Close() }, nil
	case len(magic) >= 3 && string(magic[:3]) == "BZh":
		return bzip2.NewReader(r), func() {}, nil
	case len(magic) == 4 && string(magic) == "\x28\xb5\x2f\xfd":
		zr, err := zstd.NewReader(r, zstd.WithDecoderConcurrency(1))
		if err != nil {
			return nil, nil, fmt.Errorf("zstd: %w", err)
		}
		return zr, zr.Close, nil
	}
	return r, func() {}, nil
}

// readGenerated calls fn for each of Generate tweets of the sample-data generator after
// line from.
func (in *Ingester) readGenerated(ctx context.Context, from int, fn func(lineNo int, line []byte) error) error {
	g := generator.New(generator.Config{Count: in.cfg.Generate})
	for lineNo := 1; ; lineNo++ {
		if lineNo%1024 == 0 && ctx.Err() != nil {
			return ctx.Err()
		}
		line, ok := g.NextJSON()
		if !ok {
			return nil
		}
		if lineNo <= from {
			continue
		}
		in.mu.Lock()
		in.stats.Lines++
		in.mu.Unlock()
		if err := fn(lineNo, line); err != nil {
			return err
		}
	}
}

// countingReader adds the bytes read to the ingester's BytesRead.
type countingReader struct {
	r  io.Reader
	in *Ingester
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.in.mu.Lock()
	c.in.stats.BytesRead += int64(n)
	c.in.stats.PassBytesRead += int64(n)
	c.in.mu.Unlock()
	return n, err
}
