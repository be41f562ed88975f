package jsonscan

import (
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzSkip holds the scanner's validation to encoding/json's: Skip accepts exactly the
// texts json.Valid does (within MaxDepth), and Str decodes a string as json.Unmarshal does.
func FuzzSkip(f *testing.F) {
	for _, s := range []string{`{"a":[1,-2.5e3,true,false,null,"x\u00e9\ud83d\ude00\n"]}`, `[]`, `{}`, `"\ud800"`, `01`, `1.`, `{"a":1,}`, `"\x"`, ` 5 `, `"a` + "\x01" + `"`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if strings.Count(string(b), "[")+strings.Count(string(b), "{") > MaxDepth {
			return
		}
		var s Scanner
		s.Reset(b)
		ok := s.Skip(0) && s.End()
		if ok != json.Valid(b) {
			t.Fatalf("Skip says %v, json.Valid %v, on %q", ok, !ok, b)
		}
		s.Reset(b)
		if s.Peek() != '"' || !utf8.Valid(b) { // the decoders check UTF-8 first
			return
		}
		got, ok := s.Str()
		var want string
		if ok && s.End() {
			if err := json.Unmarshal(b, &want); err != nil || got != want {
				t.Fatalf("Str = %q, json.Unmarshal = %q (%v) on %q", got, want, err, b)
			}
		}
	})
}
