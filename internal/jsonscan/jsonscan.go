// Package jsonscan is a single-pass JSON scanner for the decoders on Starling's hot paths:
// the ingester's fast path for v1.1 tweets and the ETL's decoder of canonical records.
// Decoding into structs through encoding/json's reflection costs more than everything
// else those paths do; a decoder built on Scanner reads the fields it needs, validates and
// skips the rest in the same pass, and leaves strings pointing into the input (or into a
// per-input buffer for strings with escapes), so that a record costs no allocation.
//
// Every method returns false at the first byte that is not valid JSON, or that it would
// not decode exactly as encoding/json does (keys with escapes or non-ASCII letters, which
// encoding/json folds in its own way); a decoder then declines the input, and its caller
// decodes it with encoding/json instead. Those decoders are held to encoding/json's
// results by differential tests and fuzzers.
package jsonscan

import (
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
	"unsafe"
)

// Scanner reads one JSON text at a time. The zero value is ready; Reset starts a text.
// Strings it returns share memory with the text or with the scanner's buffer, which the
// next Reset reuses: they are valid until then, and the text must not change meanwhile.
type Scanner struct {
	// Detached makes strings with escapes fresh allocations instead of views of the
	// scanner's buffer, so that they stay valid after the next Reset (strings without
	// escapes are views of the text either way).
	Detached bool

	b     []byte   // the text
	i     int      // the scan position in b
	arena []byte   // unescaped strings of the current text
	kbuf  [64]byte // a lower-cased key
}

// MaxDepth bounds the nesting Skip follows; deeper texts are declined.
const MaxDepth = 200

// Reset starts scanning b, leading white space skipped.
func (s *Scanner) Reset(b []byte) {
	s.b, s.i, s.arena = b, 0, s.arena[:0]
	s.WS()
}

// End skips trailing white space and reports whether the text is over.
func (s *Scanner) End() bool {
	s.WS()
	return s.i == len(s.b)
}

func (s *Scanner) WS() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

// Peek is the next byte, 0 at the end.
func (s *Scanner) Peek() byte {
	if s.i < len(s.b) {
		return s.b[s.i]
	}
	return 0
}

// Open consumes c (an opening brace or bracket).
func (s *Scanner) Open(c byte) bool {
	if s.Peek() != c {
		return false
	}
	s.i++
	s.WS()
	return true
}

// Key reads the next key of an object and its colon, lower-cased as encoding/json matches
// keys to fields (without regard to ASCII case); more is false at the closing brace.
func (s *Scanner) Key(first bool) (key []byte, more, ok bool) {
	s.WS()
	switch s.Peek() {
	case '}':
		s.i++
		return nil, false, true
	case ',':
		if first {
			return nil, false, false
		}
		s.i++
		s.WS()
	default:
		if !first {
			return nil, false, false
		}
	}
	if s.Peek() != '"' {
		return nil, false, false
	}
	start := s.i + 1
	i := start
	upper := false
	for ; i < len(s.b) && s.b[i] != '"'; i++ {
		c := s.b[i]
		if c == '\\' || c < 0x20 || c >= utf8.RuneSelf {
			return nil, false, false // escaped and non-ASCII keys fold in ways left to the reference
		}
		upper = upper || 'A' <= c && c <= 'Z'
	}
	if i >= len(s.b) {
		return nil, false, false
	}
	key = s.b[start:i]
	if upper && len(key) <= len(s.kbuf) { // longer keys match no field read here
		for j, c := range key {
			if 'A' <= c && c <= 'Z' {
				c += 'a' - 'A'
			}
			s.kbuf[j] = c
		}
		key = s.kbuf[:len(key)]
	}
	s.i = i + 1
	s.WS()
	if s.Peek() != ':' {
		return nil, false, false
	}
	s.i++
	s.WS()
	return key, true, true
}

// Element moves to the next element of an array; more is false at the closing bracket.
func (s *Scanner) Element(first bool) (more, ok bool) {
	s.WS()
	switch s.Peek() {
	case ']':
		s.i++
		return false, true
	case ',':
		if first {
			return false, false
		}
		s.i++
		s.WS()
	default:
		if !first {
			return false, false
		}
	}
	return true, true
}

// ObjectOrNull reports whether the value is an object (left to be read) or null (consumed).
func (s *Scanner) ObjectOrNull() (present, ok bool) {
	switch s.Peek() {
	case '{':
		return true, true
	case 'n':
		return false, s.Literal("null")
	}
	return false, false
}

// ArrayOrNull reports whether the value is an array (its bracket consumed) or null.
func (s *Scanner) ArrayOrNull() (present, ok bool) {
	switch s.Peek() {
	case '[':
		s.i++
		s.WS()
		return true, true
	case 'n':
		return false, s.Literal("null")
	}
	return false, false
}

func (s *Scanner) Literal(lit string) bool {
	if len(s.b)-s.i < len(lit) || string(s.b[s.i:s.i+len(lit)]) != lit {
		return false
	}
	s.i += len(lit)
	return true
}

// StrField reads a string, or null, which leaves dst alone as encoding/json does.
func (s *Scanner) StrField(dst *string) bool {
	switch s.Peek() {
	case 'n':
		return s.Literal("null")
	case '"':
		s, ok := s.Str()
		*dst = s
		return ok
	}
	return false
}

// IntField reads an integer that fits an int64, or null.
func (s *Scanner) IntField(dst *int64) bool {
	if s.Peek() == 'n' {
		return s.Literal("null")
	}
	start := s.i
	if !s.Number() {
		return false
	}
	n, err := strconv.ParseInt(unsafe.String(&s.b[start], s.i-start), 10, 64)
	if err != nil {
		return false // fractions, exponents, overflow: encoding/json reports a type error
	}
	*dst = n
	return true
}

// Str reads a string value. Without escapes it points into the line; with them, into the
// arena, unescaped as encoding/json does (a lone surrogate becomes U+FFFD).
func (s *Scanner) Str() (string, bool) {
	start := s.i + 1
	for i := start; i < len(s.b); i++ {
		switch c := s.b[i]; {
		case c == '"':
			s.i = i + 1
			if i == start {
				return "", true
			}
			return unsafe.String(&s.b[start], i-start), true
		case c == '\\':
			return s.escaped(start, i)
		case c < 0x20:
			return "", false
		}
	}
	return "", false
}

// escaped finishes a string from its first backslash at i, unescaping into the arena.
func (s *Scanner) escaped(start, i int) (string, bool) {
	a0 := len(s.arena)
	s.arena = append(s.arena, s.b[start:i]...)
	for i < len(s.b) {
		c := s.b[i]
		switch {
		case c == '"':
			s.i = i + 1
			out := s.arena[a0:]
			if s.Detached {
				return string(out), true
			}
			return unsafe.String(unsafe.SliceData(out), len(out)), true
		case c < 0x20:
			return "", false
		case c != '\\':
			s.arena = append(s.arena, c)
			i++
			continue
		}
		if i+1 >= len(s.b) {
			return "", false
		}
		switch e := s.b[i+1]; e {
		case '"', '\\', '/':
			s.arena = append(s.arena, e)
		case 'b':
			s.arena = append(s.arena, '\b')
		case 'f':
			s.arena = append(s.arena, '\f')
		case 'n':
			s.arena = append(s.arena, '\n')
		case 'r':
			s.arena = append(s.arena, '\r')
		case 't':
			s.arena = append(s.arena, '\t')
		case 'u':
			r, ok := hex4(s.b[i+2:])
			if !ok {
				return "", false
			}
			i += 6
			if utf16.IsSurrogate(r) {
				if dec := pairedRune(s.b, i, r); dec != utf8.RuneError {
					i += 6
					s.arena = utf8.AppendRune(s.arena, dec)
					continue
				}
				r = utf8.RuneError // a lone surrogate
			}
			s.arena = utf8.AppendRune(s.arena, r)
			continue
		default:
			return "", false
		}
		i += 2
	}
	return "", false
}

// pairedRune combines the surrogate r with the \uXXXX escape at b[i:] into one rune, or
// returns utf8.RuneError when they are not a pair.
func pairedRune(b []byte, i int, r rune) rune {
	if i+6 > len(b) || b[i] != '\\' || b[i+1] != 'u' {
		return utf8.RuneError
	}
	r2, ok := hex4(b[i+2:])
	if !ok {
		return utf8.RuneError
	}
	return utf16.DecodeRune(r, r2)
}

// hex4 reads four hex digits; b may be short.
func hex4(b []byte) (rune, bool) {
	if len(b) < 4 {
		return 0, false
	}
	var r rune
	for _, c := range b[:4] {
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c = c - 'a' + 10
		case 'A' <= c && c <= 'F':
			c = c - 'A' + 10
		default:
			return 0, false
		}
		r = r<<4 | rune(c)
	}
	return r, true
}

// skipStr validates and skips a string.
func (s *Scanner) skipStr() bool {
	for i := s.i + 1; i < len(s.b); i++ {
		switch c := s.b[i]; {
		case c == '"':
			s.i = i + 1
			return true
		case c < 0x20:
			return false
		case c == '\\':
			i++
			if i >= len(s.b) {
				return false
			}
			switch s.b[i] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
			case 'u':
				if _, ok := hex4(s.b[i+1:]); !ok {
					return false
				}
				i += 4
			default:
				return false
			}
		}
	}
	return false
}

// Number validates and skips a number in JSON's grammar.
func (s *Scanner) Number() bool {
	b, i := s.b, s.i
	digits := func() bool {
		s := i
		for i < len(b) && '0' <= b[i] && b[i] <= '9' {
			i++
		}
		return i > s
	}
	if i < len(b) && b[i] == '-' {
		i++
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case !digits():
		return false
	}
	if i < len(b) && b[i] == '.' {
		i++
		if !digits() {
			return false
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if !digits() {
			return false
		}
	}
	s.i = i
	return true
}

// Skip validates and skips any value.
func (s *Scanner) Skip(depth int) bool {
	if depth > MaxDepth {
		return false
	}
	switch s.Peek() {
	case '"':
		return s.skipStr()
	case '{':
		s.i++
		s.WS()
		for first := true; ; first = false {
			s.WS()
			switch s.Peek() {
			case '}':
				s.i++
				return true
			case ',':
				if first {
					return false
				}
				s.i++
				s.WS()
			default:
				if !first {
					return false
				}
			}
			if s.Peek() != '"' || !s.skipStr() {
				return false
			}
			s.WS()
			if s.Peek() != ':' {
				return false
			}
			s.i++
			s.WS()
			if !s.Skip(depth + 1) {
				return false
			}
		}
	case '[':
		s.i++
		s.WS()
		for first := true; ; first = false {
			s.WS()
			switch s.Peek() {
			case ']':
				s.i++
				return true
			case ',':
				if first {
					return false
				}
				s.i++
				s.WS()
			default:
				if !first {
					return false
				}
			}
			if !s.Skip(depth + 1) {
				return false
			}
		}
	case 't':
		return s.Literal("true")
	case 'f':
		return s.Literal("false")
	case 'n':
		return s.Literal("null")
	}
	return s.Number()
}
