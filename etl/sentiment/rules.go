package sentiment

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// The rules of the method, applied to the terms of one text. Where they depart from
// the reference implementation the comment says why; the figures behind each choice
// are in TestAccuracyOnDevelopmentSets and the package's testdata.

// termKind says where a term comes from; the rules treat faces differently from words.
type termKind uint8

const (
	termWord   termKind = iota
	termTag             // a word of a hashtag
	termNumber          // kept as a word for the reach of negations and boosters
	termFace            // an emoticon, an emoji or written laughter
)

// term is one token as the rules see it: a word, a word of a hashtag, a number, an
// emoticon or an emoji. Mentions, cashtags, URLs and punctuation are not terms.
type term struct {
	lo, hi    int // its normalised form is scratch.buf[lo:hi]
	kind      termKind
	caps      bool // written in capitals: a cased letter and no lower-case one
	stretched bool // elongated for emphasis ("gooood", "yesss")
	clause    bool // the first term after punctuation that ends a clause
	consumed  bool // a word of a phrase after its first, with no role of its own
	wordInfo
}

// is reports whether term i's normalised form is w.
func (s *scratch) is(i int, w string) bool {
	t := &s.terms[i]
	return string(s.buf[t.lo:t.hi]) == w
}

// tagWeight is the weight of the words of a hashtag. A hashtag names a topic more
// often than it states an opinion (#SummerSlam, #TeaParty), so its words count a
// quarter: enough to decide a tweet that says nothing else ("#fail", "#blessed"), too
// little to outweigh what its words say.
const tagWeight = 0.25

// sum returns the sum of the valences of text's terms after the rules, before
// punctuation emphasis; it leaves the counts of '!' and '?' in s.
func (a *Analyzer) sum(s *scratch, text string) float64 {
	a.collect(s, text)
	a.matchPhrases(s)
	terms := s.terms

	// Capitals are emphasis only when the text mixes them with lower case.
	words, caps := 0, 0
	for i := range terms {
		if terms[i].kind == termWord {
			words++
			if terms[i].caps {
				caps++
			}
		}
	}
	capsDiff := caps > 0 && caps < words
	for i := 1; i < len(terms); i++ {
		// "kind of", "sort of" and "just enough" dampen like "kinda": the first word
		// carries nothing (the lexicon's positive "kind" is skipped in valence) and the
		// last takes the dampener's part.
		if s.is(i, "of") && (s.is(i-1, "kind") || s.is(i-1, "sort")) || s.is(i, "enough") && s.is(i-1, "just") {
			terms[i].boost = boostDecr
		}
	}
	for i := 0; i+1 < len(terms); i++ {
		// Before a sentiment word, a swear word or "pretty" is a degree adverb: "damn
		// good" and "pretty bad" are a stronger "good" and "bad", not "damn" and
		// "pretty" rated on their own.
		if t, next := &terms[i], &terms[i+1]; t.degree && next.inLex && next.kind != termFace && !next.clause {
			t.inLex, t.boost = false, boostIncr
		}
	}

	s.sent = s.sent[:0]
	for i := range terms {
		s.sent = append(s.sent, a.valence(s, i, capsDiff))
	}

	// "but" shifts the weight to what follows it. Faces are left as they are: a smiley
	// comments on the whole tweet, not on one side of the contrast.
	for i := range terms {
		if terms[i].kind == termWord && !terms[i].consumed && s.is(i, "but") {
			for j := range s.sent {
				switch {
				case terms[j].kind == termFace:
				case j < i:
					s.sent[j] *= butBefore
				case j > i:
					s.sent[j] *= butAfter
				}
			}
			break
		}
	}
	var sum float64
	for _, v := range s.sent {
		sum += v
	}
	return sum
}

// valence is the sentiment term i contributes, after the rules.
func (a *Analyzer) valence(s *scratch, i int, capsDiff bool) float64 {
	terms := s.terms
	t := &terms[i]
	if !t.inLex {
		return 0
	}
	if t.kind == termFace {
		// A face says how the writer feels whatever the words around it do: in "I
		// can't wait :)" the smile is not negated, "so" does not boost it, and ":D" is
		// not a word in capitals.
		return t.valence
	}
	// Boosters and "kind of" modify the next word; they carry no sentiment of their own.
	if t.boost != 0 || s.is(i, "kind") && i+1 < len(terms) && s.is(i+1, "of") {
		return 0
	}
	// first is the first term that negations and boosters before term i may be in: they
	// reach three words back, not counting articles ("wouldn't be such a bad idea"),
	// and not past the end of a clause ("not. good" is good, "If one doesn't exist,
	// please" is polite).
	first := i
	for n := 0; n < 3 && first > 0 && !terms[first].clause; {
		first--
		if !s.is(first, "a") && !s.is(first, "an") && !s.is(first, "the") {
			n++
		}
	}
	v := t.valence
	// "no" before a good word negates it rather than counting as negative itself: "no
	// fun", "no luck". Before a bad word it does not: a negated bad word is hardly
	// good ("no more stolen elections" is a complaint), so both keep their valence; the
	// reassurances "no problem" and "no worries" are phrases. Repeated ("no no no") it
	// is a refusal each time.
	isNo := s.is(i, "no")
	if isNo && i+1 < len(terms) && terms[i+1].inLex && terms[i+1].valence > 0 && !terms[i+1].clause {
		v = 0
	}
	if !isNo && t.valence > 0 && (i-1 >= first && s.is(i-1, "no") || i-2 >= first && s.is(i-2, "no") ||
		i-3 >= first && s.is(i-3, "no") && (s.is(i-1, "or") || s.is(i-1, "nor"))) {
		v = t.valence * negScalar
	}
	if t.caps && capsDiff && t.kind == termWord {
		if v > 0 {
			v += capsIncr
		} else {
			v -= capsIncr
		}
	}
	// Elongation is emphasis like a booster: "gooood" is more than "good".
	if t.stretched {
		if v > 0 {
			v += boostIncr
		} else {
			v -= boostIncr
		}
	}
	// Back to first: boosters (weaker with distance) and negations. A negation reaches
	// only the first sentiment word after it, so in "DON'T CARE DON'T CARE" each "CARE"
	// is negated once, not twice.
	for back := 1; i-back >= first; back++ {
		p := &terms[i-back]
		if p.inLex {
			if p.kind == termFace {
				continue
			}
			break
		}
		if p.boost != 0 {
			b := p.boost
			if v < 0 {
				b = -b
			}
			if p.caps && capsDiff && p.kind == termWord {
				if v > 0 {
					b += capsIncr
				} else {
					b -= capsIncr
				}
			}
			switch back {
			case 2:
				b *= 0.95
			case 3:
				b *= 0.9
			}
			v += b
		}
		v = negationCheck(s, v, i, back)
	}
	// "least" negates ("the least fun"), except in "at least" and "very least".
	if i-1 >= first && !terms[i-1].inLex && s.is(i-1, "least") &&
		(i-2 < first || !s.is(i-2, "at") && !s.is(i-2, "very")) {
		v *= negScalar
	}
	return v
}

// negationCheck applies the negation rule for the word back places before term i.
// "never so good" and "never this good" intensify instead; "without doubt" is not
// negated.
func negationCheck(s *scratch, v float64, i, back int) float64 {
	switch back {
	case 2:
		if s.is(i-2, "never") && (s.is(i-1, "so") || s.is(i-1, "this")) {
			return v * 1.25
		}
		if s.is(i-2, "without") && s.is(i-1, "doubt") {
			return v
		}
	case 3:
		if s.is(i-3, "never") && (s.is(i-2, "so") || s.is(i-2, "this") || s.is(i-1, "so") || s.is(i-1, "this")) {
			return v * 1.25
		}
		if s.is(i-3, "without") && (s.is(i-2, "doubt") || s.is(i-1, "doubt")) {
			return v
		}
	}
	if s.terms[i-back].negates {
		return v * negScalar
	}
	return v
}

// matchPhrases gives each special phrase found among the terms its own valence, on its
// first word, and takes the valence and the rule roles from its other words.
func (a *Analyzer) matchPhrases(s *scratch) {
	terms := s.terms
	for i := range terms {
		t := &terms[i]
		if !t.phrase || t.kind == termFace {
			continue
		}
	candidates:
		for _, p := range a.t.phrases[string(s.buf[t.lo:t.hi])] {
			if i+len(p.rest) >= len(terms) {
				continue
			}
			for k, w := range p.rest {
				if next := &terms[i+1+k]; next.kind == termFace || next.clause || !s.is(i+1+k, w) {
					continue candidates
				}
			}
			t.wordInfo = wordInfo{valence: p.valence, inLex: p.valence != 0}
			for k := range p.rest {
				terms[i+1+k].wordInfo = wordInfo{}
				terms[i+1+k].consumed = true
			}
			break
		}
	}
}

// collect tokenizes text into s.terms, normalising each and looking it up once.
func (a *Analyzer) collect(s *scratch, text string) {
	s.toks = AppendTokens(s.toks[:0], text)
	s.buf, s.terms = s.buf[:0], s.terms[:0]
	s.exclaims, s.questions, s.stretched = 0, 0, false
	s.memo.start()
	s.tokWord = s.tokWord[:0]
	clause := false
	for _, tok := range s.toks {
		n := len(s.terms)
		s.tokWord = append(s.tokWord, -1)
		switch tok.Kind {
		case Word:
			s.tokWord[len(s.tokWord)-1] = a.addWordToken(s, tok.Text)
		case Hashtag:
			s.tokWord[len(s.tokWord)-1] = a.addTagToken(s, tok.Text)
		case Number:
			s.buf = append(s.buf, tok.Text...)
			s.terms = append(s.terms, term{lo: len(s.buf) - len(tok.Text), hi: len(s.buf), kind: termNumber})
		case Emoticon:
			a.addEmoticon(s, tok.Text)
		case Emoji:
			a.addEmoji(s, tok.Text)
		case Punct:
			text := tok.Text
			if r, ok := escapeAt(text, 0); ok && r < utf8.RuneSelf {
				text = string(r) // one byte: no allocation
			}
			for k := 0; k < len(text); k++ {
				switch text[k] {
				case '!':
					s.exclaims++
					clause = true
				case '?':
					s.questions++
					clause = true
				case '.', ',', ';', ':':
					clause = true
				}
			}
			if !clause && strings.ContainsAny(text, "…。、！？") {
				clause = true
			}
			continue
		default: // mentions, cashtags and URLs name things; they are not opinions
			continue
		}
		if clause && len(s.terms) > n {
			s.terms[n].clause = true
		}
		clause = false
	}
}

// addWord appends the term for word w, written surface (for capitals), looking up its
// normalised form and, when that is unknown, the forms elongation hides.
func (a *Analyzer) addWord(s *scratch, w, surface string, kind termKind) {
	t := term{lo: len(s.buf), kind: kind, caps: isCaps(surface)}
	s.buf = appendNormalized(s.buf, w)
	t.hi = len(s.buf)
	info, ok := a.t.words[string(s.buf[t.lo:t.hi])]
	if !ok {
		if lo, hi, found, stretched := a.destretch(s, t.lo, t.hi); found || stretched {
			t.stretched = stretched
			if found {
				t.lo, t.hi = lo, hi
				info = a.t.words[string(s.buf[lo:hi])]
			}
		}
	}
	if !info.negates && strings.Contains(string(s.buf[t.lo:t.hi]), "n't") {
		info.negates = true
	}
	t.wordInfo = info
	s.stretched = s.stretched || t.stretched
	if info.laugh {
		// Written laughter is an interjection, like a face: "no idea lol" does not
		// negate the laugh, and "LOL" is not a word in capitals.
		t.kind = termFace
	}
	s.terms = append(s.terms, t)
}

// destretch looks for the word in s.buf[lo:hi] behind elongation: letters repeated
// three or more times are written twice, then once ("gooood" is "good", "sooo" is
// "so"); laughter of any length is "haha" or "hahaha", "lolol" is "lol". It appends
// the form found to s.buf and returns where it is; stretched reports elongation even
// where no form is found.
func (a *Analyzer) destretch(s *scratch, lo, hi int) (flo, fhi int, found, stretched bool) {
	w := s.buf[lo:hi]
	if hasRun(w, 3) {
		stretched = true
		lo2 := len(s.buf)
		s.buf = appendCollapsed(s.buf, s.buf[lo:hi], 2)
		hi2 := len(s.buf)
		if _, ok := a.t.words[string(s.buf[lo2:hi2])]; ok {
			return lo2, hi2, true, true
		}
		lo1 := len(s.buf)
		s.buf = appendCollapsed(s.buf, s.buf[lo:hi], 1)
		if _, ok := a.t.words[string(s.buf[lo1:])]; ok {
			return lo1, len(s.buf), true, true
		}
		// Laughter is looked for in the twice-written form: "hahahaaa" is "hahahaa".
		s.buf = s.buf[:hi2]
		w = s.buf[lo2:hi2]
	}
	if laugh := laughter(w); laugh != "" {
		flo = len(s.buf)
		s.buf = append(s.buf, laugh...)
		return flo, len(s.buf), true, stretched
	}
	return 0, 0, false, stretched
}

// hasRun reports whether w repeats an ASCII letter n or more times in a row.
func hasRun(w []byte, n int) bool {
	run := 1
	for k := 1; k < len(w); k++ {
		if w[k] == w[k-1] && isASCIILetter(w[k]) {
			if run++; run >= n {
				return true
			}
		} else {
			run = 1
		}
	}
	return false
}

// appendCollapsed appends w with each run of three or more of the same ASCII letter
// written keep times.
func appendCollapsed(dst, w []byte, keep int) []byte {
	for k := 0; k < len(w); {
		j := k + 1
		for j < len(w) && w[j] == w[k] {
			j++
		}
		n := j - k
		if n >= 3 && isASCIILetter(w[k]) {
			n = keep
		}
		for range n {
			dst = append(dst, w[k])
		}
		k = j
	}
	return dst
}

// laughter returns the lexicon's form of written laughter w ("hahah", "ahahaha",
// "bwahaha", "hehehe", "lolol"), or "".
func laughter(w []byte) string {
	if len(w) >= 4 && w[0] == 'l' && w[len(w)-1] == 'l' {
		for k, c := range w {
			if c != "lo"[k%2] {
				return ""
			}
		}
		return "lol"
	}
	for _, prefix := range []string{"bw", "mu", "mw", "b", "a"} {
		if len(w) >= len(prefix)+3 && string(w[:len(prefix)]) == prefix && w[len(prefix)] == 'h' {
			w = w[len(prefix):]
			break
		}
	}
	if len(w) < 4 || w[0] != 'h' {
		return ""
	}
	hs := 0
	for k, c := range w {
		switch c {
		case 'h':
			hs++
		case 'a', 'e', 'i':
			if w[k-1] != 'h' {
				return "" // "haah" is not laughter
			}
		default:
			return ""
		}
	}
	switch {
	case hs >= 3:
		return "hahaha"
	case hs == 2:
		return "haha"
	}
	return ""
}

// addTag appends the terms of a hashtag, each at tagWeight: the whole tag when the
// lexicon knows it ("#blessed", "#FAIL"), otherwise its words where it is written in
// camel case ("#LoveThis" is "love this", "#NotHappy" "not happy"). Capitals in
// hashtags are convention, not emphasis.
func (a *Analyzer) addTag(s *scratch, tag string) {
	lo := len(s.buf)
	s.buf = appendNormalized(s.buf, tag)
	_, known := a.t.words[string(s.buf[lo:])]
	s.buf = s.buf[:lo]
	n := len(s.terms)
	if known || !isCamel(tag) {
		a.addWord(s, tag, "", termTag)
	} else {
		for part, rest := nextCamelPart(tag); part != "" || rest != ""; part, rest = nextCamelPart(rest) {
			if part != "" {
				a.addWord(s, part, "", termTag)
			}
		}
	}
	for k := n; k < len(s.terms); k++ {
		s.terms[k].valence *= tagWeight
	}
}

// isCamel reports whether tag has a lower-case letter followed by a capital, a letter
// next to a digit, or '_': something to split at.
func isCamel(tag string) bool {
	prev := rune(-1)
	for _, r := range tag {
		if r == '_' || unicode.IsUpper(r) && unicode.IsLower(prev) || prev >= 0 && unicode.IsDigit(r) != unicode.IsDigit(prev) {
			return true
		}
		prev = r
	}
	return false
}

// nextCamelPart splits the first word off a camel-cased tag: "LoveThis" → "Love",
// "This"; "NFLDraft" → "NFL", "Draft"; "_" and changes between letters and digits
// separate too. An empty tag gives two empty strings.
func nextCamelPart(tag string) (part, rest string) {
	if tag == "" {
		return "", ""
	}
	if tag[0] == '_' {
		return "", tag[1:]
	}
	prev := rune(-1)
	for k, r := range tag {
		if k > 0 {
			switch {
			case r == '_':
				return tag[:k], tag[k:]
			case unicode.IsUpper(r) && unicode.IsLower(prev):
				return tag[:k], tag[k:]
			case unicode.IsLower(r) && unicode.IsUpper(prev) && k > utf8.RuneLen(prev):
				// The capital before this letter starts the next word: "NFL|Draft".
				n := k - utf8.RuneLen(prev)
				return tag[:n], tag[n:]
			case unicode.IsDigit(r) != unicode.IsDigit(prev):
				return tag[:k], tag[k:]
			}
		}
		prev = r
	}
	return tag, ""
}

// addEmoticon appends the term of an emoticon, looked up as written, then with repeated
// characters written once (":)))" is ":)"), in lower case, without a nose (":-D" is
// ":D"), and without a tear and with ':' for eyes ("=(" is ":(").
func (a *Analyzer) addEmoticon(s *scratch, e string) {
	t := term{lo: len(s.buf), kind: termFace}
	s.buf = appendUnescaped(s.buf, e)
	t.hi = len(s.buf)
	info, ok := a.t.words[string(s.buf[t.lo:t.hi])]
	for step := 0; !ok && step < 4; step++ {
		lo := len(s.buf)
		prev := s.buf[t.lo:t.hi]
		for k, c := range prev {
			switch step {
			case 0:
				if k > 0 && c == prev[k-1] {
					continue
				}
			case 1:
				if 'A' <= c && c <= 'Z' {
					c += 'a' - 'A'
				}
			case 2:
				if c == '-' {
					continue
				}
			case 3:
				if c == '\'' {
					continue
				}
				if k == 0 && (c == '=' || c == ';') && len(prev) > 1 && prev[1] != '_' {
					c = ':'
				}
			}
			s.buf = append(s.buf, c)
		}
		t.lo, t.hi = lo, len(s.buf)
		info, ok = a.t.words[string(s.buf[t.lo:t.hi])]
	}
	t.wordInfo = wordInfo{valence: info.valence, inLex: info.inLex}
	s.terms = append(s.terms, t)
}

// addEmoji appends the term of an emoji: the valence of its description, found by its
// exact sequence, without skin tone and variation selectors, or by the first emoji of a
// ZWJ sequence ("👩🏽‍💻" is "👩").
func (a *Analyzer) addEmoji(s *scratch, e string) {
	t := term{lo: len(s.buf), kind: termFace}
	s.buf = append(s.buf, e...)
	t.hi = len(s.buf)
	v, ok := a.t.emoji[e]
	if !ok {
		lo := len(s.buf)
		s.buf = appendEmojiBase(s.buf, e)
		base := s.buf[lo:]
		if v, ok = a.t.emoji[string(base)]; !ok {
			if k := strings.IndexRune(string(base), zwj); k > 0 {
				v, ok = a.t.emoji[string(base[:k])]
			}
		}
		s.buf = s.buf[:lo]
	}
	t.wordInfo = wordInfo{valence: v, inLex: ok && v != 0}
	s.terms = append(s.terms, t)
}

// appendNormalized appends the lower-case form of w with typographic and escaped
// apostrophes written as ASCII ones ("Don’t" and "Don\u2019t" are "don't"), without
// an intermediate string.
func appendNormalized(b []byte, w string) []byte {
	for i := 0; i < len(w); i++ {
		c := w[i]
		if c == '\\' {
			if r, ok := escapeAt(w, i); ok && isApostrophe(r) {
				b = append(b, '\'')
				i += escapeLen - 1
				continue
			}
		}
		if c >= utf8.RuneSelf {
			r, n := utf8.DecodeRuneInString(w[i:])
			if isApostrophe(r) {
				b = append(b, '\'')
			} else {
				b = utf8.AppendRune(b, unicode.ToLower(r))
			}
			i += n - 1
			continue
		}
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		b = append(b, c)
	}
	return b
}

// appendUnescaped appends e with the HTML entities the tokenizer reads in emoticons
// ("&lt;", "&gt;") decoded.
func appendUnescaped(b []byte, e string) []byte {
	for i := 0; i < len(e); {
		c, w := emoAt(e, i)
		b = append(b, c)
		i += w
	}
	return b
}

// isCaps reports whether w has a cased letter and no lower-case one ("GOOD", "I", "OMG!").
func isCaps(w string) bool {
	upper := false
	for _, r := range w {
		switch {
		case unicode.IsLower(r):
			return false
		case unicode.IsUpper(r):
			upper = true
		}
	}
	return upper
}
