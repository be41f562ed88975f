package recordbatch

import (
	"encoding/binary"
	"errors"
	"slices"
	"testing"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// FuzzRecords feeds arbitrary batches to record validation: what it accepts, franz-go's
// record decoder reads as exactly the batch's declared records, in offset order.
func FuzzRecords(f *testing.F) {
	for _, n := range []int{1, 3} {
		var recs []byte
		for i := range n {
			r := kmsg.NewRecord()
			r.OffsetDelta = int32(i)
			r.Key, r.Value = []byte("k"), []byte("value")
			r.Headers = []kmsg.Header{{Key: "h", Value: []byte("v")}}
			body := r.AppendTo(nil)[1:]
			recs = append(binary.AppendVarint(recs, int64(len(body))), body...)
		}
		rb := kmsg.NewRecordBatch()
		rb.Magic, rb.NumRecords, rb.LastOffsetDelta, rb.Records = 2, int32(n), int32(n-1), recs
		f.Add(rb.AppendTo(nil))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) < HeaderSize {
			return
		}
		// Fix the framing so that the fuzzer spends its time on the records.
		data = slices.Clone(data)
		data[OffMagic] = 2
		binary.BigEndian.PutUint32(data[OffBatchLength:], uint32(len(data)-LengthOverhead))
		binary.BigEndian.PutUint16(data[OffAttributes:], binary.BigEndian.Uint16(data[OffAttributes:])&^0x38)
		h, err := ParseHeader(data)
		if err != nil {
			return
		}
		if err := Validate(data, &h, 1<<20); err != nil {
			if !errors.Is(err, ErrInvalidRecord) && !errors.Is(err, ErrCorrupt) && !errors.Is(err, ErrUnsupportedCompression) {
				t.Fatalf("validation error of an unexpected kind: %v", err)
			}
			return
		}
		if h.Attributes&0x07 != 0 {
			return // compressed: the consumer tests cover these
		}
		rest := data[HeaderSize:]
		for i := range h.RecordCount {
			n, k := binary.Varint(rest)
			if k <= 0 || n < 0 || int(n) > len(rest)-k {
				t.Fatalf("accepted, but record %d's length does not decode", i)
			}
			var r kmsg.Record
			if err := r.ReadFrom(rest[:k+int(n)]); err != nil {
				t.Fatalf("accepted, but franz-go cannot decode record %d: %v", i, err)
			}
			if r.OffsetDelta != i {
				t.Fatalf("accepted record %d with offset delta %d", i, r.OffsetDelta)
			}
			rest = rest[k+int(n):]
		}
		if len(rest) != 0 {
			t.Fatalf("accepted with %d bytes after the records", len(rest))
		}
	})
}
