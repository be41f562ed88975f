package sentiment

import (
	"unicode"
	"unicode/utf8"
)

// Emoji segmentation. The tokenizer keeps one emoji as a reader sees it in one token:
// the pictograph with its skin tone, variation selector, keycap, tag sequence (the
// flags of England, Scotland, Wales) and ZWJ-joined parts ("👩‍💻", "👨‍👩‍👧"), and a
// flag's two regional indicators. This is the emoji part of Unicode's extended
// grapheme clusters (UAX #29), which is all a tweet's sentiment needs; letters and
// their combining marks are kept together by the word scanner.

const (
	zwj       = 0x200D
	vs15      = 0xFE0E // text presentation
	vs16      = 0xFE0F // emoji presentation
	keycap    = 0x20E3
	skinFirst = 0x1F3FB // the five Fitzpatrick skin-tone modifiers
	skinLast  = 0x1F3FF
	riFirst   = 0x1F1E6 // regional indicators A-Z, two to a flag
	riLast    = 0x1F1FF
)

// isEmojiStart reports whether r begins an emoji: the pictograph blocks of Unicode
// (symbols and pictographs, emoticons, transport, supplemental symbols, dingbats,
// miscellaneous symbols and technical, the stars and squares of arrows-and-shapes),
// which take in emoji newer than the lexicon.
func isEmojiStart(r rune) bool {
	switch {
	case 0x1F000 <= r && r <= 0x1FAFF:
		return true
	case 0x2600 <= r && r <= 0x27BF:
		return true
	case 0x2B00 <= r && r <= 0x2BFF, 0x2300 <= r && r <= 0x23FF:
		return true
	}
	return false
}

// isEmojiModifier reports whether r changes the emoji before it without starting a new
// one.
func isEmojiModifier(r rune) bool {
	return r == vs16 || r == vs15 || r == keycap || skinFirst <= r && r <= skinLast || 0xE0020 <= r && r <= 0xE007F
}

// scanEmoji returns the end of the emoji that starts at text[i].
func scanEmoji(text string, i int) int {
	r, n := utf8.DecodeRuneInString(text[i:])
	end := i + n
	if riFirst <= r && r <= riLast {
		if r2, n2 := utf8.DecodeRuneInString(text[end:]); riFirst <= r2 && r2 <= riLast {
			end += n2
		}
		return end
	}
	for end < len(text) {
		r, n := utf8.DecodeRuneInString(text[end:])
		switch {
		case isEmojiModifier(r):
			end += n
		case r == zwj:
			r2, n2 := utf8.DecodeRuneInString(text[end+n:])
			if !isEmojiStart(r2) && !unicode.IsSymbol(r2) {
				return end
			}
			end += n + n2
		default:
			return end
		}
	}
	return end
}

// appendEmojiBase appends e without variation selectors and skin tones, the form
// emoji are looked up in when their exact sequence is not in the lexicon: a skin tone
// does not change what an emoji says.
func appendEmojiBase(dst []byte, e string) []byte {
	for _, r := range e {
		if r != vs15 && r != vs16 && !(skinFirst <= r && r <= skinLast) {
			dst = utf8.AppendRune(dst, r)
		}
	}
	return dst
}
