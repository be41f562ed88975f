package sentiment

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// stopWords are left out of word clouds: function words of English and, briefly, of the
// other languages common in the feed (Spanish, French, German, Portuguese), plus Twitter's
// own noise ("rt", "via", "amp" from "&amp;").
var stopWords = setOf(
	// English
	"a", "about", "above", "after", "again", "against", "all", "also", "am", "an", "and", "any",
	"are", "aren't", "as", "at", "be", "because", "been", "before", "being", "below", "between",
	"both", "but", "by", "can", "can't", "cannot", "could", "couldn't", "did", "didn't", "do",
	"does", "doesn't", "doing", "don't", "down", "during", "each", "few", "for", "from", "further",
	"get", "got", "had", "hadn't", "has", "hasn't", "have", "haven't", "having", "he", "he's",
	"her", "here", "hers", "herself", "him", "himself", "his", "how", "i", "i'd", "i'll", "i'm",
	"i've", "if", "in", "into", "is", "isn't", "it", "it's", "its", "itself", "just", "let",
	"let's", "me", "more", "most", "my", "myself", "no", "nor", "not", "now", "of", "off", "on",
	"once", "only", "or", "other", "our", "ours", "ourselves", "out", "over", "own", "same",
	"she", "she's", "should", "so", "some", "such", "than", "that", "that's", "the", "their",
	"theirs", "them", "then", "there", "there's", "these", "they", "they're", "this", "those",
	"through", "to", "too", "under", "until", "up", "us", "very", "was", "wasn't", "we", "we're",
	"were", "what", "what's", "when", "where", "which", "while", "who", "who's", "whom", "why",
	"will", "with", "won't", "would", "you", "you're", "you've", "your", "yours", "yourself",
	"im", "dont", "cant", "ive", "youre", "thats", "u", "ur",
	// Twitter
	"rt", "via", "amp", "gt", "lt",
	// Spanish
	"al", "como", "con", "de", "del", "el", "en", "es", "esta", "este", "esto", "hay", "la",
	"las", "le", "lo", "los", "más", "me", "mi", "muy", "para", "pero", "por", "que", "se",
	"sin", "sobre", "su", "sus", "también", "un", "una", "y", "ya", "yo",
	// French
	"au", "avec", "c'est", "ce", "dans", "des", "du", "est", "et", "il", "je", "les", "mais",
	"ne", "nous", "ou", "pas", "pour", "qui", "sont", "sur", "tout", "très", "une", "vous",
	// German
	"aber", "auch", "auf", "das", "dem", "den", "der", "die", "ein", "eine", "für", "ich", "im",
	"ist", "mit", "nicht", "noch", "sehr", "sich", "sie", "und", "von", "wir", "zu",
	// Portuguese
	"ao", "com", "da", "do", "em", "mais", "muito", "na", "não", "os", "uma",
)

// Words returns the word-cloud words of a tweet, each once, in order of appearance:
// lower-cased, with URLs, @mentions, #hashtags and $cashtags left out (they have their own
// columns), and without stop-words, numbers, single letters and possessive "'s".
func Words(text string) []string {
	return AppendWords(nil, text)
}

// AppendWords is Words appending to dst, for callers that reuse a slice.
func AppendWords(dst []string, text string) []string {
	first := len(dst)
	for text != "" {
		var field string
		if field, text = nextField(text); field == "" {
			break
		}
		switch field[0] {
		case '@', '#', '$':
			continue
		}
		if hasURLPrefix(field) {
			continue
		}
		// A field may hold several words ("love/hate", "great...really").
		for field != "" {
			start := strings.IndexFunc(field, isWordRune)
			if start < 0 {
				break
			}
			field = field[start:]
			end := strings.IndexFunc(field, func(r rune) bool { return !isWordRune(r) && !isJoiner(r) })
			if end < 0 {
				end = len(field)
			}
			w := strings.TrimRightFunc(field[:end], isJoiner)
			field = field[end:]
			if w = normalizeWord(w); keepWord(w) && !contains(dst[first:], w) {
				dst = append(dst, w)
			}
		}
	}
	return dst
}

// isWordRune reports whether r can be part of a word: letters, digits and combining marks.
func isWordRune(r rune) bool {
	return unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.Is(unicode.Mn, r)
}

// isJoiner reports whether r joins word parts: apostrophes ("don't") and hyphens ("e-mail").
func isJoiner(r rune) bool { return r == '\'' || r == '’' || r == '-' }

// normalizeWord lower-cases w, writes apostrophes as ' and drops a possessive "'s".
func normalizeWord(w string) string {
	w = strings.ToLower(w)
	if strings.ContainsRune(w, '’') {
		w = strings.ReplaceAll(w, "’", "'")
	}
	if s, ok := strings.CutSuffix(w, "'s"); ok && !stopWords[w] {
		w = s
	}
	return w
}

// keepWord reports whether w belongs in a word cloud.
func keepWord(w string) bool {
	if utf8.RuneCountInString(w) < 2 || stopWords[w] {
		return false
	}
	return strings.IndexFunc(w, unicode.IsLetter) >= 0 // "2024", "10-0" are not words
}

func contains(ws []string, w string) bool {
	for _, x := range ws {
		if x == w {
			return true
		}
	}
	return false
}
