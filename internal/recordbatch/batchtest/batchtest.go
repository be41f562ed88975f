// Package batchtest builds Kafka record batches for tests, sound and damaged: the damage
// that a CRC check alone lets through, which a broker must refuse on produce and a
// consumer must survive on fetch.
package batchtest

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"math/rand/v2"
	"testing"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/snappy"
	"github.com/klauspost/compress/zstd"
	"github.com/pierrec/lz4/v4"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/starling-analytics/starling/internal/recordbatch"
)

// BaseTimestamp is the first timestamp of the batches built here.
const BaseTimestamp = 1700000000000

// Record encodes one record (length prefix included) with the given offset and timestamp
// deltas.
func Record(offsetDelta int32, tsDelta int64, key, value []byte, headers ...kmsg.Header) []byte {
	r := kmsg.NewRecord()
	r.OffsetDelta = offsetDelta
	r.TimestampDelta64 = tsDelta
	r.Key, r.Value, r.Headers = key, value, headers
	body := r.AppendTo(nil)[1:] // AppendTo writes Length 0 first: replace it
	return append(binary.AppendVarint(nil, int64(len(body))), body...)
}

// Records encodes n records with keys and values "<prefix>-<i>", offset and timestamp
// deltas i.
func Records(prefix string, n int) []byte {
	var out []byte
	for i := range n {
		k := fmt.Appendf(nil, "%s-%d", prefix, i)
		out = append(out, Record(int32(i), int64(i), k, k)...)
	}
	return out
}

// Compress compresses records with a Kafka codec (recordbatch.CodecNone ... CodecZstd).
func Compress(t testing.TB, codec int16, records []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	var w io.WriteCloser
	switch codec {
	case recordbatch.CodecNone:
		return records
	case recordbatch.CodecGzip:
		w = gzip.NewWriter(&buf)
	case recordbatch.CodecSnappy:
		return snappy.Encode(nil, records)
	case recordbatch.CodecLZ4:
		w = lz4.NewWriter(&buf)
	case recordbatch.CodecZstd:
		zw, err := zstd.NewWriter(&buf)
		if err != nil {
			t.Fatal(err)
		}
		w = zw
	default:
		t.Fatalf("no codec %d", codec)
	}
	if _, err := w.Write(records); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// Batch frames records (already compressed as attrs says) as a v2 batch at base offset 0
// with the given record count, last offset delta and max timestamp, and a correct length
// and CRC.
func Batch(attrs int16, count, lastDelta int32, maxTS int64, records []byte) []byte {
	rb := kmsg.NewRecordBatch()
	rb.Magic = 2
	rb.Attributes = attrs
	rb.LastOffsetDelta = lastDelta
	rb.FirstTimestamp = BaseTimestamp
	rb.MaxTimestamp = maxTS
	rb.ProducerID = -1
	rb.ProducerEpoch = -1
	rb.FirstSequence = -1
	rb.NumRecords = count
	rb.Records = records
	return Fix(rb.AppendTo(nil))
}

// Good is a sound batch of n records with the codec.
func Good(t testing.TB, codec int16, prefix string, n int) []byte {
	return Batch(codec, int32(n), int32(n-1), BaseTimestamp+int64(n-1), Compress(t, codec, Records(prefix, n)))
}

// Fix recomputes a batch's length and CRC after its bytes were changed.
func Fix(b []byte) []byte {
	binary.BigEndian.PutUint32(b[recordbatch.OffBatchLength:], uint32(len(b)-recordbatch.LengthOverhead))
	binary.BigEndian.PutUint32(b[recordbatch.OffCRC:], recordbatch.Checksum(b))
	return b
}

// SetBaseOffset sets a batch's base offset (outside the CRC).
func SetBaseOffset(b []byte, offset int64) {
	binary.BigEndian.PutUint64(b, uint64(offset))
}

// Damaged is one batch with a good CRC whose records are not what it declares.
type Damaged struct {
	Name  string
	Batch []byte
	// Code is the Kafka error a broker answers when it is produced: INVALID_RECORD (87),
	// CORRUPT_MESSAGE (2) or UNSUPPORTED_COMPRESSION_TYPE (76).
	Code int16
}

// Kafka error codes of Damaged.Code.
const (
	CodeCorruptMessage             = 2
	CodeUnsupportedCompressionType = 76
	CodeInvalidRecord              = 87
)

// AllDamaged returns every kind of damage the tests know, each a batch of its own whose
// offset range is sane (lastOffsetDelta small), so that a log can hold them in a row.
func AllDamaged(t testing.TB) []Damaged {
	records := Records("r", 3)
	// A record declaring 2^40 headers (kafka-go allocates what a record declares).
	hugeHeaders := func() []byte {
		r := Record(0, 0, nil, []byte("v"))
		body := r[1:]                                                         // past the one-byte length
		body = append(body[:len(body)-1], binary.AppendVarint(nil, 1<<40)...) // header count
		return append(binary.AppendVarint(nil, int64(len(body))), body...)
	}()
	rng := rand.New(rand.NewPCG(1, 2))
	random := make([]byte, 4096)
	for i := range random {
		random[i] = byte(rng.Uint32())
	}
	// A gzip bomb: one record whose value is 200 MiB of zeros, in about 200 KB.
	bomb := Compress(t, recordbatch.CodecGzip, Record(0, 0, nil, make([]byte, 200<<20)))
	return []Damaged{
		{"count 2^31-1, no records", Batch(0, 1<<31-1, 0, 0, nil), CodeInvalidRecord},
		{"count 1,000,000, three records", Batch(0, 1000000, 2, 0, records), CodeInvalidRecord},
		{"count larger than records", Batch(0, 4, 3, 0, records), CodeInvalidRecord},
		{"count smaller than records", Batch(0, 2, 1, 0, records), CodeInvalidRecord},
		{"impossible record length", Batch(0, 1, 0, 0, append(binary.AppendVarint(nil, 1<<40), records...)), CodeInvalidRecord},
		{"negative record length", Batch(0, 1, 0, 0, append(binary.AppendVarint(nil, -5), records...)), CodeInvalidRecord},
		{"header count 2^40", Batch(0, 1, 0, 0, hugeHeaders), CodeInvalidRecord},
		{"offset deltas out of order", Batch(0, 3, 2, 0, append(Records("a", 1), Records("b", 2)...)), CodeInvalidRecord},
		{"random bytes as gzip", Batch(recordbatch.CodecGzip, 3, 2, 0, random), CodeCorruptMessage},
		{"random bytes as snappy", Batch(recordbatch.CodecSnappy, 3, 2, 0, random), CodeCorruptMessage},
		{"random bytes as lz4", Batch(recordbatch.CodecLZ4, 3, 2, 0, random), CodeCorruptMessage},
		{"random bytes as zstd", Batch(recordbatch.CodecZstd, 3, 2, 0, random), CodeCorruptMessage},
		{"codec 7", Batch(7, 3, 2, 0, records), CodeUnsupportedCompressionType},
		{"codec 5", Batch(5, 3, 2, 0, records), CodeUnsupportedCompressionType},
		{"gzip bomb", Batch(recordbatch.CodecGzip, 1, 0, 0, bomb), CodeCorruptMessage},
		{"truncated gzip", Batch(recordbatch.CodecGzip, 3, 2, 0, Compress(t, recordbatch.CodecGzip, records)[:30]), CodeCorruptMessage},
		{"gzip with a trailing record", Batch(recordbatch.CodecGzip, 2, 1, 0, Compress(t, recordbatch.CodecGzip, records)), CodeInvalidRecord},
	}
}
