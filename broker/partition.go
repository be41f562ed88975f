package broker

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/starling-analytics/starling/internal/recordbatch"
)

// ErrOffsetOutOfRange is returned by reads below the log start or past the end of the log.
var ErrOffsetOutOfRange = errors.New("offset out of range")

// ErrStorage wraps every I/O failure of a partition log; produce answers KAFKA_STORAGE_ERROR.
var ErrStorage = errors.New("storage error")

// indexEntry locates one record batch inside a segment file.
type indexEntry struct {
	base  int64 // first offset of the batch
	last  int64 // last offset of the batch
	pos   int64 // byte position in the segment file
	size  int32 // bytes of the whole batch
	maxTS int64 // largest record timestamp in the batch (ms)
}

// segment is one file of a partition log, named after its first offset.
type segment struct {
	base int64
	last int64 // offset of the segment's last record; base-1 while it is empty
	f    *os.File
	size int64
	// index locates batches: one entry per batch in the active segment, a sparse one
	// (segment_index.go) in closed segments.
	index   []indexEntry
	sparse  bool
	maxTS   int64     // largest timestamp in the segment (retention by time)
	created time.Time // when the segment was opened for writing (roll by age)
}

func segmentName(base int64) string { return fmt.Sprintf("%020d.log", base) }

// partitionLog is an append-only log of record batches kept in segment files under dir.
// Batches are stored exactly as produced, with only their base offset rewritten.
type partitionLog struct {
	dir    string
	logger *slog.Logger

	mu       sync.RWMutex
	segments []*segment    // ordered by base offset; the last one is active
	logStart int64         // earliest offset still readable
	next     int64         // offset the next record gets (the high watermark on one node)
	dirty    bool          // bytes written since the last fsync
	notify   chan struct{} // closed and replaced on every append, for long-polling fetches
	failed   error         // set after a write failure that could not be undone; appends refuse
	// producers holds the recent sequence numbers of idempotent producers (producers.go).
	producers map[int64]*producerState
}

// ErrOutOfOrderSequence refuses a batch whose sequence number leaves a gap after the
// producer's last batch, or that comes from an older producer epoch.
var ErrOutOfOrderSequence = errors.New("out of order sequence number")

// openPartitionLog opens (or creates) the log in dir and recovers its tail: a torn or
// corrupt last batch, as left by a crash mid-write, is truncated away.
func openPartitionLog(dir string, logger *slog.Logger) (*partitionLog, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("%w: create partition dir: %w", ErrStorage, err)
	}
	p := &partitionLog{dir: dir, logger: logger, notify: make(chan struct{}), producers: make(map[int64]*producerState)}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("%w: read partition dir: %w", ErrStorage, err)
	}
	var bases []int64
	for _, e := range entries {
		name, ok := strings.CutSuffix(e.Name(), ".log")
		if !ok {
			continue
		}
		base, err := strconv.ParseInt(name, 10, 64)
		if err != nil {
			continue
		}
		bases = append(bases, base)
	}
	sort.Slice(bases, func(i, j int) bool { return bases[i] < bases[j] })
	for i, base := range bases {
		last := i == len(bases)-1
		s, err := p.loadSegment(base, last)
		if err != nil {
			p.closeFiles()
			return nil, err
		}
		p.segments = append(p.segments, s)
	}
	if len(p.segments) == 0 {
		s, err := p.createSegment(0)
		if err != nil {
			return nil, err
		}
		p.segments = append(p.segments, s)
	}
	p.logStart = p.segments[0].base
	for _, seg := range p.segments {
		p.next = max(p.next, seg.base, seg.last+1)
	}
	return p, nil
}

// loadSegment opens a segment file. A closed segment is described by its index file when
// that is whole and matches the log; otherwise, and for the active (last) segment, the log
// is scanned batch by batch. In the active segment every batch's CRC is checked and the
// file is truncated at the first bad byte: that is where a crash mid-write leaves damage.
func (p *partitionLog) loadSegment(base int64, active bool) (*segment, error) {
	path := filepath.Join(p.dir, segmentName(base))
	f, err := os.OpenFile(path, os.O_RDWR, 0o644)
	if err != nil {
		return nil, fmt.Errorf("%w: open segment: %w", ErrStorage, err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("%w: stat segment: %w", ErrStorage, err)
	}
	s := &segment{base: base, last: base - 1, f: f, created: st.ModTime()}
	fileSize := st.Size()
	if !active {
		if entries, last, maxTS, err := readIndex(p.dir, base, fileSize); err == nil {
			s.index, s.last, s.maxTS, s.size, s.sparse = entries, last, maxTS, fileSize, true
			return s, nil
		} else if !errors.Is(err, os.ErrNotExist) {
			p.logger.Warn("rebuilding segment index", "segment", path, "reason", err)
		}
	}
	hdr := make([]byte, recordbatch.HeaderSize)
	var body []byte
	pos := int64(0)
	for pos < fileSize {
		if _, err := f.ReadAt(hdr, pos); err != nil {
			break // a torn header at the tail
		}
		h, err := recordbatch.ParseHeader(hdr)
		if err != nil || pos+int64(h.Size()) > fileSize {
			break
		}
		if active {
			if cap(body) < h.Size() {
				body = make([]byte, h.Size())
			}
			body = body[:h.Size()]
			if _, err := f.ReadAt(body, pos); err != nil {
				break
			}
			if recordbatch.Checksum(body) != h.CRC {
				break
			}
		}
		s.index = append(s.index, indexEntry{base: h.BaseOffset, last: h.LastOffset(), pos: pos, size: int32(h.Size()), maxTS: h.MaxTimestamp})
		recordProducerBatch(p.producers, &h, h.BaseOffset)
		s.maxTS = max(s.maxTS, h.MaxTimestamp)
		s.last = h.LastOffset()
		pos += int64(h.Size())
	}
	if pos < fileSize {
		p.logger.Warn("truncating damaged log tail", "segment", path, "valid_bytes", pos, "file_bytes", fileSize)
		if err := f.Truncate(pos); err != nil {
			f.Close()
			return nil, fmt.Errorf("%w: truncate damaged tail: %w", ErrStorage, err)
		}
		if err := f.Sync(); err != nil {
			f.Close()
			return nil, fmt.Errorf("%w: sync after truncation: %w", ErrStorage, err)
		}
	}
	s.size = pos
	if !active {
		s.index, s.sparse = sparse(s.index), true
		if err := writeIndex(p.dir, s); err != nil {
			p.logger.Warn("cannot write segment index; it is rebuilt at the next start", "segment", path, "err", err)
		}
	}
	if _, err := f.Seek(pos, io.SeekStart); err != nil {
		f.Close()
		return nil, fmt.Errorf("%w: seek segment end: %w", ErrStorage, err)
	}
	return s, nil
}

func (p *partitionLog) createSegment(base int64) (*segment, error) {
	path := filepath.Join(p.dir, segmentName(base))
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return nil, fmt.Errorf("%w: create segment: %w", ErrStorage, err)
	}
	if err := syncDir(p.dir); err != nil {
		f.Close()
		return nil, err
	}
	return &segment{base: base, last: base - 1, f: f, created: time.Now()}, nil
}

// appendOpts are the roll and durability settings an append follows.
type appendOpts struct {
	segmentBytes int64
	segmentAge   time.Duration
	sync         bool // fsync before returning
	now          time.Time
}

// append assigns offsets to the validated batches in b (rewriting their base offsets in
// place) and writes them to the active segment. It returns the first offset assigned. A
// batch an idempotent producer already appended is not written again: its original offset
// is returned.
func (p *partitionLog) append(b []byte, hs []recordbatch.Header, o appendOpts) (int64, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.failed != nil {
		return 0, p.failed
	}
	for i := range hs {
		if hs[i].ProducerID < 0 {
			continue
		}
		switch res, orig := p.producers[hs[i].ProducerID].check(&hs[i]); res {
		case seqDuplicate:
			if i == 0 {
				return orig, nil
			}
			return 0, fmt.Errorf("%w: a retried batch after a new one in one request", ErrOutOfOrderSequence)
		case seqOutOfOrder:
			return 0, fmt.Errorf("%w: producer %d epoch %d sequence %d", ErrOutOfOrderSequence, hs[i].ProducerID, hs[i].ProducerEpoch, hs[i].BaseSequence)
		}
	}
	act := p.segments[len(p.segments)-1]
	if act.size > 0 && (act.size+int64(len(b)) > o.segmentBytes || (o.segmentAge > 0 && o.now.Sub(act.created) >= o.segmentAge)) {
		if err := p.roll(); err != nil {
			return 0, err
		}
		act = p.segments[len(p.segments)-1]
	}
	first := p.next
	next := p.next
	pos := 0
	entries := make([]indexEntry, 0, len(hs))
	for _, h := range hs {
		setBaseOffset(b[pos:], next)
		last := next + int64(h.LastOffsetDelta)
		entries = append(entries, indexEntry{base: next, last: last, pos: act.size + int64(pos), size: int32(h.Size()), maxTS: h.MaxTimestamp})
		next = last + 1
		pos += h.Size()
	}
	if _, err := act.f.Write(b); err != nil {
		// Undo a partial write so the log stays a sequence of whole batches.
		if terr := act.f.Truncate(act.size); terr != nil {
			p.failed = fmt.Errorf("%w: write failed (%w) and could not be undone: %w", ErrStorage, err, terr)
			return 0, p.failed
		}
		if _, serr := act.f.Seek(act.size, io.SeekStart); serr != nil {
			p.failed = fmt.Errorf("%w: seek after failed write: %w", ErrStorage, serr)
			return 0, p.failed
		}
		return 0, fmt.Errorf("%w: append: %w", ErrStorage, err)
	}
	if o.sync {
		if err := act.f.Sync(); err != nil {
			p.failed = fmt.Errorf("%w: fsync: %w", ErrStorage, err)
			return 0, p.failed
		}
	} else {
		p.dirty = true
	}
	act.size += int64(len(b))
	act.last = next - 1
	act.index = append(act.index, entries...)
	for i, e := range entries {
		act.maxTS = max(act.maxTS, e.maxTS)
		recordProducerBatch(p.producers, &hs[i], e.base)
	}
	p.next = next
	close(p.notify)
	p.notify = make(chan struct{})
	return first, nil
}

// roll closes the active segment for writing and starts a new one. Caller holds mu.
func (p *partitionLog) roll() error {
	act := p.segments[len(p.segments)-1]
	if err := act.f.Sync(); err != nil {
		return fmt.Errorf("%w: sync rolled segment: %w", ErrStorage, err)
	}
	act.index, act.sparse = sparse(act.index), true
	if err := writeIndex(p.dir, act); err != nil {
		p.logger.Warn("cannot write segment index; it is rebuilt at the next start", "segment", segmentName(act.base), "err", err)
	}
	s, err := p.createSegment(p.next)
	if err != nil {
		return err
	}
	p.segments = append(p.segments, s)
	return nil
}

// read returns whole batches starting with the one that holds offset, up to maxBytes
// (but always at least one batch, so a consumer can make progress past a large batch).
// Reading at the end of the log returns no bytes.
func (p *partitionLog) read(offset int64, maxBytes int) ([]byte, error) {
	p.mu.RLock()
	defer p.mu.RUnlock()
	if offset < p.logStart || offset > p.next {
		return nil, ErrOffsetOutOfRange
	}
	if offset == p.next {
		return nil, nil
	}
	si := max(sort.Search(len(p.segments), func(i int) bool { return p.segments[i].base > offset })-1, 0)
	for ; si < len(p.segments); si++ {
		s := p.segments[si]
		if s.last < offset {
			continue // offset falls after this segment's last record
		}
		ei := sort.Search(len(s.index), func(i int) bool { return s.index[i].base > offset }) - 1
		pos := int64(0)
		if ei >= 0 {
			pos = s.index[ei].pos
		}
		return s.readFrom(pos, offset, maxBytes)
	}
	return nil, nil
}

// readFrom scans the segment's batches from pos, a batch boundary at or before offset, and
// returns whole batches starting with the one that holds offset.
func (s *segment) readFrom(pos, offset int64, maxBytes int) ([]byte, error) {
	for pos < s.size {
		buf := make([]byte, min(s.size-pos, int64(maxBytes)+indexInterval))
		if _, err := s.f.ReadAt(buf, pos); err != nil {
			return nil, fmt.Errorf("%w: read segment %d: %w", ErrStorage, s.base, err)
		}
		start, n := 0, 0 // the first wanted batch and its size
		for {
			h, err := recordbatch.ParseHeader(buf[start:])
			if err != nil {
				if start == 0 {
					return nil, fmt.Errorf("%w: segment %d at %d: %w", ErrStorage, s.base, pos, err)
				}
				break // the next header runs past the buffer: read on from it
			}
			if h.LastOffset() >= offset {
				n = h.Size()
				break
			}
			start += h.Size()
			if start >= len(buf) {
				break
			}
		}
		if n == 0 {
			pos += int64(start)
			continue
		}
		if start+n > len(buf) { // a batch larger than the buffer: return it alone
			out := make([]byte, n)
			if _, err := s.f.ReadAt(out, pos+int64(start)); err != nil {
				return nil, fmt.Errorf("%w: read segment %d: %w", ErrStorage, s.base, err)
			}
			return out, nil
		}
		end := start + n
		for end < len(buf) {
			h, err := recordbatch.ParseHeader(buf[end:])
			if err != nil || end+h.Size() > len(buf) || end+h.Size()-start > maxBytes {
				break
			}
			end += h.Size()
		}
		return buf[start:end], nil
	}
	return nil, nil
}

// offsets returns the log start offset and the high watermark.
func (p *partitionLog) offsets() (start, end int64) {
	p.mu.RLock()
	defer p.mu.RUnlock()
	return p.logStart, p.next
}

// waitChan returns a channel closed at the next append, and the high watermark it refers to.
func (p *partitionLog) waitChan() (<-chan struct{}, int64) {
	p.mu.RLock()
	defer p.mu.RUnlock()
	return p.notify, p.next
}

// offsetForTime returns the first offset of the first batch whose largest timestamp is at
// or after ts (in a closed segment, the start of the index interval that holds that batch,
// so possibly a little earlier), or the high watermark when there is none.
func (p *partitionLog) offsetForTime(ts int64) int64 {
	p.mu.RLock()
	defer p.mu.RUnlock()
	for _, s := range p.segments {
		if s.maxTS < ts || s.last < s.base {
			continue
		}
		for _, e := range s.index {
			if e.maxTS >= ts { // sparse entries carry the largest timestamp of their interval
				return max(e.base, p.logStart)
			}
		}
	}
	return p.next
}

// size is the number of bytes the log holds on disk.
func (p *partitionLog) size() int64 {
	p.mu.RLock()
	defer p.mu.RUnlock()
	var n int64
	for _, s := range p.segments {
		n += s.size
	}
	return n
}

// flush fsyncs the active segment if anything was written since the last flush. The fsync
// runs outside the lock, so producers are not held up for the disk's flush time (which
// would otherwise show as a latency spike every FlushInterval).
func (p *partitionLog) flush() error {
	p.mu.Lock()
	if !p.dirty {
		p.mu.Unlock()
		return nil
	}
	f := p.segments[len(p.segments)-1].f
	p.dirty = false
	p.mu.Unlock()
	if err := f.Sync(); err != nil {
		if errors.Is(err, os.ErrClosed) {
			return nil // closed meanwhile: close syncs the active segment itself
		}
		p.mu.Lock()
		p.dirty = true
		p.mu.Unlock()
		return fmt.Errorf("%w: fsync: %w", ErrStorage, err)
	}
	return nil
}

// enforceRetention deletes whole non-active segments that are older than retention
// (by their largest timestamp) or that push the log over retentionBytes. Zero or negative
// limits mean unlimited. It returns the number of segments deleted.
func (p *partitionLog) enforceRetention(now time.Time, retention time.Duration, retentionBytes int64) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	var total int64
	for _, s := range p.segments {
		total += s.size
	}
	deleted := 0
	for len(p.segments) > 1 {
		s := p.segments[0]
		expired := retention > 0 && s.last >= s.base && now.UnixMilli()-s.maxTS > retention.Milliseconds()
		oversize := retentionBytes > 0 && total-s.size >= retentionBytes
		if !expired && !oversize {
			break
		}
		s.f.Close()
		if err := os.Remove(filepath.Join(p.dir, segmentName(s.base))); err != nil && !errors.Is(err, os.ErrNotExist) {
			return deleted, fmt.Errorf("%w: delete segment: %w", ErrStorage, err)
		}
		os.Remove(filepath.Join(p.dir, indexName(s.base))) // rebuilt if it were ever needed
		total -= s.size
		p.segments = p.segments[1:]
		p.logStart = p.segments[0].base
		deleted++
	}
	return deleted, nil
}

// close flushes and closes every segment file.
func (p *partitionLog) close() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	// Always sync: a flush may have cleared dirty and still be fsyncing outside the lock.
	err := p.segments[len(p.segments)-1].f.Sync()
	p.dirty = false
	p.closeFiles()
	return err
}

func (p *partitionLog) closeFiles() {
	for _, s := range p.segments {
		s.f.Close()
	}
}

// syncDir fsyncs a directory so that file creations and renames in it are durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("%w: open dir for sync: %w", ErrStorage, err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("%w: sync dir: %w", ErrStorage, err)
	}
	return nil
}

// setBaseOffset rewrites the baseOffset field of the batch at the start of b.
func setBaseOffset(b []byte, offset int64) {
	binary.BigEndian.PutUint64(b[0:], uint64(offset))
}
