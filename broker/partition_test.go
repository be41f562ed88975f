package broker

import (
	"encoding/binary"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/starling-analytics/starling/internal/recordbatch"
)

// makeBatch builds a valid v2 record batch header-and-body of n records (the records' bytes
// are opaque to the log) with the given max timestamp.
func makeBatch(n int, maxTS int64, payload int) []byte {
	b := make([]byte, recordbatch.HeaderSize+payload)
	binary.BigEndian.PutUint32(b[recordbatch.OffBatchLength:], uint32(len(b)-recordbatch.LengthOverhead))
	b[recordbatch.OffMagic] = 2
	binary.BigEndian.PutUint32(b[recordbatch.OffLastOffsetDelta:], uint32(n-1))
	binary.BigEndian.PutUint64(b[recordbatch.OffBaseTimestamp:], uint64(maxTS))
	binary.BigEndian.PutUint64(b[recordbatch.OffMaxTimestamp:], uint64(maxTS))
	binary.BigEndian.PutUint64(b[recordbatch.OffProducerID:], ^uint64(0))
	binary.BigEndian.PutUint32(b[recordbatch.OffRecordCount:], uint32(n))
	for i := recordbatch.HeaderSize; i < len(b); i++ {
		b[i] = byte(i)
	}
	binary.BigEndian.PutUint32(b[recordbatch.OffCRC:], recordbatch.Checksum(b))
	return b
}

func appendBatch(t *testing.T, p *partitionLog, b []byte, o appendOpts) int64 {
	t.Helper()
	hs, err := recordbatch.Split(b)
	if err != nil {
		t.Fatal(err)
	}
	off, err := p.append(b, hs, o)
	if err != nil {
		t.Fatal(err)
	}
	return off
}

var quiet = slog.New(slog.DiscardHandler)

// TestTornTailIsTruncated crafts the damage a crash leaves (a half-written batch, then a
// batch with a bad CRC) and checks that reopening keeps exactly the whole batches.
func TestTornTailIsTruncated(t *testing.T) {
	t.Parallel()
	for name, damage := range map[string]func(f *os.File, good int64){
		"half a batch": func(f *os.File, good int64) {
			f.WriteAt(makeBatch(3, 1, 100)[:80], good)
		},
		"bad crc": func(f *os.File, good int64) {
			bad := makeBatch(3, 1, 100)
			bad[len(bad)-1] ^= 0xff
			f.WriteAt(bad, good)
		},
		"garbage": func(f *os.File, good int64) {
			f.WriteAt([]byte("\x00\x00\x00\x00\x00\x00\x00\x00\x7f\xff\xff\xffjunk"), good)
		},
	} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			p, err := openPartitionLog(dir, quiet)
			if err != nil {
				t.Fatal(err)
			}
			o := appendOpts{segmentBytes: 1 << 30, now: time.Now()}
			appendBatch(t, p, makeBatch(5, 1, 50), o)
			appendBatch(t, p, makeBatch(2, 1, 50), o)
			good := p.size()
			p.close()

			f, err := os.OpenFile(filepath.Join(dir, segmentName(0)), os.O_RDWR, 0)
			if err != nil {
				t.Fatal(err)
			}
			damage(f, good)
			f.Close()

			p, err = openPartitionLog(dir, quiet)
			if err != nil {
				t.Fatal(err)
			}
			defer p.close()
			if start, end := p.offsets(); start != 0 || end != 7 {
				t.Fatalf("offsets after recovery = %d..%d, want 0..7", start, end)
			}
			if p.size() != good {
				t.Fatalf("size after recovery = %d, want %d", p.size(), good)
			}
			// The log takes appends again, at the next offset.
			if off := appendBatch(t, p, makeBatch(1, 1, 10), o); off != 7 {
				t.Fatalf("next append at %d, want 7", off)
			}
			data, err := p.read(5, 1<<20)
			if err != nil {
				t.Fatal(err)
			}
			hs, err := recordbatch.Split(data)
			if err != nil || len(hs) != 2 || hs[0].BaseOffset != 5 || hs[1].BaseOffset != 7 {
				t.Fatalf("read from 5 = %+v, %v", hs, err)
			}
		})
	}
}

// TestRetentionDeletesOldSegments rolls segments and checks that retention by time and by
// size deletes whole old segments, moving the log start, and never the active one.
func TestRetentionDeletesOldSegments(t *testing.T) {
	t.Parallel()
	p, err := openPartitionLog(t.TempDir(), quiet)
	if err != nil {
		t.Fatal(err)
	}
	defer p.close()
	now := time.Date(2026, 1, 10, 0, 0, 0, 0, time.UTC)
	o := appendOpts{segmentBytes: 400, now: now}
	// Ten batches of ~160 bytes, two per segment; batch i is i days old minus one.
	for i := range 10 {
		ts := now.Add(-time.Duration(10-i) * 24 * time.Hour).UnixMilli()
		appendBatch(t, p, makeBatch(1, ts, 100), o)
	}
	if len(p.segments) != 5 {
		t.Fatalf("%d segments, want 5", len(p.segments))
	}
	// Keep 7 days: the segments whose newest batch is older go.
	n, err := p.enforceRetention(now, 7*24*time.Hour, 0)
	if err != nil {
		t.Fatal(err)
	}
	if start, _ := p.offsets(); n != 1 || start != 2 {
		t.Fatalf("time retention deleted %d segments, log start %d; want 1 and 2", n, start)
	}
	if _, err := p.read(1, 1<<20); err != ErrOffsetOutOfRange {
		t.Fatalf("read below the log start: %v, want out of range", err)
	}
	// Keep at most ~2 segments' bytes: all but the newest two go; the active one stays.
	seg := p.segments[len(p.segments)-1].size
	if _, err := p.enforceRetention(now, 0, 2*seg); err != nil {
		t.Fatal(err)
	}
	if start, end := p.offsets(); start != 6 || end != 10 || len(p.segments) != 2 {
		t.Fatalf("after size retention: %d..%d in %d segments, want 6..10 in 2", start, end, len(p.segments))
	}
}

// idempotentBatch is makeBatch from producer pid with sequences seq..seq+n-1.
func idempotentBatch(n int, pid int64, epoch int16, seq int32) []byte {
	b := makeBatch(n, 1, 20)
	binary.BigEndian.PutUint64(b[recordbatch.OffProducerID:], uint64(pid))
	binary.BigEndian.PutUint16(b[recordbatch.OffProducerEpoch:], uint16(epoch))
	binary.BigEndian.PutUint32(b[recordbatch.OffBaseSequence:], uint32(seq))
	binary.BigEndian.PutUint32(b[recordbatch.OffCRC:], recordbatch.Checksum(b))
	return b
}

// TestIdempotentProducerSequences: a retried batch gets its original offset and is not
// written twice, also after a restart; a gap or an old epoch is refused.
func TestIdempotentProducerSequences(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	p, err := openPartitionLog(dir, quiet)
	if err != nil {
		t.Fatal(err)
	}
	o := appendOpts{segmentBytes: 1 << 30, now: time.Now()}
	try := func(b []byte) (int64, error) {
		hs, err := recordbatch.Split(b)
		if err != nil {
			t.Fatal(err)
		}
		return p.append(b, hs, o)
	}
	if off, err := try(idempotentBatch(3, 42, 0, 0)); off != 0 || err != nil {
		t.Fatalf("first batch: %d, %v", off, err)
	}
	if off, err := try(idempotentBatch(2, 42, 0, 3)); off != 3 || err != nil {
		t.Fatalf("second batch: %d, %v", off, err)
	}
	size := p.size()
	if off, err := try(idempotentBatch(3, 42, 0, 0)); off != 0 || err != nil || p.size() != size {
		t.Fatalf("retried first batch: offset %d, %v, size %d→%d; want offset 0 and nothing written", off, err, size, p.size())
	}
	if _, err := try(idempotentBatch(1, 42, 0, 9)); !errors.Is(err, ErrOutOfOrderSequence) {
		t.Fatalf("gap: %v, want out of order", err)
	}
	p.close()

	p, err = openPartitionLog(dir, quiet)
	if err != nil {
		t.Fatal(err)
	}
	defer p.close()
	if off, err := try(idempotentBatch(2, 42, 0, 3)); off != 3 || err != nil || p.size() != size {
		t.Fatalf("retry after restart: %d, %v", off, err)
	}
	if off, err := try(idempotentBatch(1, 42, 0, 5)); off != 5 || err != nil {
		t.Fatalf("next batch after restart: %d, %v", off, err)
	}
	if off, err := try(idempotentBatch(1, 42, 1, 0)); off != 6 || err != nil {
		t.Fatalf("new epoch: %d, %v", off, err)
	}
	if _, err := try(idempotentBatch(1, 42, 0, 6)); !errors.Is(err, ErrOutOfOrderSequence) {
		t.Fatalf("old epoch: %v, want refused", err)
	}
}

// TestSparseIndexAcrossRestarts fills several closed segments of many small batches, then
// reopens the log from its index files, and again with one index damaged: every offset
// reads back its own batch, and time lookups land at or before the right batch.
func TestSparseIndexAcrossRestarts(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	p, err := openPartitionLog(dir, quiet)
	if err != nil {
		t.Fatal(err)
	}
	o := appendOpts{segmentBytes: 64 << 10, now: time.Now()}
	const batches = 3000 // ~170 bytes each: about 8 segments, ~24 batches per index entry
	for i := range batches {
		appendBatch(t, p, makeBatch(2, int64(1000+i), 100), o)
	}
	check := func(p *partitionLog) {
		t.Helper()
		if start, end := p.offsets(); start != 0 || end != 2*batches {
			t.Fatalf("offsets %d..%d, want 0..%d", start, end, 2*batches)
		}
		for off := int64(0); off < 2*batches; off += 37 {
			data, err := p.read(off, 1)
			if err != nil {
				t.Fatalf("read %d: %v", off, err)
			}
			hs, err := recordbatch.Split(data)
			if err != nil || len(hs) != 1 || hs[0].BaseOffset > off || hs[0].LastOffset() < off {
				t.Fatalf("read %d returned %+v, %v", off, hs, err)
			}
		}
		data, err := p.read(100, 1<<20)
		if hs, err2 := recordbatch.Split(data); err != nil || err2 != nil || hs[0].BaseOffset != 100 || len(hs) < 100 {
			t.Fatalf("bulk read from 100: %d batches, %v %v", len(hs), err, err2)
		}
		for _, ts := range []int64{1000, 1500, 3999} {
			want := 2 * (ts - 1000)
			if got := p.offsetForTime(ts); got > want || got < want-2*indexInterval/100 {
				t.Errorf("offsetForTime(%d) = %d, want at or a little before %d", ts, got, want)
			}
		}
	}
	check(p)
	if len(p.segments) < 4 {
		t.Fatalf("only %d segments", len(p.segments))
	}
	p.close()

	p, err = openPartitionLog(dir, quiet)
	if err != nil {
		t.Fatal(err)
	}
	if !p.segments[0].sparse || len(p.segments[0].index) > 20 {
		t.Errorf("first segment reopened with %d index entries (sparse %v), want a sparse index", len(p.segments[0].index), p.segments[0].sparse)
	}
	check(p)
	base := p.segments[1].base
	p.close()

	// A damaged index is rebuilt from the log.
	if err := os.WriteFile(filepath.Join(dir, indexName(base)), []byte("SLIDX001 garbage"), 0o644); err != nil {
		t.Fatal(err)
	}
	p, err = openPartitionLog(dir, quiet)
	if err != nil {
		t.Fatal(err)
	}
	defer p.close()
	check(p)
}

// TestStorageErrorsWrapTheOSError: a storage error is both ErrStorage and the operating
// system's error, so that a caller can tell a full disk (syscall.ENOSPC) from the rest.
func TestStorageErrorsWrapTheOSError(t *testing.T) {
	t.Parallel()
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := openPartitionLog(filepath.Join(file, "tweets-0"), slog.New(slog.DiscardHandler))
	if !errors.Is(err, ErrStorage) || !errors.Is(err, syscall.ENOTDIR) {
		t.Errorf("openPartitionLog under a file: %v; want ErrStorage wrapping ENOTDIR", err)
	}
}
