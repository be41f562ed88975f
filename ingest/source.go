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
	"sync"
	"sync/atomic"

	"github.com/klauspost/compress/gzip" // about twice the stdlib's decompression speed
	"github.com/klauspost/compress/zstd"

	"github.com/starling-analytics/starling/sample-data/generator"
)

// A Source is one input of a replay: lines of JSON in any of the formats the ingester
// reads (Parse), numbered from 1 so that a checkpoint can say where a replay stopped.
// Files, the sample-data generator and Twitter's live stream are sources; a program that
// embeds the ingester can give its own (Config.Sources).
//
// The ingester calls Open, then Read until it returns an error, then Close; with
// Config.Loop, it does so again for every pass. A Read error other than io.EOF and the
// context's is damage (a truncated archive): the ingester reports it and goes on with the
// next source.
type Source interface {
	// Name names the source in checkpoints, logs and dead-letter headers: a file's path,
	// "generator:", "stream:". Names are unique among a replay's sources.
	Name() string
	// Open prepares reading after line from (0: from the first line).
	Open(ctx context.Context, from int) error
	// Read returns the next lines, as many as are ready, and once the source can give no
	// more, an error: io.EOF at its end. Lines returned beside an error were read before
	// it. A live source blocks until a line arrives or ctx ends. The lines' bytes are the
	// caller's to keep.
	Read(ctx context.Context) ([]Line, error)
	// Close releases what Open took.
	Close() error
}

// Line is one line of a source.
type Line struct {
	No   int    // the line's number in its source, from 1
	Data []byte // the line without the white space around it; never empty
	// Err says the line could not be read whole (longer than the ingester takes): it is
	// counted as rejected and skipped, and Data is nil.
	Err error

	// batch is the buffer Data is in when a file source took it from readBufs: the
	// ingester gives it back once the lines are parsed.
	batch *[]byte
}

// readBufs holds the buffers of file sources' batches of lines (readBytes and a line
// more): a replay reads a batch every megabyte, and a new buffer each time was the
// ingester's largest allocation, zeroed before use, about 7% of its CPU.
var readBufs = sync.Pool{New: func() any {
	b := make([]byte, 0, readBytes+64<<10)
	return &b
}}

// recycle gives back the buffer of a batch of lines, whose bytes nothing reads again.
func recycle(lines []Line) {
	if len(lines) > 0 && lines[0].batch != nil {
		*lines[0].batch = (*lines[0].batch)[:0]
		readBufs.Put(lines[0].batch)
	}
}

// A measuredSource knows its size, so that progress can say how far a replay is.
type measuredSource interface {
	// Size is the bytes the source holds as stored (compressed).
	Size() int64
	// BytesRead is how many of them the source has read since it was opened.
	BytesRead() int64
}

// Lines are handed on in batches of at most readLines lines or readBytes bytes.
const (
	readLines = 512
	readBytes = 1 << 20
)

// maxLine bounds one line; longer lines are rejected, not buffered without limit.
const maxLine = 4 << 20

// fileSource reads a file, plain or compressed with gzip, bzip2 or zstd (detected by its
// magic bytes), a line at a time.
type fileSource struct {
	path string

	f      *os.File
	read   atomic.Int64 // bytes read from the file
	closeR func()
	lr     *bufio.Reader
	lineNo int
	from   int
	long   []byte // a line longer than lr's buffer, gathered
}

// FileSource returns the source of one file.
func FileSource(path string) Source { return &fileSource{path: path} }

func (s *fileSource) Name() string { return s.path }

func (s *fileSource) Size() int64 {
	st, err := os.Stat(s.path)
	if err != nil {
		return 0
	}
	return st.Size()
}

func (s *fileSource) BytesRead() int64 { return s.read.Load() }

func (s *fileSource) Open(_ context.Context, from int) error {
	f, err := os.Open(s.path)
	if err != nil {
		return err
	}
	s.read.Store(0)
	r, closeR, err := decompress(bufio.NewReaderSize(&countingReader{r: f, n: &s.read}, 1<<20))
	if err != nil {
		f.Close()
		return fmt.Errorf("%s: %w", s.path, err)
	}
	s.f, s.closeR, s.lr, s.lineNo, s.from = f, closeR, bufio.NewReaderSize(r, 1<<20), 0, from
	return nil
}

func (s *fileSource) Read(ctx context.Context) ([]Line, error) {
	if s.lr == nil {
		return nil, io.EOF
	}
	var buf *[]byte // the batch's bytes, back to back, in a buffer of readBufs
	lines := make([]Line, 0, readLines)
	for len(lines) < readLines && (buf == nil || len(*buf) < readBytes) {
		if len(lines)%64 == 0 && ctx.Err() != nil {
			return nil, ctx.Err()
		}
		line, err := s.lr.ReadSlice('\n')
		s.lineNo++
		if errors.Is(err, bufio.ErrBufferFull) { // longer than the buffer: gather it, up to maxLine
			s.long = append(s.long[:0], line...)
			for errors.Is(err, bufio.ErrBufferFull) && len(s.long) <= maxLine {
				line, err = s.lr.ReadSlice('\n')
				s.long = append(s.long, line...)
			}
			line = s.long
		}
		if len(line) > maxLine {
			for errors.Is(err, bufio.ErrBufferFull) { // skip the rest of it
				_, err = s.lr.ReadSlice('\n')
			}
			if s.lineNo > s.from {
				lines = append(lines, Line{No: s.lineNo, Err: fmt.Errorf("%w: more than %d bytes", ErrLineTooLong, maxLine)})
			}
		} else if trimmed := bytes.TrimSpace(line); len(trimmed) > 0 && s.lineNo > s.from {
			if buf == nil {
				// Room for the batch at once (it ends past readBytes by its last line):
				// grown from small, the bytes were copied again at every doubling.
				buf = readBufs.Get().(*[]byte)
			}
			if len(*buf)+len(trimmed) > cap(*buf) {
				// A line that does not fit (a long one) goes in memory of its own: the
				// buffer's lines keep pointing into it.
				lines = append(lines, Line{No: s.lineNo, Data: bytes.Clone(trimmed), batch: buf})
			} else {
				start := len(*buf)
				*buf = append(*buf, trimmed...)
				lines = append(lines, Line{No: s.lineNo, Data: (*buf)[start:len(*buf):len(*buf)], batch: buf})
			}
		}
		if err != nil {
			s.lr = nil // the next Read says io.EOF
			if err == io.EOF {
				if len(lines) > 0 {
					return lines, nil
				}
				return nil, io.EOF
			}
			return lines, fmt.Errorf("%s, line %d: %w", s.path, s.lineNo, err)
		}
	}
	return lines, nil
}

func (s *fileSource) Close() error {
	if s.f == nil {
		return nil
	}
	s.closeR()
	err := s.f.Close()
	s.f, s.lr, s.long = nil, nil, nil
	return err
}

// countingReader counts the bytes read through it.
type countingReader struct {
	r io.Reader
	n *atomic.Int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n.Add(int64(n))
	return n, err
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

// generatorSource replays tweets of the sample-data generator, seeded as the committed
// sample feed is.
type generatorSource struct {
	count  int
	g      *generator.Generator
	lineNo int
}

// GeneratorSource returns the source of count generated tweets, one a line.
func GeneratorSource(count int) Source { return &generatorSource{count: count} }

func (s *generatorSource) Name() string { return "generator:" }

func (s *generatorSource) Open(_ context.Context, from int) error {
	s.g, s.lineNo = generator.New(generator.Config{Count: s.count}), 0
	for ; s.lineNo < from; s.lineNo++ {
		if _, ok := s.g.Next(); !ok {
			break
		}
	}
	return nil
}

func (s *generatorSource) Read(ctx context.Context) ([]Line, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var lines []Line
	for len(lines) < readLines {
		line, ok := s.g.NextJSON()
		if !ok {
			break
		}
		s.lineNo++
		lines = append(lines, Line{No: s.lineNo, Data: line})
	}
	if len(lines) == 0 {
		return nil, io.EOF
	}
	return lines, nil
}

func (s *generatorSource) Close() error { return nil }

// fileSources resolves files, directories (every file below, in name order, hidden ones
// left out) and glob patterns into the sources of the files, sorted and de-duplicated.
func fileSources(patterns []string) ([]Source, error) {
	files, err := expand(patterns)
	if err != nil {
		return nil, err
	}
	sources := make([]Source, len(files))
	for i, f := range files {
		sources[i] = FileSource(f)
	}
	return sources, nil
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
