package sentiment

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// stopWords are left out of word clouds: function words of the feed's main languages.
var stopWords = setOf(
	// English
	"a", "about", "after", "again", "all", "also", "am", "an", "and", "any", "are", "as", "at", "be",
	"because", "been", "before", "being", "but", "by", "can", "could", "did", "do", "does", "doing",
	"don't", "down", "for", "from", "get", "got", "had", "has", "have", "having", "he", "her", "here",
	"him", "his", "how", "i", "i'm", "if", "in", "into", "is", "it", "it's", "its", "just", "let",
	"like", "me", "more", "most", "my", "no", "not", "now", "of", "off", "on", "one", "only", "or",
	"other", "our", "out", "over", "rt", "same", "she", "should", "so", "some", "such", "than", "that",
	"that's", "the", "their", "them", "then", "there", "these", "they", "this", "those", "through",
	"to", "too", "up", "us", "very", "was", "we", "were", "what", "when", "where", "which", "while",
	"who", "why", "will", "with", "would", "you", "your", "you're", "via", "amp", "im", "dont",
	// Spanish
	"de", "la", "que", "el", "en", "y", "los", "del", "se", "las", "por", "un", "para", "con", "una",
	"su", "al", "lo", "como", "más", "pero", "sus", "le", "ya", "o", "es", "muy", "sin", "sobre",
	"también", "me", "hay", "yo", "mi", "esto", "esta", "este",
	// French
	"le", "les", "et", "des", "du", "un", "une", "est", "pour", "pas", "qui", "dans", "sur", "au",
	"avec", "ce", "il", "je", "ne", "en", "mais", "ou", "tout", "nous", "vous", "sont", "c'est", "très",
	// German
	"der", "die", "und", "das", "ist", "nicht", "ein", "eine", "zu", "den", "mit", "von", "sich",
	"auf", "für", "im", "dem", "auch", "es", "ich", "wir", "sie", "aber", "noch", "sehr",
	// Portuguese
	"os", "as", "um", "uma", "não", "da", "do", "em", "com", "mais", "na", "no", "por", "ao", "muito",
)

// Words returns the word-cloud words of a tweet: lower-cased, without URLs, mentions,
// hashtags, numbers, single letters and stop-words, each once.
func Words(text string) []string {
	var out []string
	seen := map[string]bool{}
	for _, f := range strings.Fields(text) {
		if strings.HasPrefix(f, "http://") || strings.HasPrefix(f, "https://") || strings.HasPrefix(f, "@") || strings.HasPrefix(f, "#") || strings.HasPrefix(f, "$") {
			continue
		}
		w := strings.ToLower(strings.TrimFunc(f, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) }))
		if utf8.RuneCountInString(w) < 2 || stopWords[w] || seen[w] || !hasLetter(w) {
			continue
		}
		seen[w] = true
		out = append(out, w)
	}
	return out
}

func hasLetter(w string) bool {
	for _, r := range w {
		if unicode.IsLetter(r) {
			return true
		}
	}
	return false
}
