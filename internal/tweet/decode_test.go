package tweet

import (
	"bytes"
	"math/rand/v2"
	"reflect"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// sameDecoding checks one input: the Decoder and Decode agree on the record or on failing.
func sameDecoding(t *testing.T, d *Decoder, b []byte) {
	t.Helper()
	orig := bytes.Clone(b)
	got, err1 := d.Decode(b)
	want, err2 := Decode(b)
	if !bytes.Equal(b, orig) {
		t.Fatalf("the Decoder changed its input")
	}
	if (err1 == nil) != (err2 == nil) {
		t.Fatalf("on %s:\nDecoder: %+v, %v\nDecode:  %+v, %v", b, got, err1, want, err2)
	}
	if err1 != nil {
		return
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("on %s (-Decode +Decoder):\n%s", b, diff)
	}
}

// TestDecoderMatchesDecode decodes random records, encoded and then rewritten in the ways
// other producers write JSON (reordered, spaced, escaped, upper-case keys, nulls, extra
// fields), with both decoders.
func TestDecoderMatchesDecode(t *testing.T) {
	t.Parallel()
	alphabet := []string{"a", "Z", "0", " ", "#", "\"", "\\", "/", "<", "é", "😀", "\u2028", "\xff", "'", "\n"}
	rng := rand.New(rand.NewPCG(3, 4))
	var d Decoder
	variants := []func([]byte) []byte{
		func(b []byte) []byte { return b },
		func(b []byte) []byte { return bytes.ReplaceAll(b, []byte(`,"`), []byte(" ,\n \"")) },
		func(b []byte) []byte { return bytes.Replace(b, []byte(`"text"`), []byte(`"TEXT"`), 1) },
		func(b []byte) []byte { return bytes.Replace(b, []byte(`"lang":`), []byte(`"lang":null,"x_lang":`), 1) },
		func(b []byte) []byte {
			return bytes.Replace(b, []byte(`"schema":`), []byte(`"schema": 2,"schema":`), 1)
		},
		func(b []byte) []byte {
			return bytes.Replace(b, []byte(`{"schema"`), []byte(`{"reason":null,"schema"`), 1)
		},
		func(b []byte) []byte { return bytes.Replace(b, []byte(`e`), []byte(`\u0065`), 3) },
		func(b []byte) []byte { return bytes.Replace(b, []byte(`"hashtags":[`), []byte(`"hashtags":[null,`), 1) },
		func(b []byte) []byte { return append(b, " x"...) },
	}
	for i := range 20000 {
		var r Record
		fill(rng, reflect.ValueOf(&r).Elem(), alphabet)
		r.CreatedAt = time.Unix(rng.Int64N(1<<33), rng.Int64N(1e9)).UTC()
		if i%3 == 0 {
			r.ID, r.Schema = "12345", SchemaVersion
		}
		b, err := Encode(r)
		if err != nil {
			continue
		}
		sameDecoding(t, &d, variants[i%len(variants)](b))
	}
}

// TestDecoderTakesCanonicalRecords checks that the fast path does the decoding of what
// the ingester writes, rather than leaving it all to encoding/json.
func TestDecoderTakesCanonicalRecords(t *testing.T) {
	t.Parallel()
	r := Record{Schema: 2, ID: "1500000000000000000", CreatedAt: time.Date(2026, 3, 14, 10, 0, 0, 123e6, time.UTC),
		Text: "Loving the new #golang release! 🎉 \"quoted\"\nhttps://go.dev <3", Lang: "en",
		User: User{ID: "12", ScreenName: "gopher", Name: "Go Pher", Followers: 1234}, Hashtags: []string{"golang"},
		URLs: []string{"https://go.dev"}, EditHistory: []string{"1499999999999999999", "1500000000000000000"}, SourceFormat: FormatV2}
	b, err := Encode(r)
	if err != nil {
		t.Fatal(err)
	}
	var d Decoder
	var got Record
	if !d.fast(b, &got) {
		t.Fatalf("the fast path declined a canonical record: %s", b)
	}
	if diff := cmp.Diff(r, got); diff != "" {
		t.Fatalf("(-want +got):\n%s", diff)
	}
	// A string with escapes outlives the decoder's next record.
	text := got.Text
	d.Decode(bytes.ReplaceAll(b, []byte("quoted"), []byte("other\\n")))
	if text != r.Text {
		t.Fatalf("the first record's text changed to %q", text)
	}
}

func FuzzDecoder(f *testing.F) {
	f.Add([]byte(`{"schema":2,"id":"5","created_at":"2026-03-14T10:00:00Z","text":"hi \u00e9 \ud83d\ude00","user":{"id":"9","followers":3},"hashtags":["a","b"],"source_format":"twitter-v1.1"}`))
	f.Add([]byte(`{"schema":2,"kind":"delete","id":"5","created_at":"2026-03-14T10:00:00+01:00","user":{"id":"9"},"reason":"deleted"}`))
	f.Add([]byte(`{"schema":1e0,"id":"5","created_at":"2026-03-14T10:00:00.5Z"}`))
	f.Add([]byte(`{"Schema":1,"ID":"5","Created_At":"2026-02-30T10:00:00Z","user":null,"urls":null}`))
	var d Decoder
	f.Fuzz(func(t *testing.T, b []byte) {
		sameDecoding(t, &d, b)
	})
}

func BenchmarkDecode(b *testing.B) {
	r := Record{Schema: 2, ID: "1500000000000000000", CreatedAt: time.Now(), Text: "Loving the new #golang release! 🎉 https://go.dev <3",
		Lang: "en", User: User{ID: "12", ScreenName: "gopher", Name: "Go Pher", Followers: 1234}, Hashtags: []string{"golang"},
		URLs: []string{"https://go.dev"}, SourceFormat: FormatV11}
	v, _ := Encode(r)
	b.Run("encoding-json", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(v)))
		for range b.N {
			Decode(v)
		}
	})
	b.Run("decoder", func(b *testing.B) {
		var d Decoder
		b.ReportAllocs()
		b.SetBytes(int64(len(v)))
		for range b.N {
			d.Decode(v)
		}
	})
}
