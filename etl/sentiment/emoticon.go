package sentiment

import "strings"

// Emoticon recognition. An emoticon is matched by its shape rather than looked up in a
// list, because tweets vary them without end (":)", ":-)", ":))))", "=)", ":'-)"); the
// scorer then finds a valence for the shape (see emoticonValence). Shapes that start
// with a letter or digit ("xD", "8)", "D:", "O_o") count only at the start of a field,
// and every shape must end before a non-alphanumeric rune, so that words ("Dad:"),
// times ("10:30") and URLs ("http://") are not taken for faces.

// emoAt returns the byte at text[i] and its width for matching emoticons, reading the
// HTML entities "&lt;" and "&gt;" as '<' and '>' because Twitter's v1.1 API escapes
// them ("&lt;3"). At the end of text it returns 0, 0.
func emoAt(text string, i int) (byte, int) {
	if i >= len(text) {
		return 0, 0
	}
	c := text[i]
	if c == '&' && i+3 < len(text) && text[i+2] == 't' && text[i+3] == ';' {
		switch text[i+1] {
		case 'l':
			return '<', 4
		case 'g':
			return '>', 4
		}
	}
	return c, 1
}

// emoticonLen returns the length in bytes of the emoticon at text[i], or 0.
func emoticonLen(text string, i int) int {
	c, _ := emoAt(text, i)
	if !emoticonStart[c] {
		return 0
	}
	start := atFieldStart(text, i)
	if n := heartLen(text, i); n > 0 {
		return n
	}
	if n := westernLen(text, i, start); n > 0 {
		return n
	}
	if !start {
		return 0
	}
	if n := reversedLen(text, i); n > 0 {
		return n
	}
	if n := easternLen(text, i); n > 0 {
		return n
	}
	// Whatever else the lexicon lists (":-###..", "@}-;-'---"), as a whole field. Those
	// all start with ASCII punctuation, so a word's field is not looked up.
	if c := text[i]; c >= 0x80 || isASCIIAlnum(c) {
		return 0
	}
	if end := fieldEnd(text, i); end > i && lexiconEmoticons()[text[i:end]] {
		return end - i
	}
	return 0
}

// emoticonStart holds the bytes an emoticon can start with, so that most tokens are
// ruled out with one lookup.
var emoticonStart = func() (t [256]bool) {
	// The shapes below, and the first bytes of the lexicon's other emoticons.
	for _, c := range []byte(":;=8xX<>}]3oO0()[{D^-T~*@+uU\\|/%$&,.") {
		t[c] = true
	}
	return t
}()

// heartLen matches "<3", "</3", "<\3" and longer hearts ("<333").
func heartLen(text string, i int) int {
	c, w := emoAt(text, i)
	if c != '<' {
		return 0
	}
	j := i + w
	if j < len(text) && (text[j] == '/' || text[j] == '\\') {
		j++
	}
	if j >= len(text) || text[j] != '3' {
		return 0
	}
	for j < len(text) && text[j] == '3' {
		j++
	}
	if !boundaryAt(text, j) {
		return 0
	}
	return j - i
}

// mouths are what follows the eyes (and nose) of a western emoticon. Letters and
// digits among them need a boundary after the emoticon.
var mouths = func() (t [256]bool) {
	for _, c := range []byte(")(][}{/\\|*$@><DPpdSsOoCcX3") {
		t[c] = true
	}
	return t
}()

// westernLen matches [hat] eyes [tear] [nose] mouth, the mouth perhaps repeated:
// ":)", ":-(", ";-)", ":'(", ">:(", "3:)", "0:)", "=D", ":PPP", "xD", "8-)".
func westernLen(text string, i int, fieldStart bool) int {
	j := i
	c, w := emoAt(text, j)
	// A hat: ">:(" (angry), "}:)" (devilish), "0:)" and "O:)" (angelic), "3:)".
	if strings.IndexByte(">}]30oO", c) >= 0 {
		if n, _ := emoAt(text, j+w); n == ':' || n == ';' {
			if c == '>' || c == '}' || c == ']' || fieldStart {
				j += w
				c, w = emoAt(text, j)
			}
		}
	}
	letterEyes, eyes := false, c
	switch c {
	case ':', ';', '=':
	case '8', 'x', 'X':
		if !fieldStart || j != i {
			return 0
		}
		letterEyes = true
	default:
		return 0
	}
	j += w
	c, w = emoAt(text, j)
	if c == '\'' && !letterEyes { // a tear
		j += w
		c, w = emoAt(text, j)
	}
	if c == '-' || c == '^' || c == 'o' || c == 'O' || c == '\'' { // a nose, if a mouth follows
		if m, _ := emoAt(text, j+w); mouths[m] && !(m == 'o' || m == 'O') {
			j += w
			c, w = emoAt(text, j)
		}
	}
	if !mouths[c] {
		return 0
	}
	if letterEyes && strings.IndexByte(")DPdp", c) < 0 {
		return 0 // "x)" and "8(" are too often something else
	}
	if eyes == '=' && (c == '>' || c == '<') {
		return 0 // "=>" is an arrow
	}
	if c == '/' && j+1 < len(text) && text[j+1] == '/' {
		return 0 // "http://", "a://"
	}
	mouth := c
	for c == mouth {
		j += w
		c, w = emoAt(text, j)
	}
	if !boundaryAt(text, j) {
		return 0
	}
	return j - i
}

// reversedLen matches faces drawn right to left, at the start of a field: "(:",
// "(-:", "):", ")-:", "D:", "(=", "]:".
func reversedLen(text string, i int) int {
	j := i
	c, w := emoAt(text, j)
	if strings.IndexByte("()[]{}D|\\/", c) < 0 {
		return 0
	}
	mouth := c
	for c == mouth {
		j += w
		c, w = emoAt(text, j)
	}
	if c == '-' || c == '\'' || c == '^' || c == 'o' {
		j += w
		c, w = emoAt(text, j)
	}
	if c != ':' && c != ';' && c != '=' {
		return 0
	}
	j += w
	if !boundaryAt(text, j) {
		return 0
	}
	if n, _ := emoAt(text, j); n == ':' || n == '/' {
		return 0 // "D::" and "(://" are not faces
	}
	return j - i
}

// easternEyes are the eyes of faces drawn upright: "^_^", "-_-", "T_T", "o_O", ";_;",
// ">_<", "*_*", "@_@", "u_u", "=_=", "~_~".
var easternEyes = func() (t [256]bool) {
	for _, c := range []byte("^-T;oO><xXuU=*@~+") {
		t[c] = true
	}
	return t
}()

// easternLen matches eye [mouth] eye with a mouth of '_' or '.' (up to three), or
// "^^" and "^-^", and an optional trailing ';' (a drop of sweat).
func easternLen(text string, i int) int {
	j := i
	left, w := emoAt(text, j)
	if !easternEyes[left] {
		return 0
	}
	j += w
	c, w := emoAt(text, j)
	mouth := 0
	for (c == '_' || c == '.') && mouth < 3 {
		mouth++
		j += w
		c, w = emoAt(text, j)
	}
	if mouth == 0 {
		// Only "^^", "^-^" and "^o^" draw a face without '_' or '.'.
		if left != '^' {
			return 0
		}
		if c == '-' || c == 'o' {
			j += w
			c, w = emoAt(text, j)
		}
	}
	if !easternEyes[c] || isASCIILetter(left) && isASCIILetter(c) && left|0x20 != c|0x20 {
		return 0 // letters for eyes come in pairs ("o_O", "T_T"), unlike "T.O"
	}
	j += w
	if n, nw := emoAt(text, j); n == ';' {
		j += nw
	}
	if !boundaryAt(text, j) {
		return 0
	}
	return j - i
}

// keycapLen matches a keycap emoji ("1️⃣", "#️⃣"): a digit, '#' or '*', an optional
// variation selector and U+20E3.
func keycapLen(text string, i int) int {
	c := text[i]
	if !(isDigit(c) || c == '#' || c == '*') {
		return 0
	}
	j := i + 1
	if strings.HasPrefix(text[j:], "\uFE0F") {
		j += len("\uFE0F")
	}
	if !strings.HasPrefix(text[j:], "\u20E3") {
		return 0
	}
	return j + len("\u20E3") - i
}
