package tweet

import (
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"
)

// AppendCashtags appends to dst the cashtags of text, without '$', each once, as written:
// Twitter's rule, a '$' at the start of the text or after a space, then one to six ASCII
// letters, optionally '.' or '_' and one or two more ("$BRK.B"), then the end of the text,
// a space or ASCII punctuation. Amounts are not cashtags ("$100K", "$3.5").
func AppendCashtags(dst []string, text string) []string {
	start := len(dst)
	for i := strings.IndexByte(text, '$'); i >= 0; i = nextDollar(text, i+1) {
		if i > 0 {
			if r, _ := utf8.DecodeLastRuneInString(text[:i]); !unicode.IsSpace(r) {
				continue
			}
		}
		if sym, ok := cashtagAt(text[i+1:]); ok && !slices.Contains(dst[start:], sym) {
			dst = append(dst, sym)
		}
	}
	return dst
}

// nextDollar is the index of the next '$' in text at or after from, or -1.
func nextDollar(text string, from int) int {
	if j := strings.IndexByte(text[from:], '$'); j >= 0 {
		return from + j
	}
	return -1
}

// cashtagAt returns the symbol that s, the text after a '$', starts with, if it is one.
func cashtagAt(s string) (string, bool) {
	n := asciiLetters(s, 6)
	if n == 0 {
		return "", false
	}
	if n < len(s) && (s[n] == '.' || s[n] == '_') {
		if m := asciiLetters(s[n+1:], 2); m > 0 {
			n += 1 + m
		}
	}
	if n < len(s) {
		r, _ := utf8.DecodeRuneInString(s[n:])
		if !unicode.IsSpace(r) && !(r < utf8.RuneSelf && unicode.IsPunct(r) || r < utf8.RuneSelf && unicode.IsSymbol(r)) {
			return "", false // "$AAPL2", "$TOOLONG", "$Ünï"
		}
	}
	return s[:n], true
}

// asciiLetters is how many ASCII letters s starts with, if at most max; 0 if more.
func asciiLetters(s string, max int) int {
	n := 0
	for n < len(s) && (s[n] >= 'a' && s[n] <= 'z' || s[n] >= 'A' && s[n] <= 'Z') {
		n++
	}
	if n > max {
		return 0
	}
	return n
}
