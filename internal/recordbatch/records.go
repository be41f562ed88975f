package recordbatch

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/snappy"
	"github.com/klauspost/compress/zstd"
	"github.com/pierrec/lz4/v4"
)

// Record validation, as Kafka's LogValidator does it for batches a client produces: a batch
// whose CRC is good may still declare records it does not hold, hold records whose lengths
// run past their ends, or compress garbage, and every consumer that reads it then stalls or
// worse. Validate checks:
//
//   - the compression codec is one Kafka defines (none, gzip, snappy, lz4, zstd);
//   - the records decompress, streaming, to at most a given limit whatever the batch or
//     its compression frames claim (a 200 MiB gzip bomb costs a bounded read, not
//     200 MiB);
//   - exactly recordCount records decode, each within its declared length, with offset
//     deltas 0, 1, 2, ... and lastOffsetDelta = recordCount-1, and nothing after the last;
//   - header counts and key/value lengths fit in the record that declares them.
//
// The batch's maxTimestamp must be its largest record timestamp; Kafka rewrites it when it
// is not, and so does Validate (recomputing the CRC), so that a time index is right.

// Validation errors; a broker answers them with the Kafka error code of the same name.
var (
	ErrInvalidRecord             = errors.New("invalid record")
	ErrUnsupportedCompression    = errors.New("unsupported compression type")
	errDecompressedLimitExceeded = errors.New("records decompress past the limit")
)

// minRecordBytes is the smallest encoded record: length, attributes, timestamp delta, offset
// delta, key length, value length and header count of one byte each.
const minRecordBytes = 7

// recordStats is what validation learns about a batch's records.
type recordStats struct {
	maxTimestamp int64 // largest record timestamp
}

// Validate checks the records of one batch a producer sent (b is the whole batch, header
// included, h its parsed header; limit bounds what they may decompress to) and, when the
// batch's maxTimestamp is not its largest record timestamp, rewrites it and the CRC in
// place. The error wraps ErrInvalidRecord, ErrUnsupportedCompression or ErrCorrupt.
func Validate(b []byte, h *Header, limit int64) error {
	if h.IsControl() {
		return fmt.Errorf("%w: clients may not produce control batches", ErrInvalidRecord)
	}
	if h.RecordCount == 0 {
		return fmt.Errorf("%w: batch has no records", ErrInvalidRecord)
	}
	if h.LastOffsetDelta != h.RecordCount-1 {
		return fmt.Errorf("%w: lastOffsetDelta %d for %d records", ErrInvalidRecord, h.LastOffsetDelta, h.RecordCount)
	}
	st, err := validate(b, h, limit, false)
	if err != nil {
		return err
	}
	if st.maxTimestamp != h.MaxTimestamp && h.Attributes&AttrLogAppendTime == 0 {
		h.MaxTimestamp = st.maxTimestamp
		binary.BigEndian.PutUint64(b[OffMaxTimestamp:], uint64(st.maxTimestamp))
		h.CRC = Checksum(b[:h.Size()])
		binary.BigEndian.PutUint32(b[OffCRC:], h.CRC)
	}
	return nil
}

// ValidateFetched checks the records of one batch a broker served, as a consumer that
// must decode them needs: what Validate checks, except what a log may rightly hold and a
// producer may not send. Control batches (transaction markers) are allowed, and a
// compacted batch may hold fewer records than its offset range, or none: offset deltas
// must only increase and stay within lastOffsetDelta. b is not changed.
func ValidateFetched(b []byte, h *Header, limit int64) error {
	if h.RecordCount > h.LastOffsetDelta+1 {
		return fmt.Errorf("%w: %d records in a range of %d offsets", ErrInvalidRecord, h.RecordCount, h.LastOffsetDelta+1)
	}
	_, err := validate(b, h, limit, true)
	return err
}

// validate reads every record of the batch; fetched relaxes the offset deltas' rule.
func validate(b []byte, h *Header, limit int64, fetched bool) (recordStats, error) {
	codec := h.Codec()
	if codec > CodecZstd {
		return recordStats{}, fmt.Errorf("%w: codec %d", ErrUnsupportedCompression, codec)
	}
	body := b[HeaderSize:h.Size()]
	if h.RecordCount == 0 && fetched {
		if len(body) > 0 && codec == CodecNone {
			return recordStats{}, fmt.Errorf("%w: %d bytes in a batch of no records", ErrInvalidRecord, len(body))
		}
		return recordStats{}, nil // a compressed empty batch: nothing is read from it
	}
	if codec == CodecNone {
		if int64(h.RecordCount) > int64(len(body))/minRecordBytes {
			return recordStats{}, fmt.Errorf("%w: %d records declared in %d bytes", ErrInvalidRecord, h.RecordCount, len(body))
		}
		r := recordReader{b: body}
		st, err := readRecords(&r, h, fetched)
		if err == nil && len(r.b) > 0 {
			err = fmt.Errorf("%w: %d bytes after the last record", ErrInvalidRecord, len(r.b))
		}
		return st, err
	}
	if int64(h.RecordCount) > limit/minRecordBytes {
		return recordStats{}, fmt.Errorf("%w: %d records declared", ErrInvalidRecord, h.RecordCount)
	}
	return readCompressed(codec, body, h, limit, fetched)
}

// readCompressed decompresses body with the codec, streaming, and reads its records.
func readCompressed(codec int16, body []byte, h *Header, limit int64, fetched bool) (recordStats, error) {
	var src io.Reader
	switch codec {
	case CodecGzip:
		zr := gzipReaders.Get().(*gzip.Reader)
		defer gzipReaders.Put(zr)
		if err := zr.Reset(bytes.NewReader(body)); err != nil {
			return recordStats{}, fmt.Errorf("%w: gzip: %v", ErrCorrupt, err)
		}
		zr.Multistream(false)
		src = zr
	case CodecSnappy:
		src = &snappyReader{src: body, limit: limit}
	case CodecLZ4:
		lr := lz4Readers.Get().(*lz4.Reader)
		defer lz4Readers.Put(lr)
		lr.Reset(bytes.NewReader(body))
		src = lr
	case CodecZstd:
		zr := zstdReaders.Get().(*zstd.Decoder)
		defer func() { zr.Reset(nil); zstdReaders.Put(zr) }()
		if err := zr.Reset(bytes.NewReader(body)); err != nil {
			return recordStats{}, fmt.Errorf("%w: zstd: %v", ErrCorrupt, err)
		}
		src = zr
	}
	lr := &limitedReader{r: src, left: limit}
	br := bufReaders.Get().(*bufio.Reader)
	br.Reset(lr)
	defer func() { br.Reset(nil); bufReaders.Put(br) }()
	st, err := readRecords(&recordReader{br: br}, h, fetched)
	if err == nil {
		// The stream must end where the records do (reading to the end also checks gzip's
		// and lz4's checksums).
		if _, e := br.ReadByte(); e == nil {
			err = fmt.Errorf("%w: data after the last record", ErrInvalidRecord)
		} else if e != io.EOF {
			err = e
		}
	}
	switch {
	case err == nil:
		return st, nil
	case errors.Is(err, errDecompressedLimitExceeded):
		return st, fmt.Errorf("%w: records decompress to more than %d bytes", ErrCorrupt, limit)
	case errors.Is(err, ErrInvalidRecord):
		return st, err
	default:
		return st, fmt.Errorf("%w: %s: %v", ErrCorrupt, codecName(codec), err)
	}
}

func codecName(c int16) string {
	return [...]string{"none", "gzip", "snappy", "lz4", "zstd"}[c]
}

// recordReader reads records from a byte slice (uncompressed batches, in place) or from a
// decompressing stream. It is a concrete type, not an interface, so that reading a record
// allocates nothing.
type recordReader struct {
	b  []byte        // the records, when br is nil
	br *bufio.Reader // the decompressed stream
	// left is how many bytes of the current record remain; reads past it fail.
	left int64
}

var (
	errPastRecord    = errors.New("a field runs past the record's length")
	errVarintTooLong = errors.New("a varint is longer than 10 bytes")
)

func (r *recordReader) byte() (byte, error) {
	if r.br != nil {
		return r.br.ReadByte()
	}
	if len(r.b) == 0 {
		return 0, io.EOF
	}
	c := r.b[0]
	r.b = r.b[1:]
	return c, nil
}

// varint reads a zigzag varint. in says whether it belongs to the current record (and is
// counted against its length) or is the record's length itself.
func (r *recordReader) varint(in bool) (int64, error) {
	var ux uint64
	for shift := uint(0); ; shift += 7 {
		if shift > 63 {
			return 0, errVarintTooLong
		}
		if in {
			if r.left <= 0 {
				return 0, errPastRecord
			}
			r.left--
		}
		c, err := r.byte()
		if err != nil {
			if err == io.EOF && shift > 0 {
				err = io.ErrUnexpectedEOF
			}
			return 0, err
		}
		ux |= uint64(c&0x7f) << shift
		if c < 0x80 {
			return int64(ux>>1) ^ -int64(ux&1), nil
		}
	}
}

// skip discards n bytes of the current record.
func (r *recordReader) skip(n int64) error {
	if n > r.left {
		return errPastRecord
	}
	r.left -= n
	if r.br != nil {
		_, err := r.br.Discard(int(n))
		return err
	}
	if n > int64(len(r.b)) {
		r.b = nil
		return io.ErrUnexpectedEOF
	}
	r.b = r.b[n:]
	return nil
}

// skipBytes skips a varint-length-prefixed byte string; -1 (null) is allowed when nullable.
func (r *recordReader) skipBytes(i int32, what string, nullable bool) error {
	n, err := r.varint(true)
	if err != nil {
		return err
	}
	if n < -1 || n == -1 && !nullable || n > r.left {
		return fmt.Errorf("%w: record %d: %s length %d with %d bytes left", ErrInvalidRecord, i, what, n, r.left)
	}
	if n <= 0 {
		return nil
	}
	return r.skip(n)
}

// readRecords reads h.RecordCount records from r. Offset deltas must be 0, 1, 2, ... as a
// producer numbers them, or with fetched only increase within h.LastOffsetDelta. A stream
// that ends early is an invalid record unless the decompressor itself failed.
func readRecords(r *recordReader, h *Header, fetched bool) (recordStats, error) {
	st := recordStats{maxTimestamp: -1}
	prev := int64(-1)
	for i := int32(0); i < h.RecordCount; i++ {
		ts, off, err := readRecord(r, i)
		if err != nil {
			switch {
			case errors.As(err, new(codecError)) || errors.Is(err, errDecompressedLimitExceeded):
				return st, err
			case errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF):
				return st, fmt.Errorf("%w: %d records declared, the data ends in record %d", ErrInvalidRecord, h.RecordCount, i)
			case errors.Is(err, errPastRecord) || errors.Is(err, errVarintTooLong):
				return st, fmt.Errorf("%w: record %d: %v", ErrInvalidRecord, i, err)
			}
			return st, err
		}
		if fetched && (off <= prev || off > int64(h.LastOffsetDelta)) || !fetched && off != int64(i) {
			return st, fmt.Errorf("%w: record %d has offset delta %d", ErrInvalidRecord, i, off)
		}
		prev = off
		if t := h.BaseTimestamp + ts; t > st.maxTimestamp {
			st.maxTimestamp = t
		}
	}
	return st, nil
}

// readRecord reads record i and returns its timestamp and offset deltas.
//
//	length varint | attributes int8 | timestampDelta varlong | offsetDelta varint |
//	keyLength varint | key | valueLength varint | value | headerCount varint |
//	[headerKeyLength varint | headerKey | headerValueLength varint | headerValue]...
func readRecord(r *recordReader, i int32) (ts, off int64, err error) {
	length, err := r.varint(false)
	if err != nil {
		return 0, 0, err
	}
	if length < minRecordBytes-1 || length > 1<<31 {
		return 0, 0, fmt.Errorf("%w: record %d has length %d", ErrInvalidRecord, i, length)
	}
	r.left = length
	if err := r.skip(1); err != nil { // attributes, unused
		return 0, 0, err
	}
	tsDelta, err := r.varint(true)
	if err != nil {
		return 0, 0, err
	}
	offDelta, err := r.varint(true)
	if err != nil {
		return 0, 0, err
	}
	if err := r.skipBytes(i, "key", true); err != nil {
		return 0, 0, err
	}
	if err := r.skipBytes(i, "value", true); err != nil {
		return 0, 0, err
	}
	headers, err := r.varint(true)
	if err != nil {
		return 0, 0, err
	}
	if headers < 0 || headers > r.left/2 {
		return 0, 0, fmt.Errorf("%w: record %d declares %d headers in %d bytes", ErrInvalidRecord, i, headers, r.left)
	}
	for range headers {
		if err := r.skipBytes(i, "header key", false); err != nil {
			return 0, 0, err
		}
		if err := r.skipBytes(i, "header value", true); err != nil {
			return 0, 0, err
		}
	}
	if r.left != 0 {
		return 0, 0, fmt.Errorf("%w: record %d declares %d bytes, %d are left after its fields", ErrInvalidRecord, i, length, r.left)
	}
	return tsDelta, offDelta, nil
}

// limitedReader fails with errDecompressedLimitExceeded once more than left bytes are read.
type limitedReader struct {
	r    io.Reader
	left int64
}

func (l *limitedReader) Read(p []byte) (int, error) {
	if l.left <= 0 {
		var one [1]byte
		switch n, err := io.ReadFull(l.r, one[:]); {
		case n > 0:
			return 0, errDecompressedLimitExceeded
		case err == io.EOF:
			return 0, io.EOF
		default:
			return 0, codecError{err}
		}
	}
	if int64(len(p)) > l.left {
		p = p[:l.left]
	}
	n, err := l.r.Read(p)
	l.left -= int64(n)
	if err != nil && err != io.EOF {
		err = codecError{err} // not to be taken for records that end early
	}
	return n, err
}

// codecError is a decompressor's failure.
type codecError struct{ err error }

func (e codecError) Error() string { return e.err.Error() }
func (e codecError) Unwrap() error { return e.err }

// snappyReader decodes Kafka's two snappy framings: a raw snappy block (librdkafka,
// franz-go, sarama) or xerial's snappy-java stream (the Java client): a 16-byte header, then
// blocks each prefixed by a 4-byte big-endian length. Each block's declared decoded length
// is checked against what is left of the limit before anything is allocated.
type snappyReader struct {
	src    []byte
	limit  int64
	out    []byte // decoded and not yet read
	buf    []byte
	init   bool // the framing has been detected
	xerial bool
}

var xerialHeader = []byte{0x82, 'S', 'N', 'A', 'P', 'P', 'Y', 0}

func (s *snappyReader) Read(p []byte) (int, error) {
	for len(s.out) == 0 {
		if err := s.next(); err != nil {
			return 0, err
		}
	}
	n := copy(p, s.out)
	s.out = s.out[n:]
	return n, nil
}

func (s *snappyReader) next() error {
	if !s.init {
		s.init = true
		if !bytes.HasPrefix(s.src, xerialHeader) {
			block := s.src
			s.src = nil // a raw block is the whole stream
			return s.decode(block)
		}
		if len(s.src) < 16 {
			return errors.New("short xerial header")
		}
		s.src, s.xerial = s.src[16:], true
	}
	if !s.xerial || len(s.src) == 0 {
		return io.EOF
	}
	if len(s.src) < 4 {
		return errors.New("truncated xerial block length")
	}
	n := binary.BigEndian.Uint32(s.src)
	if int64(n) > int64(len(s.src)-4) {
		return fmt.Errorf("xerial block of %d bytes, %d present", n, len(s.src)-4)
	}
	block := s.src[4 : 4+n]
	s.src = s.src[4+n:]
	return s.decode(block)
}

func (s *snappyReader) decode(block []byte) error {
	n, err := snappy.DecodedLen(block)
	if err != nil {
		return err
	}
	if int64(n) > s.limit {
		return errDecompressedLimitExceeded
	}
	s.limit -= int64(n)
	if cap(s.buf) < n {
		s.buf = make([]byte, n)
	}
	out, err := snappy.Decode(s.buf[:n], block)
	if err != nil {
		return err
	}
	s.out = out
	return nil
}

// Decompressors and buffers are reused across produce requests.
var (
	gzipReaders = sync.Pool{New: func() any { return new(gzip.Reader) }}
	lz4Readers  = sync.Pool{New: func() any { return lz4.NewReader(nil) }}
	zstdReaders = sync.Pool{New: func() any {
		d, err := zstd.NewReader(nil, zstd.WithDecoderConcurrency(1), zstd.WithDecoderLowmem(true),
			zstd.WithDecoderMaxWindow(16<<20))
		if err != nil {
			panic(err) // only for invalid options
		}
		return d
	}}
	bufReaders = sync.Pool{New: func() any { return bufio.NewReaderSize(nil, 32<<10) }}
)
