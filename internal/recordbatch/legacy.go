package recordbatch

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"math/bits"
	"sync"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/snappy"
	"github.com/klauspost/compress/zstd"
	"github.com/pierrec/lz4/v4"
)

// Message sets: the record format before Kafka 0.11 (magic 0 and 1), which clients that
// speak Produce v0-2 send and Fetch v0-3 receive. A broker that stores v2 batches, as
// Kafka does since 0.11, converts them up on produce and down on fetch:
//
//	MessageSet => [offset int64 | messageSize int32 | Message]
//	Message    => crc uint32 (IEEE, over the rest) | magic int8 | attributes int8 |
//	              timestamp int64 (magic 1 only) | key bytes | value bytes
//
// A compressed message set is one wrapper message whose value is the compressed inner
// message set. Record headers do not exist before magic 2: converting down drops them.

// legacyOverhead is the size of a message's offset and size fields.
const legacyOverhead = 12

// FromMessageSet converts ms, a message set a producer sent, into one uncompressed v2 record
// batch at base offset 0 holding the same records, or, when the set was compressed, into a
// batch compressed with the same codec. Messages of magic 0 have no timestamp: they get now
// (in ms), as log append time. limit bounds what compressed messages may decompress to.
// The error wraps ErrCorrupt (CRC, framing, compression), ErrInvalidRecord or
// ErrUnsupportedCompression.
func FromMessageSet(ms []byte, limit, now int64) ([]byte, error) {
	var (
		recs      []byte
		n         int32
		first     int64
		maxTS     int64 = -1
		codec     int16
		appendTim bool
	)
	add := func(ts int64, key, value []byte) {
		if n == 0 {
			first = ts
		}
		maxTS = max(maxTS, ts)
		rec := make([]byte, 0, 16+len(key)+len(value))
		rec = append(rec, 0)
		rec = binary.AppendVarint(rec, ts-first)
		rec = binary.AppendVarint(rec, int64(n))
		rec = appendVarBytes(rec, key)
		rec = appendVarBytes(rec, value)
		rec = append(rec, 0) // no headers
		recs = binary.AppendVarint(recs, int64(len(rec)))
		recs = append(recs, rec...)
		n++
	}
	err := readMessageSet(ms, func(m legacyMessage) error {
		c := int16(m.attributes & 0x07)
		if c == CodecNone {
			if m.magic == 0 || m.attributes&AttrLogAppendTime != 0 {
				appendTim = true
				m.timestamp = now
			}
			add(m.timestamp, m.key, m.value)
			return nil
		}
		if c > CodecLZ4 {
			return fmt.Errorf("%w: codec %d in a message set of magic %d", ErrUnsupportedCompression, c, m.magic)
		}
		if n > 0 || codec != CodecNone {
			return fmt.Errorf("%w: a compressed message set holds more than one wrapper message", ErrInvalidRecord)
		}
		codec = c
		inner, err := decompressAll(c, m.value, limit, m.magic == 0)
		if err != nil {
			return err
		}
		return readMessageSet(inner, func(im legacyMessage) error {
			if im.attributes&0x07 != 0 {
				return fmt.Errorf("%w: a compressed message inside a compressed message set", ErrInvalidRecord)
			}
			if im.magic != m.magic {
				return fmt.Errorf("%w: a message of magic %d inside a wrapper of magic %d", ErrInvalidRecord, im.magic, m.magic)
			}
			ts := im.timestamp
			if m.magic == 0 || m.attributes&AttrLogAppendTime != 0 {
				appendTim = true
				ts = now
			}
			add(ts, im.key, im.value)
			return nil
		})
	})
	if err != nil {
		return nil, err
	}
	if n == 0 {
		return nil, fmt.Errorf("%w: message set holds no message", ErrCorrupt)
	}
	body := recs
	if codec != CodecNone {
		if body, err = compress(codec, recs); err != nil {
			return nil, err
		}
	}
	attrs := codec
	if appendTim {
		attrs |= AttrLogAppendTime
	}
	b := make([]byte, HeaderSize, HeaderSize+len(body))
	binary.BigEndian.PutUint32(b[OffBatchLength:], uint32(HeaderSize-LengthOverhead+len(body)))
	b[OffMagic] = 2
	binary.BigEndian.PutUint16(b[OffAttributes:], uint16(attrs))
	binary.BigEndian.PutUint32(b[OffLastOffsetDelta:], uint32(n-1))
	binary.BigEndian.PutUint64(b[OffBaseTimestamp:], uint64(first))
	binary.BigEndian.PutUint64(b[OffMaxTimestamp:], uint64(maxTS))
	binary.BigEndian.PutUint64(b[OffProducerID:], ^uint64(0))
	binary.BigEndian.PutUint16(b[OffProducerEpoch:], ^uint16(0))
	binary.BigEndian.PutUint32(b[OffBaseSequence:], ^uint32(0))
	binary.BigEndian.PutUint32(b[OffRecordCount:], uint32(n))
	b = append(b, body...)
	binary.BigEndian.PutUint32(b[OffCRC:], Checksum(b))
	return b, nil
}

// AppendMessageSet appends to dst the records of data, whole v2 batches as a log stores
// them, as uncompressed messages of the given magic (0 or 1), from offset from on (the
// records before it are left out), for a client that reads only message sets. Control
// batches are left out and headers dropped. It stops before a message that would take
// dst past maxBytes, but always appends at least one when there is one. limit bounds what
// a batch may decompress to.
func AppendMessageSet(dst, data []byte, magic int8, from int64, maxBytes int, limit int64) ([]byte, error) {
	start := len(dst)
	for len(data) > 0 {
		h, err := ParseHeader(data)
		if err != nil {
			return dst, err
		}
		if h.Size() > len(data) {
			return dst, fmt.Errorf("%w: batch of %d bytes but only %d present", ErrCorrupt, h.Size(), len(data))
		}
		batch := data[:h.Size()]
		data = data[h.Size():]
		if h.IsControl() || h.LastOffset() < from {
			continue
		}
		recs := batch[HeaderSize:]
		if h.Codec() != CodecNone {
			if recs, err = decompressAll(h.Codec(), recs, limit, false); err != nil {
				return dst, err
			}
		}
		r := recordReader{b: recs}
		for i := int32(0); i < h.RecordCount; i++ {
			rec, err := readRecordFields(&r, i)
			if err != nil {
				return dst, err
			}
			off := h.BaseOffset + rec.offsetDelta
			if off < from {
				continue
			}
			ts := h.BaseTimestamp + rec.tsDelta
			attrs := byte(0)
			if h.Attributes&AttrLogAppendTime != 0 {
				ts, attrs = h.MaxTimestamp, AttrLogAppendTime
			}
			size := 4 + 1 + 1 + 4 + len(rec.key) + 4 + len(rec.value)
			if magic == 1 {
				size += 8
			}
			if len(dst) > start && len(dst)-start+legacyOverhead+size > maxBytes {
				return dst, nil
			}
			dst = binary.BigEndian.AppendUint64(dst, uint64(off))
			dst = binary.BigEndian.AppendUint32(dst, uint32(size))
			crcAt := len(dst)
			dst = append(dst, 0, 0, 0, 0, byte(magic))
			if magic == 1 {
				dst = append(dst, attrs)
				dst = binary.BigEndian.AppendUint64(dst, uint64(ts))
			} else {
				dst = append(dst, 0)
			}
			dst = appendInt32Bytes(dst, rec.key)
			dst = appendInt32Bytes(dst, rec.value)
			binary.BigEndian.PutUint32(dst[crcAt:], crc32.ChecksumIEEE(dst[crcAt+4:]))
		}
	}
	return dst, nil
}

// legacyMessage is one message of a message set; key and value are nil when null.
type legacyMessage struct {
	magic      int8
	attributes int8
	timestamp  int64
	key, value []byte
}

// readMessageSet calls fn for each message of ms, checking framing and CRCs.
func readMessageSet(ms []byte, fn func(legacyMessage) error) error {
	for i := 0; len(ms) > 0; i++ {
		if len(ms) < legacyOverhead {
			return fmt.Errorf("%w: message %d: %d bytes left, a message needs %d before its body", ErrCorrupt, i, len(ms), legacyOverhead)
		}
		size := int64(int32(binary.BigEndian.Uint32(ms[8:])))
		if size < 14 || size > int64(len(ms)-legacyOverhead) {
			return fmt.Errorf("%w: message %d declares %d bytes, %d are left", ErrCorrupt, i, size, len(ms)-legacyOverhead)
		}
		m := ms[legacyOverhead : legacyOverhead+size]
		ms = ms[legacyOverhead+size:]
		if m[4] > 1 {
			return fmt.Errorf("%w: message %d has magic %d: Produce v0-2 carry message sets of magic 0 and 1", ErrUnsupportedMagic, i, m[4])
		}
		if got := crc32.ChecksumIEEE(m[4:]); got != binary.BigEndian.Uint32(m) {
			return fmt.Errorf("%w: message %d: crc %08x, want %08x", ErrCorrupt, i, got, binary.BigEndian.Uint32(m))
		}
		msg := legacyMessage{magic: int8(m[4]), attributes: int8(m[5]), timestamp: -1}
		rest := m[6:]
		switch msg.magic {
		case 0:
		case 1:
			if len(rest) < 8 {
				return fmt.Errorf("%w: message %d: no room for its timestamp", ErrCorrupt, i)
			}
			msg.timestamp = int64(binary.BigEndian.Uint64(rest))
			rest = rest[8:]
		}
		var ok bool
		if msg.key, rest, ok = int32Bytes(rest); !ok {
			return fmt.Errorf("%w: message %d: key length runs past the message", ErrCorrupt, i)
		}
		if msg.value, rest, ok = int32Bytes(rest); !ok {
			return fmt.Errorf("%w: message %d: value length runs past the message", ErrCorrupt, i)
		}
		if len(rest) > 0 {
			return fmt.Errorf("%w: message %d: %d bytes after its value", ErrCorrupt, i, len(rest))
		}
		if err := fn(msg); err != nil {
			return err
		}
	}
	return nil
}

// int32Bytes reads an int32-length-prefixed byte string (-1 is null).
func int32Bytes(b []byte) (v, rest []byte, ok bool) {
	if len(b) < 4 {
		return nil, b, false
	}
	n := int64(int32(binary.BigEndian.Uint32(b)))
	b = b[4:]
	switch {
	case n == -1:
		return nil, b, true
	case n < 0 || n > int64(len(b)):
		return nil, b, false
	}
	return b[:n:n], b[n:], true
}

func appendInt32Bytes(dst, v []byte) []byte {
	if v == nil {
		return binary.BigEndian.AppendUint32(dst, ^uint32(0))
	}
	dst = binary.BigEndian.AppendUint32(dst, uint32(len(v)))
	return append(dst, v...)
}

func appendVarBytes(dst, v []byte) []byte {
	if v == nil {
		return binary.AppendVarint(dst, -1)
	}
	dst = binary.AppendVarint(dst, int64(len(v)))
	return append(dst, v...)
}

// recordFields are the parts of a record a message set keeps.
type recordFields struct {
	tsDelta, offsetDelta int64
	key, value           []byte // nil when null
}

// readRecordFields reads record i of an uncompressed record sequence.
func readRecordFields(r *recordReader, i int32) (recordFields, error) {
	var f recordFields
	bad := func(err error) (recordFields, error) {
		return f, fmt.Errorf("%w: record %d: %v", ErrInvalidRecord, i, err)
	}
	length, err := r.varint(false)
	if err != nil {
		return bad(err)
	}
	if length < minRecordBytes-1 || length > int64(len(r.b)) {
		return bad(fmt.Errorf("length %d", length))
	}
	rec := recordReader{b: r.b[:length], left: length}
	r.b = r.b[length:]
	if err := rec.skip(1); err != nil {
		return bad(err)
	}
	if f.tsDelta, err = rec.varint(true); err != nil {
		return bad(err)
	}
	if f.offsetDelta, err = rec.varint(true); err != nil {
		return bad(err)
	}
	for _, v := range []*[]byte{&f.key, &f.value} {
		n, err := rec.varint(true)
		if err != nil {
			return bad(err)
		}
		if n < -1 || n > int64(len(rec.b)) {
			return bad(fmt.Errorf("a length of %d with %d bytes left", n, len(rec.b)))
		}
		if n >= 0 {
			*v = rec.b[:n:n]
			rec.b, rec.left = rec.b[n:], rec.left-n
		}
	}
	return f, nil
}

// decompressAll decompresses a whole compressed payload, to at most limit bytes. kafkaLZ4
// accepts the LZ4 frames of Kafka before 0.10 (message sets of magic 0), whose header
// checksum covers the frame's magic number too (KAFKA-1493).
func decompressAll(codec int16, body []byte, limit int64, kafkaLZ4 bool) ([]byte, error) {
	var src io.Reader
	switch codec {
	case CodecGzip:
		zr, err := gzip.NewReader(bytes.NewReader(body))
		if err != nil {
			return nil, fmt.Errorf("%w: gzip: %v", ErrCorrupt, err)
		}
		src = zr
	case CodecSnappy:
		src = &snappyReader{src: body, limit: limit}
	case CodecLZ4:
		if kafkaLZ4 {
			body = fixLZ4HeaderChecksum(body)
		}
		src = lz4.NewReader(bytes.NewReader(body))
	case CodecZstd:
		zr := zstdReaders.Get().(*zstd.Decoder)
		defer func() { zr.Reset(nil); zstdReaders.Put(zr) }()
		if err := zr.Reset(bytes.NewReader(body)); err != nil {
			return nil, fmt.Errorf("%w: zstd: %v", ErrCorrupt, err)
		}
		src = zr
	default:
		return nil, fmt.Errorf("%w: codec %d", ErrUnsupportedCompression, codec)
	}
	out, err := io.ReadAll(&limitedReader{r: src, left: limit})
	switch {
	case errors.Is(err, errDecompressedLimitExceeded):
		return nil, fmt.Errorf("%w: records decompress to more than %d bytes", ErrCorrupt, limit)
	case err != nil:
		return nil, fmt.Errorf("%w: %s: %v", ErrCorrupt, codecName(codec), err)
	}
	return out, nil
}

// compress compresses records with a message set's codec (gzip, snappy, lz4).
func compress(codec int16, records []byte) ([]byte, error) {
	if codec == CodecSnappy {
		return snappy.Encode(nil, records), nil
	}
	var buf bytes.Buffer
	var w io.WriteCloser
	switch codec {
	case CodecGzip:
		w = gzip.NewWriter(&buf)
	case CodecLZ4:
		w = lz4Writers.Get().(*lz4.Writer)
		w.(*lz4.Writer).Reset(&buf)
		defer lz4Writers.Put(w)
	default:
		return nil, fmt.Errorf("%w: codec %d", ErrUnsupportedCompression, codec)
	}
	if _, err := w.Write(records); err != nil {
		return nil, err
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

var lz4Writers = sync.Pool{New: func() any { return lz4.NewWriter(nil) }}

// fixLZ4HeaderChecksum returns an LZ4 frame whose header checksum is the one the LZ4 frame
// format defines, for a frame written by a Kafka client before 0.10, whose checksum also
// covered the four magic bytes. A frame too short to hold a header is returned as is.
func fixLZ4HeaderChecksum(frame []byte) []byte {
	if len(frame) < 7 {
		return frame
	}
	end := 6 // magic (4), FLG, BD
	flg := frame[4]
	if flg&0x08 != 0 {
		end += 8 // content size
	}
	if flg&0x01 != 0 {
		end += 4 // dictionary id
	}
	if len(frame) <= end {
		return frame
	}
	fixed := bytes.Clone(frame)
	fixed[end] = byte(xxh32(frame[4:end]) >> 8)
	return fixed
}

// xxh32 is XXH32 with seed 0 of an input shorter than 16 bytes (an LZ4 frame descriptor).
func xxh32(b []byte) uint32 {
	const (
		p1 = 2654435761
		p2 = 2246822519
		p3 = 3266489917
		p4 = 668265263
		p5 = 374761393
	)
	h := uint32(p5) + uint32(len(b))
	for ; len(b) >= 4; b = b[4:] {
		h += binary.LittleEndian.Uint32(b) * p3
		h = bits.RotateLeft32(h, 17) * p4
	}
	for _, c := range b {
		h += uint32(c) * p5
		h = bits.RotateLeft32(h, 11) * p1
	}
	h ^= h >> 15
	h *= p2
	h ^= h >> 13
	h *= p3
	h ^= h >> 16
	return h
}
