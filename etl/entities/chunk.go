package entities

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/jdkato/prose/v2"
)

// span is a run of tokens that prose's classifier labels one entity.
type span struct {
	first, last int    // token indices, inclusive
	label       string // prose's label without the IOB prefix: PERSON, GPE, …
	tag         int    // the hashtag its words come from (see cleaned.tags), or -1
}

// spans groups labelled tokens into entities the way prose's own chunker does, so that
// Extract finds what prose.Document.Entities finds, but with token positions (to cut the
// text from the tweet and to know which word starts a sentence) and with one fix: prose
// drops an entity that ends the text ("I love New York"), which a tweet does often.
//
// The classifier labels tokens one by one and is noisy ("Barack/B-GPE Obama/B-PERSON"), and
// the chunker smooths that: any labelled token extends the entity it follows, a token with
// the same part-of-speech tag as the previous one (or a number after a labelled token)
// extends it too, and the continuation label of the entity's last label ends it after
// that token. An entity of exactly two tokens one of which begins a PERSON is a person
// (the model finds names hardest); otherwise the first token's label is the entity's.
func spans(tokens []prose.Token) []span {
	var out []span
	open := false
	cont := "" // the I- label that would end the open entity
	var cur span
	closeSpan := func(last int) {
		cur.last = last
		cur.label = spanLabel(tokens[cur.first : last+1])
		out = append(out, cur)
		open, cont = false, ""
	}
	for i, tok := range tokens {
		extend := tok.Label != "O" && tok.Label != cont ||
			open && (tok.Tag == tokens[i-1].Tag || tok.Tag == "CD" && tokens[i-1].Label != "O")
		switch {
		case extend:
			if !open {
				open, cur = true, span{first: i}
			}
			cont = strings.Replace(tok.Label, "B", "I", 1)
		case open && tok.Label == "O":
			closeSpan(i - 1)
		case open: // tok.Label == cont
			closeSpan(i)
		}
	}
	if open {
		closeSpan(len(tokens) - 1)
	}
	return out
}

// spanLabel returns the label of the entity made of tokens; see spans.
func spanLabel(tokens []prose.Token) string {
	if len(tokens) == 2 && (tokens[0].Label == "B-PERSON" || tokens[1].Label == "B-PERSON") {
		return "PERSON"
	}
	_, label, _ := strings.Cut(tokens[0].Label, "-")
	return label
}

// chunk returns the entities in tokens, prose's tokens of c.text, after cutting them at
// the edges of hashtags (see splitAtTags) and dropping the words the model mistakes for
// names on tweets (see trimSpan) and the hashtags that are topics: those made of common
// words only (#StormWatch, #LaunchDay), and a single word but an acronym among the tags
// that end a tweet (#Outage, #Liverpool; these are counted in the hashtag panels), while
// #NewYork anywhere and #Obama inside a sentence name something.
func (x *Extractor) chunk(c cleaned, tokens []prose.Token) []Entity {
	found := spans(tokens)
	if len(found) == 0 {
		return nil
	}
	text := c.text
	offsets := tokenOffsets(text, tokens)
	var out []Entity
	for _, s := range splitAtTags(c, tokens, offsets, found) {
		kind, ok := kinds[s.label]
		if !ok {
			continue
		}
		first, last, ok := x.trimSpan(tokens, s.first, s.last)
		if !ok {
			continue
		}
		if s.tag >= 0 && (x.allCommon(tokens[first:last+1]) || c.trailing[s.tag] && first == last && letterCase(tokens[first].Text) != upperWord) {
			continue // a topic: "Storm Watch"; a trailing tag of one word: #Outage, #Liverpool
		}
		var name string
		if start, end := offsets[first], offsets[last]; start >= 0 && end >= 0 {
			name = text[start : end+len(tokens[last].Text)]
		} else {
			name = joinTokens(tokens[first : last+1])
		}
		name = trimPunct(name)
		if countLetters(name) < 2 {
			continue
		}
		if kind == Place && isOrganisationAcronym(name) {
			kind = Organisation
		}
		out = append(out, Entity{Text: name, Kind: kind})
	}
	return out
}

// isOrganisationAcronym reports whether name, which the model takes for a place, is an
// acronym of three letters or more in capitals that names no place. The model reads an
// unknown word in capitals as a place; but such acronyms mostly name organisations (NASA,
// NATO, FBI, NBA, BBC), and the few places written so are known (placeAcronyms). Two
// letters are left to the model: they are mostly states and countries (NY, DC, UK).
func isOrganisationAcronym(name string) bool {
	return letterCase(name) == upperWord && !strings.ContainsAny(name, " .") &&
		utf8.RuneCountInString(name) >= 3 && !placeAcronyms[name]
}

// placeAcronyms are the places of three letters or more commonly written as an acronym.
var placeAcronyms = map[string]bool{
	"USA": true, "UAE": true, "NYC": true, "USSR": true, "PRC": true, "DRC": true, "ROC": true, "DPRK": true,
	"KSA": true, "RSA": true, "NZL": true, "AUS": true, "GBR": true, "DFW": true, "LAX": true, "JFK": true,
	"PNW": true, "ATL": true, "PHL": true,
}

// splitAtTags cuts each span where its tokens pass from the tweet's own words into a
// hashtag's, or from one hashtag into the next, and says which hashtag each piece comes
// from. A piece keeps the span's label, except a later piece whose own tokens carry a
// label: it takes the first of those. A token whose offset is unknown stays with the
// token before it.
func splitAtTags(c cleaned, tokens []prose.Token, offsets []int, found []span) []span {
	if len(c.tags) == 0 {
		for i := range found {
			found[i].tag = -1
		}
		return found
	}
	var out []span
	for _, s := range found {
		start := len(out)
		cur := span{first: s.first, label: s.label, tag: -1}
		if offsets[s.first] >= 0 {
			cur.tag = c.tagAt(offsets[s.first])
		}
		for i := s.first + 1; i <= s.last; i++ {
			if offsets[i] < 0 {
				continue
			}
			if tag := c.tagAt(offsets[i]); tag != cur.tag {
				cur.last = i - 1
				out = append(out, cur)
				cur = span{first: i, label: s.label, tag: tag}
			}
		}
		cur.last = s.last
		out = append(out, cur)
		for k := start + 1; k < len(out); k++ { // the later pieces' own labels
			for _, t := range tokens[out[k].first : out[k].last+1] {
				if _, l, ok := strings.Cut(t.Label, "-"); ok {
					out[k].label = l
					break
				}
			}
		}
	}
	return out
}

// tokenOffsets returns the byte offset of each token in text, or -1 for a token prose
// rewrote so that it is no longer a substring (clean replaces what prose's tokenizer would).
func tokenOffsets(text string, tokens []prose.Token) []int {
	offsets := make([]int, len(tokens))
	pos := 0
	for i, tok := range tokens {
		j := strings.Index(text[pos:], tok.Text)
		if j < 0 {
			offsets[i] = -1
			continue
		}
		offsets[i] = pos + j
		pos += j + len(tok.Text)
	}
	return offsets
}

// joinTokens joins tokens with spaces, as prose does for its entities.
func joinTokens(tokens []prose.Token) string {
	texts := make([]string, len(tokens))
	for i, t := range tokens {
		texts[i] = t.Text
	}
	return strings.Join(texts, " ")
}

// trimSpan narrows the entity of tokens first..last to the tokens that can be part of a
// name, and reports false if none is left. From its edges it drops punctuation, the stem
// of a contraction ("Ca" of "Can't", prose splits "n't" off), possessive and contraction
// endings, Twitter slang and interjections (notNames) and dates (dateWords), which prose
// tags as names when they are capitalised or next to one.
//
// A capitalised word that starts a sentence says nothing by its capital. An entity there
// made of common words only is no name ("Great day in London", "Sorry I can't …", "Great
// song": half the single-word entities that start a sentence in TweetEval's tweets were
// such words); at the head of a longer entity a word that begins no name, such as a verb,
// is dropped ("Look Steelers fans").
func (x *Extractor) trimSpan(tokens []prose.Token, first, last int) (int, int, bool) {
	n := last - first
	for first <= last && notNamePart(tokens, first) {
		first++
	}
	for last >= first && notNamePart(tokens, last) {
		last--
	}
	if first > last || last-first < n && x.allCommon(tokens[first:last+1]) {
		return 0, 0, false // nothing left, or only a common word: "Black" of "Black Friday"
	}
	if sentenceStart(tokens, first) {
		lower := strings.ToLower(tokens[first].Text)
		switch {
		case x.allCommon(tokens[first : last+1]):
			return 0, 0, false // "Great song", "Holy cow"
		case first < last && x.lex.isFunctionWord(lower):
			first++
		}
	}
	return first, last, true
}

// allCommon reports whether every token is a common word.
func (x *Extractor) allCommon(tokens []prose.Token) bool {
	for _, t := range tokens {
		if !x.lex.isCommon(strings.ToLower(t.Text)) {
			return false
		}
	}
	return true
}

// notNamePart reports whether tokens[i] is no part of a name when it is at an edge of one.
func notNamePart(tokens []prose.Token, i int) bool {
	w := tokens[i].Text
	lower := strings.ToLower(w)
	switch {
	case !strings.ContainsFunc(w, isWordRune):
		return true
	case i+1 < len(tokens) && strings.EqualFold(tokens[i+1].Text, "n't"):
		return true
	case contractionEndings[lower], notNames[lower], dateWords[strings.TrimSuffix(lower, ".")]:
		return true
	}
	return isLaughter(lower)
}

// isLaughter reports whether lower is written laughter: "ha", "hahaha", "hehe", "bwahaha".
func isLaughter(lower string) bool {
	lower = strings.TrimPrefix(lower, "bw")
	var vowel byte
	h := false
	for i := 0; i < len(lower); i++ {
		switch c := lower[i]; {
		case c == 'h':
			h = true
		case (c == 'a' || c == 'e' || c == 'i') && (vowel == 0 || vowel == c):
			vowel = c
		default:
			return false
		}
	}
	return h && vowel != 0
}

// sentenceStart reports whether tokens[i] starts a sentence: nothing but punctuation
// (opening quotes, brackets) stands between it and the start of the text or the end of a
// sentence (prose splits ". ! ? :" off into tokens of their own). Tweets capitalise after
// a colon or a dash as after a full stop ("Day: Great case study", "… - Good Times!").
func sentenceStart(tokens []prose.Token, i int) bool {
	for i--; i >= 0; i-- {
		switch t := tokens[i].Text; t {
		case ".", "!", "?", "...", "…", ":", "-", "–", "—", "|":
			return true
		}
		if strings.ContainsFunc(tokens[i].Text, isWordRune) {
			return false
		}
	}
	return true
}

// trimPunct trims the punctuation and symbols around an entity's text ("UMBC :/", "(NASA"),
// but keeps the full stop that ends an initialism ("U.S.", "B.I.G.").
func trimPunct(s string) string {
	trimmed := strings.TrimLeftFunc(s, isNotWordRune)
	end := strings.TrimRightFunc(trimmed, isNotWordRune)
	if len(end) < len(trimmed) && trimmed[len(end)] == '.' && strings.Contains(end, ".") {
		end = trimmed[:len(end)+1]
	}
	return end
}

// isNotWordRune reports whether r is neither a letter nor a digit.
func isNotWordRune(r rune) bool { return !isWordRune(r) }

// countLetters returns the number of letters in s.
func countLetters(s string) int {
	n := 0
	for _, r := range s {
		if unicode.IsLetter(r) {
			n++
		}
	}
	return n
}
