package tweet

import (
	"bytes"
	"math/rand/v2"
	"reflect"
	"testing"
	"time"
)

// fill sets every exported field of v (recursively) to a random value, so that a field
// added to Record and forgotten by AppendEncode fails the comparison.
func fill(rng *rand.Rand, v reflect.Value, alphabet []string) {
	switch v.Kind() {
	case reflect.Struct:
		if v.Type() == reflect.TypeOf(time.Time{}) {
			v.Set(reflect.ValueOf(time.Unix(rng.Int64N(1<<35)-1<<33, rng.Int64N(1e9)).In(time.FixedZone("x", 3600))))
			return
		}
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() {
				fill(rng, v.Field(i), alphabet)
			}
		}
	case reflect.String:
		if rng.IntN(4) == 0 {
			v.SetString("") // omitempty
			return
		}
		var s string
		for range rng.IntN(12) {
			s += alphabet[rng.IntN(len(alphabet))]
		}
		v.SetString(s)
	case reflect.Int, reflect.Int64, reflect.Int32:
		v.SetInt(rng.Int64N(1<<40) - 1<<39)
	case reflect.Bool:
		v.SetBool(rng.IntN(2) == 0)
	case reflect.Slice:
		n := rng.IntN(4)
		s := reflect.MakeSlice(v.Type(), n, n)
		for i := range n {
			fill(rng, s.Index(i), alphabet)
		}
		if n > 0 || rng.IntN(2) == 0 {
			v.Set(s)
		}
	}
}

// TestAppendEncodeMatchesEncodingJSON compares AppendEncode with encoding/json on random
// records full of characters that need escaping.
func TestAppendEncodeMatchesEncodingJSON(t *testing.T) {
	t.Parallel()
	alphabet := []string{"a", "Z", "0", " ", "#", "\"", "\\", "/", "<", ">", "&", "\b", "\f", "\n", "\r", "\t", "\x00", "\x1f", "\x7f",
		"é", "✓", "😀", "\u2028", "\u2029", "\xff", "\xe2\x82", "\xed\xa0\x80", "'"}
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range 20000 {
		var r Record
		fill(rng, reflect.ValueOf(&r).Elem(), alphabet)
		if i%10 == 0 {
			r.Schema = 0
		}
		want, err := Encode(r)
		got, err2 := AppendEncode(nil, &r)
		if (err == nil) != (err2 == nil) || !bytes.Equal(got, want) {
			t.Fatalf("record %+v:\nAppendEncode %s (%v)\nEncode       %s (%v)", r, got, err2, want, err)
		}
	}
}

func BenchmarkEncode(b *testing.B) {
	r := Record{Schema: 1, ID: "1500000000000000000", CreatedAt: time.Now(), Text: "Loving the new #golang release! 🎉 https://go.dev <3",
		Lang: "en", User: User{ID: "12", ScreenName: "gopher", Name: "Go Pher", Followers: 1234}, Hashtags: []string{"golang"},
		URLs: []string{"https://go.dev"}, SourceFormat: FormatV11}
	b.Run("encoding-json", func(b *testing.B) {
		b.ReportAllocs()
		for range b.N {
			Encode(r)
		}
	})
	b.Run("append", func(b *testing.B) {
		b.ReportAllocs()
		var buf []byte
		for range b.N {
			buf, _ = AppendEncode(buf[:0], &r)
		}
	})
}
