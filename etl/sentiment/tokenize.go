package sentiment

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// Kind says what a Token is.
type Kind uint8

// The kinds of token. A tweet's white space separates tokens but is not one.
const (
	// Word is a run of letters, digits and combining marks, with inner apostrophes
	// ("don't", "it’s") and hyphens ("e-mail"), containing at least one letter ("gr8",
	// "3pm"). Scripts written without spaces (Japanese, Chinese) break at every change
	// of script, so a Japanese sentence becomes its kanji, hiragana and katakana runs.
	Word Kind = iota + 1
	// Number is digits with inner separators: "2024", "3.5", "1,000", "10:30", "24/7".
	Number
	// Hashtag is '#' and the tag: "#LoveThis". HashtagWords splits the tag into words.
	Hashtag
	// Cashtag is '$' and a ticker: "$AAPL".
	Cashtag
	// Mention is '@' and a screen name: "@user".
	Mention
	// URL is a web address ("https://t.co/x", "www.example.com", "bit.ly/x") or an
	// e-mail address, up to the next white space.
	URL
	// Emoticon is a face or heart drawn in ASCII: ":)", ":-(", ":D", "xD", ";-)",
	// "<3", "^_^", "T_T", also HTML-escaped as Twitter's v1.1 text has it ("&lt;3").
	Emoticon
	// Emoji is one emoji as a reader sees it: a pictograph with its skin tone,
	// variation selector, keycap or ZWJ-joined parts ("👍🏽", "👨‍👩‍👧"), or a flag.
	Emoji
	// Punct is a run of punctuation and other symbols ("!!!", "...", "?!", "£"), or
	// one HTML entity ("&amp;").
	Punct
)

var kindNames = [...]string{Word: "word", Number: "number", Hashtag: "hashtag", Cashtag: "cashtag",
	Mention: "mention", URL: "url", Emoticon: "emoticon", Emoji: "emoji", Punct: "punct"}

// String returns the kind's name in lower case, "word" for Word.
func (k Kind) String() string {
	if int(k) < len(kindNames) && kindNames[k] != "" {
		return kindNames[k]
	}
	return "invalid"
}

// Token is one unit of a tweet.
type Token struct {
	// Text is the token as written, a substring of the tokenized text.
	Text string
	Kind Kind
}

// Tokenize splits a tweet into tokens. Invalid UTF-8 separates tokens like white space.
func Tokenize(text string) []Token {
	return AppendTokens(nil, text)
}

// AppendTokens is Tokenize appending to dst, so that a caller reusing one slice
// tokenizes without allocating.
//
// The tokenizer is written for tweets rather than taken from a library. The one the
// project already depends on, github.com/jdkato/prose/v2's, was measured against it
// (prose_test.go): prose splits the commonest emoticons into punctuation (":)" is ":"
// and ")", so is ";)", and "great:)" is three tokens), keeps runs of emoji as one
// token ("😂😂") and "fun!!:D" as another, and splits contractions ("do", "n't"). Scoring
// prose's tokens instead costs accuracy on both development sets (vader-4200 0.909 →
// 0.892, TweetEval macro-F1 0.558 → 0.556), and prose takes 13 times as long per tweet
// with 55 allocations where this takes none.
func AppendTokens(dst []Token, text string) []Token {
	for i := 0; i < len(text); {
		kind, end := scan(text, i)
		if kind != 0 {
			dst = append(dst, Token{Text: text[i:end], Kind: kind})
		}
		i = end
	}
	return dst
}

// scan classifies the token that starts at text[i] and returns its end. Kind 0 means
// text[i:end] separates tokens (white space, invisible format characters, invalid
// UTF-8).
func scan(text string, i int) (Kind, int) {
	c := text[i]
	if c < utf8.RuneSelf {
		if asciiSpace[c] || c < ' ' || c == 0x7f {
			return 0, i + 1 // white space and control characters
		}
		if isASCIIAlnum(c) {
			return scanAlnum(text, i)
		}
		return scanASCIIPunct(text, i)
	}
	r, n := utf8.DecodeRuneInString(text[i:])
	switch {
	case r == utf8.RuneError && n == 1, isSeparator(r):
		return 0, i + n
	case unicode.IsLetter(r) || unicode.IsDigit(r):
		return scanAlnum(text, i)
	case isEmojiStart(r), unicode.IsSymbol(r) && strings.HasPrefix(text[i+n:], "\uFE0F"):
		// A symbol with the emoji variation selector is drawn as an emoji ("↔️", "©️").
		return Emoji, scanEmoji(text, i)
	}
	return Punct, scanPunct(text, i)
}

// isSeparator reports whether r, where a token would start, separates tokens: white
// space, and what a reader does not see there (zero-width spaces and joiners, marks
// with nothing to attach to, stray variation selectors).
func isSeparator(r rune) bool {
	return unicode.IsSpace(r) || unicode.In(r, unicode.Cc, unicode.Cf, unicode.Mn, unicode.Mc, unicode.Me)
}

var asciiSpace = [utf8.RuneSelf]bool{'\t': true, '\n': true, '\v': true, '\f': true, '\r': true, ' ': true}

func isASCIIAlnum(c byte) bool { return asciiClass[c]&classAlnum != 0 }

// asciiClass holds, for each byte, whether it is an ASCII letter or digit, and whether
// it may be part of a URL's scheme or host name: one lookup where a word's every byte
// is asked.
var asciiClass = func() (t [256]uint8) {
	for c := range 256 {
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' {
			t[c] = classAlnum | classHost
		}
	}
	t['-'], t['.'], t['+'] = classHost, classHost, classHost
	return t
}()

const (
	classAlnum = 1 << iota
	classHost
)

func isASCIILetter(c byte) bool { return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' }

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// atFieldStart reports whether text[i] begins a white-space separated field, or
// follows an opening quote; emoticons made of letters or digits ("xD", "8)", "D:")
// count only there, so that "8)" in "(1-8)" and "(8)" does not.
func atFieldStart(text string, i int) bool {
	if i == 0 {
		return true
	}
	if c := text[i-1]; c < utf8.RuneSelf {
		return asciiSpace[c] || c == '"'
	}
	r, _ := utf8.DecodeLastRuneInString(text[:i])
	return unicode.IsSpace(r) || r == '"' || r == '“'
}

// boundaryAt reports whether a token may end before text[i]: the text ends there or
// the next rune is not a letter or digit.
func boundaryAt(text string, i int) bool {
	if i >= len(text) {
		return true
	}
	if c := text[i]; c < utf8.RuneSelf {
		return !isASCIIAlnum(c)
	}
	r, _ := utf8.DecodeRuneInString(text[i:])
	return !unicode.IsLetter(r) && !unicode.IsDigit(r)
}

// scanAlnum scans a token that starts with a letter or digit: a URL, an e-mail
// address, an emoticon made of letters ("xD", "D:", "O_o"), a word or a number.
func scanAlnum(text string, i int) (Kind, int) {
	if n := keycapLen(text, i); n > 0 {
		return Emoji, i + n
	}
	if end := scanURL(text, i); end > i {
		return URL, end
	}
	if atFieldStart(text, i) {
		if n := emoticonLen(text, i); n > 0 {
			return Emoticon, i + n
		}
	}
	end, letters := scanWord(text, i)
	if end < len(text) && text[end] == '@' && isMentionByte(byteAt(text, end+1)) {
		// name@example.com: the whole address, like a URL.
		return URL, fieldEnd(text, end)
	}
	if !letters {
		return Number, end
	}
	return Word, end
}

// scanWord returns the end of the word or number at text[i] and whether it has a
// letter.
func scanWord(text string, i int) (end int, letters bool) {
	script := scriptNone
	for end = i; end < len(text); {
		r, n := rune(text[end]), 1
		if r >= utf8.RuneSelf {
			r, n = utf8.DecodeRuneInString(text[end:])
		}
		switch {
		case r < utf8.RuneSelf && isASCIIAlnum(byte(r)):
			if script > scriptLatin && !isDigit(byte(r)) {
				return end, letters
			}
			letters = letters || !isDigit(byte(r))
			if script == scriptNone && letters {
				script = scriptLatin
			}
		case r >= utf8.RuneSelf && (unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.Is(unicode.Mn, r) || unicode.Is(unicode.Mc, r) ||
			r == 0x200C || r == 0x200D): // ZWNJ and ZWJ are parts of words in Indic and Persian scripts
			if s := scriptOf(r); s != script && (s > scriptLatin || script > scriptLatin) && s != scriptNone {
				if script != scriptNone {
					return end, letters
				}
				script = s
			}
			letters = letters || unicode.IsLetter(r)
		case isJoinerAt(text, end, r, n):
			// An apostrophe or hyphen between letters or digits belongs to the word.
		case r == '\\' && isEscapedApostrophe(text, end):
			n = escapeLen
		default:
			return end, letters
		}
		end += n
	}
	return end, letters
}

// Scripts that scanWord breaks words between. Everything written with spaces between
// words is scriptLatin; the others are written without them.
const (
	scriptNone = iota
	scriptLatin
	scriptHan
	scriptHiragana
	scriptKatakana
	scriptThai
)

func scriptOf(r rune) int {
	switch {
	case r < 0x0E00:
		return scriptLatin
	case r == 0x30FC || r == 0xFF70: // the long-vowel mark lengthens katakana
		return scriptKatakana
	case unicode.Is(unicode.Han, r):
		return scriptHan
	case unicode.Is(unicode.Hiragana, r):
		return scriptHiragana
	case unicode.Is(unicode.Katakana, r):
		return scriptKatakana
	case unicode.Is(unicode.Thai, r):
		return scriptThai
	case unicode.Is(unicode.Mn, r) || r == 0x200C || r == 0x200D:
		return scriptNone // marks take the script of what they follow
	}
	return scriptLatin
}

// isJoinerAt reports whether rune r (n bytes) at text[i] joins the word parts on either
// side: an apostrophe before a letter ("don't", "it’s", "rock'n'roll"), a hyphen
// before a letter or digit ("e-mail", "10-0"), and between digits '.', ',', ':' and
// '/' ("3.5", "1,000", "10:30", "24/7").
func isJoinerAt(text string, i int, r rune, n int) bool {
	if i == 0 || i+n >= len(text) {
		return false
	}
	next := text[i+n]
	prev := text[i-1]
	switch r {
	case '\'', '’', 'ʼ':
		return isASCIILetter(next) || next >= utf8.RuneSelf && startsWithLetter(text[i+n:])
	case '-':
		return isASCIIAlnum(next) || next >= utf8.RuneSelf && startsWithLetter(text[i+n:])
	case '.', ',', ':', '/':
		return isDigit(prev) && isDigit(next)
	}
	return false
}

func startsWithLetter(s string) bool {
	r, _ := utf8.DecodeRuneInString(s)
	return unicode.IsLetter(r)
}

func byteAt(s string, i int) byte {
	if i < len(s) {
		return s[i]
	}
	return 0
}

// fieldEnd returns the index of the first white space at or after i, or len(text).
func fieldEnd(text string, i int) int {
	for ; i < len(text); i++ {
		c := text[i]
		if c < utf8.RuneSelf {
			if asciiSpace[c] {
				return i
			}
			continue
		}
		r, n := utf8.DecodeRuneInString(text[i:])
		if unicode.IsSpace(r) {
			return i
		}
		i += n - 1
	}
	return len(text)
}

// scanURL returns the end of the URL starting at text[i], or i when there is none:
// anything with a scheme ("https://"), "www.", or a domain followed by a path
// ("bit.ly/x", "pic.twitter.com/x"), or a bare domain in a common top-level domain
// ("example.com"). A URL runs to the next white space; trailing punctuation that
// usually closes a sentence is left out.
func scanURL(text string, i int) int {
	// A scheme or a host name is at most maxHost bytes; looking no further keeps a long
	// run such as "a.a.a.a…" from being rescanned at each of its words.
	j, dot := i, false
	for j < len(text) && j-i < maxHost && asciiClass[text[j]]&classHost != 0 {
		dot = dot || text[j] == '.'
		j++
	}
	if !dot && !strings.HasPrefix(text[j:], "://") {
		return i // no scheme, and no dot for "www." or a host name: most words
	}
	word := strings.TrimRight(text[i:j], ".")
	switch {
	case strings.HasPrefix(text[j:], "://") && j > i && isASCIILetter(text[i]) && j-i <= 10:
	case len(word) > 4 && strings.EqualFold(word[:4], "www."):
	case isDomain(word) && (strings.HasPrefix(text[j:], "/") || knownTLD(word)):
	default:
		return i
	}
	j = i + len(word)
	end := fieldEnd(text, j)
	for end > j && strings.IndexByte(".,;:!?)\"'", text[end-1]) >= 0 {
		end--
	}
	return end
}

// maxHost is the longest host name DNS allows.
const maxHost = 253

// isDomain reports whether s looks like a host name: dot-separated labels of letters,
// digits and hyphens, the last of at least two letters.
func isDomain(s string) bool {
	dot := strings.LastIndexByte(s, '.')
	if dot <= 0 || dot == len(s)-1 || strings.Contains(s, "..") {
		return false
	}
	tld := s[dot+1:]
	if len(tld) < 2 {
		return false
	}
	for k := 0; k < len(tld); k++ {
		if !isASCIILetter(tld[k]) {
			return false
		}
	}
	return true
}

// knownTLD reports whether the domain s ends in a top-level domain common enough that
// a bare "example.com" in a tweet is an address, not the end of one sentence and the
// start of the next without a space ("it.was" is not).
func knownTLD(s string) bool {
	tld := s[strings.LastIndexByte(s, '.')+1:]
	switch strings.ToLower(tld) {
	case "com", "org", "net", "edu", "gov", "io", "co", "ly", "me", "tv", "info", "biz", "uk", "de",
		"fr", "es", "it", "br", "jp", "ru", "ca", "au", "in", "nl", "gl":
		return true
	}
	return false
}

// scanASCIIPunct scans a token that starts with ASCII punctuation: a hashtag, cashtag,
// mention, emoticon, keycap emoji, escape, HTML entity or punctuation run.
func scanASCIIPunct(text string, i int) (Kind, int) {
	if kind, end := scanSpecial(text, i); kind != 0 {
		return kind, end
	}
	return Punct, scanPunct(text, i)
}

// scanSpecial scans a token other than a punctuation run that starts with the ASCII
// punctuation at text[i], or returns kind 0.
func scanSpecial(text string, i int) (Kind, int) {
	if n := keycapLen(text, i); n > 0 {
		return Emoji, i + n
	}
	switch text[i] {
	case '\\':
		if _, ok := escapeAt(text, i); ok {
			return Punct, i + escapeLen
		}
	case '#':
		if end := scanTag(text, i+1); end > 0 && prevIsBoundary(text, i) {
			return Hashtag, end
		}
	case '@':
		if isMentionByte(byteAt(text, i+1)) && prevIsBoundary(text, i) {
			end := i + 1
			for end < len(text) && isMentionByte(text[end]) {
				end++
			}
			return Mention, end
		}
	case '$':
		end := i + 1
		for end < len(text) && end-i <= 7 && isASCIILetter(text[end]) {
			end++
		}
		if n := end - i - 1; n >= 1 && n <= 6 && boundaryAt(text, end) && prevIsBoundary(text, i) {
			return Cashtag, end
		}
	case '&':
		if n := entityLen(text, i); n > 0 && emoticonLen(text, i) == 0 {
			return Punct, i + n
		}
	}
	if n := emoticonLen(text, i); n > 0 {
		return Emoticon, i + n
	}
	return 0, i
}

// prevIsBoundary reports whether text[i] does not continue a word ("C#", "a@b").
func prevIsBoundary(text string, i int) bool {
	if i == 0 {
		return true
	}
	r, _ := utf8.DecodeLastRuneInString(text[:i])
	return !unicode.IsLetter(r) && !unicode.IsDigit(r) && r != '_'
}

func isMentionByte(c byte) bool { return isASCIIAlnum(c) || c == '_' }

// scanTag returns the end of a hashtag's tag starting at text[i], or 0 when there is
// none. Like Twitter, it takes letters, digits, marks and '_', and needs something
// other than digits ("#1" is not a tag).
func scanTag(text string, i int) int {
	end, digitsOnly := i, true
	for end < len(text) {
		r, n := rune(text[end]), 1
		if r >= utf8.RuneSelf {
			r, n = utf8.DecodeRuneInString(text[end:])
		}
		if !(r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.Is(unicode.Mn, r) || r == 0x200C || r == 0x200D) {
			break
		}
		digitsOnly = digitsOnly && r >= '0' && r <= '9'
		end += n
	}
	if end == i || digitsOnly {
		return 0
	}
	return end
}

// scanPunct returns the end of the run of punctuation and symbols that starts at
// text[i]. The run stops where another kind of token begins, so "!!:)" is "!!" and
// ":)", "(#tag)" keeps its hashtag, and an HTML entity ("&amp;", "&#39;") or an
// escape ("\u002c") is a token of its own.
func scanPunct(text string, i int) int {
	end := i
	for end < len(text) {
		c := text[end]
		var n int
		if c < utf8.RuneSelf {
			if asciiSpace[c] || isASCIIAlnum(c) || c < ' ' || c == 0x7f {
				return end
			}
			if end > i {
				if kind, _ := scanSpecial(text, end); kind != 0 {
					return end
				}
			}
			n = 1
		} else {
			var r rune
			r, n = utf8.DecodeRuneInString(text[end:])
			// The first rune is taken whatever it is (an unassigned code point, say);
			// the run goes on over punctuation and symbols.
			if end > i && (!(unicode.IsPunct(r) || unicode.IsSymbol(r)) || isEmojiStart(r) || r == utf8.RuneError) {
				return end
			}
		}
		end += n
	}
	return end
}

// entityLen returns the length of the HTML entity at text[i] ("&amp;", "&#39;",
// "&#x2019;"), or 0. Twitter's v1.1 API escapes '&', '<' and '>' in tweet text.
func entityLen(text string, i int) int {
	if text[i] != '&' {
		return 0
	}
	j := i + 1
	if j < len(text) && text[j] == '#' {
		j++
		if j < len(text) && (text[j] == 'x' || text[j] == 'X') {
			j++
		}
	}
	start := j
	for j < len(text) && j-start < 8 && isASCIIAlnum(text[j]) {
		j++
	}
	if j == start || j >= len(text) || text[j] != ';' {
		return 0
	}
	return j + 1 - i
}

// escapeLen is the length of a JSON escape such as "\u2019".
const escapeLen = 6

// escapeAt decodes the JSON escape "\uXXXX" at text[i]. Public collections of tweets
// (TweetEval's among them) hold text that was JSON-encoded twice, with its typographic
// apostrophes and some commas still escaped ("Don\u2019t", "tomorrow\u002c"); the
// tokenizer reads such an escape as the character it stands for.
func escapeAt(text string, i int) (rune, bool) {
	if i+escapeLen > len(text) || text[i] != '\\' || text[i+1] != 'u' {
		return 0, false
	}
	var r rune
	for _, c := range []byte(text[i+2 : i+escapeLen]) {
		switch {
		case '0' <= c && c <= '9':
			r = r<<4 | rune(c-'0')
		case 'a' <= c && c <= 'f':
			r = r<<4 | rune(c-'a'+10)
		case 'A' <= c && c <= 'F':
			r = r<<4 | rune(c-'A'+10)
		default:
			return 0, false
		}
	}
	return r, true
}

// isEscapedApostrophe reports whether text[i] is an escaped apostrophe inside a word
// ("Don\u2019t").
func isEscapedApostrophe(text string, i int) bool {
	r, ok := escapeAt(text, i)
	return ok && isApostrophe(r) && i+escapeLen < len(text) && isASCIILetter(text[i+escapeLen])
}

func isApostrophe(r rune) bool { return r == '\'' || r == '’' || r == 'ʼ' || r == '‘' }

// SplitHashtag returns the words of a hashtag, with or without its '#', in lower case:
// camel case, '_' and changes between letters and digits separate them ("#LoveThis"
// is "love", "this"; "#NFLDraft2024" is "nfl", "draft", "2024"). A tag written in one
// case is one word ("#blessed").
func SplitHashtag(tag string) []string {
	tag = strings.TrimPrefix(tag, "#")
	var words []string
	for part, rest := nextCamelPart(tag); part != "" || rest != ""; part, rest = nextCamelPart(rest) {
		if part != "" {
			words = append(words, strings.ToLower(part))
		}
	}
	return words
}
