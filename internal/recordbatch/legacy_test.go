package recordbatch

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"slices"
	"testing"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/snappy"
	"github.com/pierrec/lz4/v4"
)

// message encodes one message of a message set (offset, size and body).
func message(offset int64, magic, attrs int8, ts int64, key, value []byte) []byte {
	body := []byte{0, 0, 0, 0, byte(magic), byte(attrs)}
	if magic == 1 {
		body = binary.BigEndian.AppendUint64(body, uint64(ts))
	}
	body = appendInt32Bytes(body, key)
	body = appendInt32Bytes(body, value)
	binary.BigEndian.PutUint32(body, crc32.ChecksumIEEE(body[4:]))
	out := binary.BigEndian.AppendUint64(nil, uint64(offset))
	out = binary.BigEndian.AppendUint32(out, uint32(len(body)))
	return append(out, body...)
}

// kafkaLZ4 compresses b as Kafka clients before 0.10 did: an LZ4 frame whose header
// checksum also covers the frame's magic number.
func kafkaLZ4(t testing.TB, b []byte) []byte {
	var buf bytes.Buffer
	w := lz4.NewWriter(&buf)
	if _, err := w.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	f := buf.Bytes()
	end := 6
	if f[4]&0x08 != 0 {
		end += 8
	}
	f[end] = byte(xxh32(f[:end]) >> 8)
	return f
}

// legacySet builds a message set of n messages of the magic, compressed with codec in one
// wrapper when codec is not none, and returns it with the keys and values it holds.
func legacySet(t testing.TB, magic int8, codec int16, n int) ([]byte, []string) {
	var inner []byte
	var want []string
	for i := range n {
		var key []byte
		if i%3 != 0 {
			key = fmt.Appendf(nil, "k%d", i)
		}
		value := fmt.Appendf(nil, "value %d %s", i, bytes.Repeat([]byte("x"), i))
		inner = append(inner, message(int64(i), magic, 0, 1700000000000+int64(i), key, value)...)
		want = append(want, fmt.Sprintf("%q=%q", key, value))
	}
	if codec == CodecNone {
		return inner, want
	}
	var z []byte
	switch codec {
	case CodecGzip:
		var buf bytes.Buffer
		w := gzip.NewWriter(&buf)
		w.Write(inner)
		w.Close()
		z = buf.Bytes()
	case CodecSnappy:
		z = snappy.Encode(nil, inner)
	case CodecLZ4:
		if magic == 0 {
			z = kafkaLZ4(t, inner)
		} else {
			c, err := compress(CodecLZ4, inner)
			if err != nil {
				t.Fatal(err)
			}
			z = c
		}
	}
	return message(int64(n-1), magic, int8(codec), 1700000000000+int64(n-1), nil, z), want
}

// messagesOf reads a message set back as key=value strings.
func messagesOf(t testing.TB, ms []byte) (out []string, offsets []int64) {
	t.Helper()
	for rest := ms; len(rest) > 0; {
		offsets = append(offsets, int64(binary.BigEndian.Uint64(rest)))
		size := int(binary.BigEndian.Uint32(rest[8:]))
		if err := readMessageSet(rest[:12+size], func(m legacyMessage) error {
			out = append(out, fmt.Sprintf("%q=%q", m.key, m.value))
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		rest = rest[12+size:]
	}
	return out, offsets
}

// TestMessageSetsConvertBothWays: message sets of magic 0 and 1, in every codec they know
// (LZ4 of magic 0 in Kafka's old framing), convert to one v2 batch that passes the
// producer checks and keeps the set's codec, and back to the same messages.
func TestMessageSetsConvertBothWays(t *testing.T) {
	t.Parallel()
	for _, magic := range []int8{0, 1} {
		for codec := range int16(CodecLZ4 + 1) {
			t.Run(fmt.Sprintf("magic%d/%s", magic, codecName(codec)), func(t *testing.T) {
				ms, want := legacySet(t, magic, codec, 20)
				batch, err := FromMessageSet(ms, 1<<20, 1800000000000)
				if err != nil {
					t.Fatal(err)
				}
				hs, err := Split(batch)
				if err != nil || len(hs) != 1 {
					t.Fatalf("converted batch: %v", err)
				}
				h := hs[0]
				if h.Codec() != codec || h.RecordCount != 20 || h.LastOffsetDelta != 19 {
					t.Fatalf("converted batch: codec %d, %d records, last delta %d", h.Codec(), h.RecordCount, h.LastOffsetDelta)
				}
				if err := Validate(batch, &h, 1<<20); err != nil {
					t.Fatalf("converted batch fails the producer checks: %v", err)
				}
				wantTS := int64(1700000000019)
				if magic == 0 {
					wantTS = 1800000000000
				}
				if h.MaxTimestamp != wantTS || (h.Attributes&AttrLogAppendTime != 0) != (magic == 0) {
					t.Fatalf("max timestamp %d, attributes %#x; want %d, log append time only for magic 0", h.MaxTimestamp, h.Attributes, wantTS)
				}
				binary.BigEndian.PutUint64(batch, 100) // as a log stores it
				for _, down := range []int8{0, 1} {
					out, err := AppendMessageSet(nil, batch, down, 0, 1<<20, 1<<20)
					if err != nil {
						t.Fatal(err)
					}
					got, offsets := messagesOf(t, out)
					if !slices.Equal(got, want) || offsets[0] != 100 || offsets[19] != 119 {
						t.Fatalf("down to magic %d: %v at %v, want %v from 100", down, got, offsets, want)
					}
					// From an offset inside the batch, within a byte limit: at least one.
					out, err = AppendMessageSet(nil, batch, down, 110, 1, 1<<20)
					if err != nil {
						t.Fatal(err)
					}
					if got, offsets := messagesOf(t, out); len(got) != 1 || offsets[0] != 110 || got[0] != want[10] {
						t.Fatalf("from 110 within 1 byte: %v at %v", got, offsets)
					}
				}
			})
		}
	}
}

// TestFromMessageSetRefusesDamage: framing, CRCs, codecs and decompression are checked.
func TestFromMessageSetRefusesDamage(t *testing.T) {
	t.Parallel()
	good, _ := legacySet(t, 1, CodecNone, 3)
	badCRC := bytes.Clone(good)
	badCRC[len(badCRC)-1] ^= 1
	long := bytes.Clone(good)
	binary.BigEndian.PutUint32(long[8:], 1<<30)
	gz, _ := legacySet(t, 1, CodecGzip, 3)
	nested := message(0, 1, int8(CodecSnappy), 0, nil, snappy.Encode(nil, gz))
	bomb := func() []byte {
		var buf bytes.Buffer
		w := gzip.NewWriter(&buf)
		w.Write(message(0, 1, 0, 0, nil, make([]byte, 50<<20)))
		w.Close()
		return message(0, 1, int8(CodecGzip), 0, nil, buf.Bytes())
	}()
	cases := []struct {
		name string
		ms   []byte
		want error
	}{
		{"empty", nil, ErrCorrupt},
		{"bad crc", badCRC, ErrCorrupt},
		{"size past the end", long, ErrCorrupt},
		{"truncated", good[:len(good)-2], ErrCorrupt},
		{"codec 4 in magic 1", message(0, 1, 4, 0, nil, []byte("x")), ErrUnsupportedCompression},
		{"codec 6", message(0, 1, 6, 0, nil, []byte("x")), ErrUnsupportedCompression},
		{"random bytes as gzip", message(0, 1, int8(CodecGzip), 0, nil, []byte("not gzip at all")), ErrCorrupt},
		{"nested compression", nested, ErrInvalidRecord},
		{"magic 2", message(0, 2, 0, 0, nil, []byte("x")), ErrUnsupportedMagic},
		{"gzip bomb", bomb, ErrCorrupt},
		{"two wrappers", append(bytes.Clone(gz), gz...), ErrInvalidRecord},
	}
	for _, c := range cases {
		if _, err := FromMessageSet(c.ms, 1<<20, 0); !errors.Is(err, c.want) {
			t.Errorf("%s: %v, want %v", c.name, err, c.want)
		}
	}
}

// FuzzFromMessageSet: whatever a message set holds, conversion does not panic, and what
// it accepts is a batch the producer checks accept and that converts back to as many
// messages.
func FuzzFromMessageSet(f *testing.F) {
	for _, magic := range []int8{0, 1} {
		for codec := range int16(CodecLZ4 + 1) {
			ms, _ := legacySet(f, magic, codec, 3)
			f.Add(ms)
		}
	}
	f.Fuzz(func(t *testing.T, ms []byte) {
		batch, err := FromMessageSet(ms, 1<<20, 1800000000000)
		if err != nil {
			if !errors.Is(err, ErrCorrupt) && !errors.Is(err, ErrInvalidRecord) && !errors.Is(err, ErrUnsupportedCompression) && !errors.Is(err, ErrUnsupportedMagic) {
				t.Fatalf("error of an unexpected kind: %v", err)
			}
			return
		}
		hs, err := Split(batch)
		if err != nil || len(hs) != 1 {
			t.Fatalf("converted batch: %v", err)
		}
		if err := Validate(batch, &hs[0], 1<<20); err != nil {
			t.Fatalf("converted batch fails the producer checks: %v", err)
		}
		out, err := AppendMessageSet(nil, batch, 1, 0, 1<<30, 1<<20)
		if err != nil {
			t.Fatal(err)
		}
		if got, _ := messagesOf(t, out); len(got) != int(hs[0].RecordCount) {
			t.Fatalf("converted back to %d messages, the batch holds %d", len(got), hs[0].RecordCount)
		}
	})
}
