package entities

import (
	"html"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/starling-analytics/starling/internal/tweet"
)

// quotes turns typographic quotes into ASCII ones. prose's tokenizer does the same before
// it splits, so doing it here keeps every token a substring of the cleaned text, which is
// how an entity's text is cut from it with its original spacing.
var quotes = strings.NewReplacer("\u2018", "'", "\u2019", "'", "\u201c", `"`, "\u201d", `"`)

// cleaned is a tweet's text rewritten for the model, and where its hashtags' words are.
type cleaned struct {
	text string
	// tags holds the byte range [start, end) of each hashtag's words in text, in order:
	// a name the model finds must not run across a hashtag's edge ("Chicago #StormWatch"
	// is a place and a topic, not "Chicago Storm Watch").
	tags [][2]int
	// trailing marks the hashtags after the tweet's last word of its own ("… tonight
	// #Outage #news https://…"): the tags that file a tweet under its topics, rather than
	// words of its sentences.
	trailing []bool
}

// tagAt returns the index in c.tags of the hashtag whose words hold byte offset i of
// c.text, or -1 if i is in the tweet's own words.
func (c cleaned) tagAt(i int) int {
	for k, r := range c.tags {
		if i >= r[0] && i < r[1] {
			return k
		}
	}
	return -1
}

// clean rewrites a tweet's text into the plain prose that prose's model was trained on
// (news sentences): it drops a retweet's "RT @user:" prefix, URLs, @mentions and $cashtags
// (Extract reports cashtags itself), turns hashtags into their words, recases shouting
// and headlines (see truecase), decodes the HTML entities Twitter escapes, drops invalid
// UTF-8 and collapses whitespace. A hashtag, mention or cashtag that ends a truncated text
// ("#StormWa…") is dropped: the rest of it is missing.
func clean(text string, lex lexicon) cleaned {
	text = strings.ToValidUTF8(text, "")
	if strings.IndexByte(text, '&') >= 0 {
		// Twitter's v1.1 text escapes &, < and >; the ingester keeps the text as sent.
		text = html.UnescapeString(text)
	}
	text = quotes.Replace(text)

	fields := strings.Fields(text)
	fields = dropRetweetPrefix(fields)
	if n := len(fields); n > 0 && strings.HasSuffix(fields[n-1], "…") && strings.ContainsRune("#@$", rune(fields[n-1][0])) {
		fields = fields[:n-1]
	}
	// The last field that is a word of the tweet's own, not a hashtag, mention, cashtag or
	// link, nor only punctuation or emoji.
	lastOwn := -1
	for i, f := range fields {
		if f[0] != '#' && f[0] != '@' && f[0] != '$' && urlStart(f) < 0 && strings.ContainsFunc(f, isWordRune) {
			lastOwn = i
		}
	}
	var trailing []bool
	words := make([]string, 0, len(fields))
	// fromTag marks the words of hashtags: their case is how the author chose to write a
	// tag (#YNWA is an acronym, not a shout), so truecase leaves them alone. tagOf numbers
	// each word's hashtag, -1 for the tweet's own words.
	fromTag := make([]bool, 0, len(fields))
	tagOf := make([]int, 0, len(fields))
	tags := 0
	prevHashtag := false
	for fi, f := range fields {
		hashtag := len(f) > 1 && f[0] == '#'
		if hashtag && prevHashtag && len(words) > 0 {
			// A run of hashtags is a list of topics, not a phrase: without a comma prose
			// reads "#Liverpool #YNWA" as one name.
			words[len(words)-1] += ","
		}
		n := len(words)
		words = appendWords(words, f)
		for range len(words) - n {
			fromTag = append(fromTag, hashtag)
			if hashtag {
				tagOf = append(tagOf, tags)
			} else {
				tagOf = append(tagOf, -1)
			}
		}
		if hashtag && len(words) > n {
			tags++
			trailing = append(trailing, fi > lastOwn)
		}
		prevHashtag = hashtag && len(words) > n
	}
	truecase(words, fromTag, lex)
	var b strings.Builder
	out := cleaned{trailing: trailing}
	for i, w := range words {
		if i > 0 {
			b.WriteByte(' ')
		}
		if k := tagOf[i]; k >= 0 {
			if k == len(out.tags) {
				out.tags = append(out.tags, [2]int{b.Len(), 0})
			}
			out.tags[k][1] = b.Len() + len(w)
		}
		b.WriteString(w)
	}
	out.text = b.String()
	return out
}

// dropRetweetPrefix drops the "RT @user:" that starts the text of an old-style retweet
// (also without the colon, as some clients write it), repeatedly for a retweet of one.
func dropRetweetPrefix(fields []string) []string {
	for len(fields) >= 2 && fields[0] == "RT" && isMention(fields[1]) {
		fields = fields[2:]
	}
	return fields
}

// isMention reports whether f is an @mention, with or without trailing punctuation.
func isMention(f string) bool {
	return len(f) > 1 && f[0] == '@' && isHandleByte(f[1])
}

// isHandleByte reports whether c can appear in a Twitter screen name.
func isHandleByte(c byte) bool {
	return c == '_' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

// appendWords appends what field f becomes after cleaning to words: nothing, f itself, or
// a hashtag's words.
func appendWords(words []string, f string) []string {
	switch {
	case len(f) > maxFieldBytes:
		// No name is this long without a space; such a field is garbage, a hash or a run
		// of punctuation, and prose's tokenizer takes time quadratic in a field's length.
		return words
	case f == "@":
		// Check-in services write "I'm at @ Santos Party House"; "at" keeps the sentence.
		return append(words, "at")
	case isMention(f):
		// A mention is a handle, not a name the model knows, and the ETL already stores
		// mentions. Only a sentence end after it is kept, so that the next word still
		// starts a sentence.
		i := 1
		for i < len(f) && isHandleByte(f[i]) {
			i++
		}
		if end := sentenceEnd(f[i:]); end != "" {
			words = append(words, end)
		}
		return words
	case f[0] == '#' && len(f) > 1:
		return appendHashtag(words, f[1:])
	case f[0] == '$':
		if sym := tweet.AppendCashtags(nil, f); len(sym) == 1 {
			// A cashtag is an organisation by definition: Extract reports it without the
			// model. Only a sentence end after it is kept.
			if end := sentenceEnd(f[1+len(sym[0]):]); end != "" {
				words = append(words, end)
			}
			return words
		}
	}
	if i := urlStart(f); i >= 0 {
		// Keep a word glued to the URL ("via:https://…"), drop the URL.
		if i > 0 {
			words = append(words, f[:i])
		}
		return words
	}
	// Sentences typed without a space after the full stop ("getting ready.Bell's staff")
	// are split, or prose reads "ready.Bell" as one word.
	for {
		i := runOn(f)
		if i < 0 {
			break
		}
		words = append(words, f[:i])
		f = f[i:]
	}
	return append(words, f)
}

// runOn returns where a second sentence or clause starts inside f, a field with no space
// in it, or -1: after a full stop, "!" or "?" between a lowercase letter and a capital
// ("ready.Bell"), or after a comma or semicolon between two letters ("lose,we'll"). An
// initialism ("U.S."), a number ("3.5") or a domain ("Boston.com") is not split.
func runOn(f string) int {
	for i := 1; i+1 < len(f); i++ {
		c := f[i]
		if c != '.' && c != '!' && c != '?' && c != ',' && c != ';' {
			continue
		}
		prev, _ := utf8.DecodeLastRuneInString(f[:i])
		next, _ := utf8.DecodeRuneInString(f[i+1:])
		if !unicode.IsLower(prev) {
			continue
		}
		if c == ',' || c == ';' {
			if unicode.IsLetter(next) {
				return i + 1
			}
		} else if unicode.IsUpper(next) {
			return i + 1
		}
	}
	return -1
}

// maxFieldBytes is the longest field, a run of text without a space, that clean keeps.
// The longest place names are about 60 letters.
const maxFieldBytes = 80

// sentenceEnd returns the sentence-ending punctuation in s (what follows a mention), or "".
func sentenceEnd(s string) string {
	if i := strings.IndexAny(s, ".!?"); i >= 0 {
		return s[i : i+1]
	}
	return ""
}

// urlStart returns where a URL starts in field f, or -1. Tweets carry t.co links, and
// clients also paste bare www. addresses and pic.twitter.com links.
func urlStart(f string) int {
	if i := strings.Index(f, "://"); i >= 0 {
		start := i
		for start > 0 && isSchemeByte(f[start-1]) {
			start--
		}
		if start < i {
			return start
		}
	}
	lower := strings.ToLower(f)
	if strings.HasPrefix(lower, "www.") || strings.HasPrefix(lower, "pic.twitter.com/") {
		return 0
	}
	return -1
}

// isSchemeByte reports whether c can appear in a URL scheme.
func isSchemeByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '+' || c == '-' || c == '.'
}

// appendHashtag appends the words of hashtag tag (without '#') to words. Hashtags are
// written in CamelCase or with underscores: #ComedyAwards is "Comedy Awards", #NYCMarathon
// "NYC Marathon", #Election2016 "Election 2016", #G7Summit "G7 Summit". A hashtag's
// trailing punctuation stays after its last word; one with no letters or digits is dropped.
func appendHashtag(words []string, tag string) []string {
	end := 0
	for end < len(tag) {
		r, size := utf8.DecodeRuneInString(tag[end:])
		if r != '_' && !unicode.IsLetter(r) && !unicode.IsNumber(r) {
			break
		}
		end += size
	}
	body, rest := tag[:end], tag[end:]
	n := len(words)
	for _, part := range strings.Split(body, "_") {
		words = appendCamelWords(words, part)
	}
	if rest != "" {
		if len(words) > n {
			words[len(words)-1] += rest
		} else if strings.ContainsFunc(rest, isWordRune) {
			// "#" followed by punctuation and then words: not a hashtag, keep as written.
			words = append(words, "#"+tag)
		}
	}
	return words
}

// appendCamelWords splits s at its case and digit boundaries and appends the parts.
func appendCamelWords(words []string, s string) []string {
	if s == "" {
		return words
	}
	runes := []rune(s)
	start := 0
	for i := 1; i < len(runes); i++ {
		prev, cur := runes[i-1], runes[i]
		var next rune
		if i+1 < len(runes) {
			next = runes[i+1]
		}
		split := unicode.IsLower(prev) && unicode.IsUpper(cur) || // comedyAwards
			unicode.IsUpper(prev) && unicode.IsUpper(cur) && unicode.IsLower(next) || // NYCMarathon
			unicode.IsLower(prev) && unicode.IsNumber(cur) || // Election2016, but not PS4
			unicode.IsNumber(prev) && unicode.IsUpper(cur) && unicode.IsLower(next) // 2016Election, but not 1st or 4K
		if split && !(i-start == 1 && unicode.IsLower(runes[start])) { // iPhone stays whole
			words = append(words, string(runes[start:i]))
			start = i
		}
	}
	return append(words, string(runes[start:]))
}

// isWordRune reports whether r is a letter or digit.
func isWordRune(r rune) bool { return unicode.IsLetter(r) || unicode.IsNumber(r) }

// truecase recases words where their capitals would mislead the model, which reads a
// capital as the sign of a name:
//
//   - A tweet that shouts (half its cased words in capitals) or a run of capitalised words
//     in one that does not ("GREAT NEWS FROM THE WHITE HOUSE" is one long place to prose):
//     common words are lowercased, short ones kept as the acronyms they usually are (NYC,
//     FBI) and longer ones Capitalised ("MICHELLE" is "Michelle"). A lone word in
//     capitals in a tweet that does not shout is recased only if it is long ("AMAZING")
//     or a common word of four letters or more ("BEST"): a short one is an acronym ("US",
//     not "us"; "NASA").
//   - A headline in Title Case ("Launch Date Confirmed With New Trailer"): the common words
//     are lowercased. Names made of common words ("Blue Rodeo", "Super Eagles") are lost
//     with them, so only a tweet whose common words are nearly all Capitalised is taken
//     for a headline.
func truecase(words []string, fromTag []bool, lex lexicon) {
	// caseOf has hashtag words count as words without letters: neither counted nor recased.
	caseOf := func(i int) int {
		if fromTag[i] {
			return noLetters
		}
		return letterCase(words[i])
	}
	caps, cased, common, titled := 0, 0, 0, 0
	for i, w := range words {
		c := caseOf(i)
		if c == upperWord {
			caps++
		}
		if c != noLetters {
			cased++
		}
		if countLetters(w) >= 4 && c != upperWord && lex.isCommon(coreLower(w)) {
			common++
			if c == titleWord {
				titled++
			}
		}
	}
	if cased >= 2 && caps*2 >= cased {
		for i, w := range words {
			if caseOf(i) == upperWord {
				words[i] = recaseShouted(w, lex)
			}
		}
		return
	}
	for i := 0; i < len(words); i++ {
		if caseOf(i) != upperWord {
			continue
		}
		// A run of capitalised words, with single capitals ("YOU R THE BEST") inside it.
		j := i + 1
		for j < len(words) && (caseOf(j) == upperWord || isSingleCapital(words[j]) && j+1 < len(words) && caseOf(j+1) == upperWord) {
			j++
		}
		core := coreLower(words[i])
		n := utf8.RuneCountInString(core)
		switch {
		case j-i >= 2 || n > maxAcronym:
			for k := i; k < j; k++ {
				words[k] = recaseShouted(words[k], lex)
			}
		case notNames[core], n >= 4 && lex.isCommon(core):
			words[i] = strings.ToLower(words[i]) // RT, LOL, BEST, GREAT
		}
		i = j - 1
	}
	if titled >= minHeadlineWords && titled*5 >= common*4 {
		for i, w := range words {
			if caseOf(i) == titleWord && lex.isCommon(coreLower(w)) {
				words[i] = strings.ToLower(w)
			}
		}
	}
}

// minHeadlineWords is the fewest Capitalised common words of four letters or more that
// make a tweet a headline, when they are also four in five of its common words that long.
// Names do not count: "Great day in London with Google and Apple" is no headline.
const minHeadlineWords = 3

// recaseShouted returns w, a word in capitals, lowercased if it is a common word or slang,
// kept if it is as short as most acronyms (NYC, FBI, USA), or else Capitalised as a name.
func recaseShouted(w string, lex lexicon) string {
	core := coreLower(w)
	switch {
	case lex.isCommon(core), notNames[core]:
		return strings.ToLower(w)
	case utf8.RuneCountInString(core) <= 3:
		return w
	}
	lower := []rune(strings.ToLower(w))
	for i, r := range lower {
		if unicode.IsLetter(r) {
			lower[i] = unicode.ToUpper(r)
			break
		}
	}
	return string(lower)
}

// coreLower returns w lowercased without the punctuation around it.
func coreLower(w string) string { return strings.ToLower(strings.TrimFunc(w, isNotWordRune)) }

// maxAcronym is the longest word in capitals that truecase takes for an acronym rather
// than a shouted word: NASA, UMBC and NATO are kept, AMAZING is not.
const maxAcronym = 5

// Word cases, as letterCase reports them.
const (
	noLetters = iota // numbers, punctuation, emoji, single letters
	upperWord        // two or more letters, none lowercase: "NASA"
	titleWord        // a capital, then only lowercase letters: "Nasa", "Obama's"
	mixedWord        // any other word with a lowercase letter: "nasa", "iPhone", "McCain"
)

// letterCase classifies w by the case of its letters.
func letterCase(w string) int {
	letters, lower, laterUpper, firstUpper := 0, false, false, false
	for _, r := range w {
		if !unicode.IsLetter(r) {
			continue
		}
		upper := unicode.IsUpper(r)
		switch {
		case letters == 0:
			firstUpper = upper
		case upper:
			laterUpper = true
		}
		if !upper {
			lower = true
		}
		letters++
	}
	switch {
	case lower && firstUpper && !laterUpper:
		return titleWord
	case lower:
		return mixedWord
	case letters >= 2:
		return upperWord
	}
	return noLetters
}

// isSingleCapital reports whether w is one capital letter, with punctuation around it.
func isSingleCapital(w string) bool {
	w = strings.TrimFunc(w, isNotLetter)
	r, size := utf8.DecodeRuneInString(w)
	return size == len(w) && size > 0 && unicode.IsUpper(r)
}

// isNotLetter reports whether r is not a letter.
func isNotLetter(r rune) bool { return !unicode.IsLetter(r) }
