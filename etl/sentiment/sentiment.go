// Package sentiment scores the sentiment of tweets and extracts the words a word cloud shows.
// The ETL calls it once per tweet, so both are built to allocate little.
//
// The scorer follows the VADER method (Hutto & Gilbert, "VADER: A Parsimonious Rule-based
// Model for Sentiment Analysis of Social Media Text", ICWSM 2014): each word's valence
// comes from a human-rated lexicon, then rules adjust it for negation ("not", "never",
// "n't" up to three words before), boosters and dampeners ("very", "slightly"), words in
// capitals among lower-case ones, exclamation and question marks, and a contrastive "but"
// (what follows it weighs more). The sum is squashed into a compound score in [-1, 1]:
// sum/sqrt(sum²+15). Labels use VADER's thresholds: positive at 0.05 and above, negative at
// -0.05 and below, neutral between.
//
// The lexicon is VADER's own (MIT licence, lexicon/LICENSE-vader.txt), embedded in the
// binary. URLs and @mentions are not scored; hashtags are, without their '#'.
package sentiment

import (
	"bufio"
	"bytes"
	_ "embed"
	"math"
	"strconv"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"
)

//go:embed lexicon/vader_lexicon.txt
var vaderLexicon string

// Label is the sentiment class of a text, with the values the warehouse's sentiment_label
// enum stores.
type Label int8

// The three labels.
const (
	Negative Label = -1
	Neutral  Label = 0
	Positive Label = 1
)

// String returns "negative", "neutral" or "positive", the names the warehouse uses.
func (l Label) String() string {
	switch l {
	case Negative:
		return "negative"
	case Positive:
		return "positive"
	}
	return "neutral"
}

// LabelOf applies VADER's thresholds (±0.05) to a compound score.
func LabelOf(compound float64) Label {
	switch {
	case compound >= 0.05:
		return Positive
	case compound <= -0.05:
		return Negative
	}
	return Neutral
}

// The method's constants, from the paper's experiments.
const (
	boostIncr   = 0.293 // a booster's effect ("very good")
	boostDecr   = -0.293
	capsIncr    = 0.733 // a word in capitals among lower-case words
	negScalar   = -0.74 // a negated word flips and weakens
	alpha       = 15.0  // normalisation: compound = sum / sqrt(sum² + alpha)
	exclaimIncr = 0.292 // per '!', at most maxExclaim of them
	maxExclaim  = 4
	questIncr   = 0.18 // per '?' when there are two or three
	maxQuest    = 0.96 // four or more
	butBefore   = 0.5  // weight of the words before "but"
	butAfter    = 1.5  // and after it
)

// negations flip the valence of a word up to three words after them. Words containing
// "n't" count too.
var negations = setOf("aint", "arent", "cannot", "cant", "couldnt", "darent", "didnt", "doesnt",
	"ain't", "aren't", "can't", "couldn't", "daren't", "didn't", "doesn't", "dont", "hadnt",
	"hasnt", "havent", "isnt", "mightnt", "mustnt", "neither", "don't", "hadn't", "hasn't",
	"haven't", "isn't", "mightn't", "mustn't", "neednt", "needn't", "never", "none", "nope",
	"nor", "not", "nothing", "nowhere", "oughtnt", "shant", "shouldnt", "uhuh", "wasnt",
	"werent", "oughtn't", "shan't", "shouldn't", "uh-uh", "wasn't", "weren't", "without",
	"wont", "wouldnt", "won't", "wouldn't", "rarely", "seldom", "despite")

// boosters raise (or, negative, lower) the intensity of the sentiment word after them.
var boosters = map[string]float64{
	"absolutely": boostIncr, "amazingly": boostIncr, "awfully": boostIncr, "completely": boostIncr,
	"considerable": boostIncr, "considerably": boostIncr, "decidedly": boostIncr, "deeply": boostIncr,
	"effing": boostIncr, "enormous": boostIncr, "enormously": boostIncr, "entirely": boostIncr,
	"especially": boostIncr, "exceptional": boostIncr, "exceptionally": boostIncr, "extreme": boostIncr,
	"extremely": boostIncr, "fabulously": boostIncr, "flipping": boostIncr, "flippin": boostIncr,
	"frackin": boostIncr, "fracking": boostIncr, "fricking": boostIncr, "frickin": boostIncr,
	"frigging": boostIncr, "friggin": boostIncr, "fully": boostIncr, "fuckin": boostIncr,
	"fucking": boostIncr, "fuggin": boostIncr, "fugging": boostIncr, "greatly": boostIncr,
	"hella": boostIncr, "highly": boostIncr, "hugely": boostIncr, "incredible": boostIncr,
	"incredibly": boostIncr, "intensely": boostIncr, "major": boostIncr, "majorly": boostIncr,
	"more": boostIncr, "most": boostIncr, "particularly": boostIncr, "purely": boostIncr,
	"quite": boostIncr, "really": boostIncr, "remarkably": boostIncr, "so": boostIncr,
	"substantially": boostIncr, "thoroughly": boostIncr, "total": boostIncr, "totally": boostIncr,
	"tremendous": boostIncr, "tremendously": boostIncr, "uber": boostIncr, "unbelievably": boostIncr,
	"unusually": boostIncr, "utter": boostIncr, "utterly": boostIncr, "very": boostIncr,
	"almost": boostDecr, "barely": boostDecr, "hardly": boostDecr, "just enough": boostDecr,
	"kind of": boostDecr, "kinda": boostDecr, "kindof": boostDecr, "kind-of": boostDecr,
	"less": boostDecr, "little": boostDecr, "marginal": boostDecr, "marginally": boostDecr,
	"occasional": boostDecr, "occasionally": boostDecr, "partly": boostDecr, "scarce": boostDecr,
	"scarcely": boostDecr, "slight": boostDecr, "slightly": boostDecr, "somewhat": boostDecr,
	"sort of": boostDecr, "sorta": boostDecr, "sortof": boostDecr, "sort-of": boostDecr,
}

func setOf(words ...string) map[string]bool {
	m := make(map[string]bool, len(words))
	for _, w := range words {
		m[w] = true
	}
	return m
}

// Analyzer scores texts. Build it once with New (it parses the lexicon); it is safe for
// concurrent use.
type Analyzer struct {
	// words holds everything the rules know about a lower-case word, so that tokenizing
	// costs one map lookup per word.
	words map[string]wordInfo
	// scratch holds *scratch buffers so that Score allocates nothing once warm.
	scratch sync.Pool
}

// wordInfo is what the lexicon and the rule lists say about one word.
type wordInfo struct {
	valence float64 // lexicon valence, when inLex
	inLex   bool
	boost   float64 // booster scalar, 0 when the word is not a booster
	negates bool
}

// New loads the embedded lexicon.
func New() *Analyzer {
	a := &Analyzer{words: make(map[string]wordInfo, 7700)}
	sc := bufio.NewScanner(strings.NewReader(vaderLexicon))
	for sc.Scan() {
		word, rest, ok := strings.Cut(sc.Text(), "\t")
		if !ok {
			continue
		}
		mean, _, _ := strings.Cut(rest, "\t")
		v, err := strconv.ParseFloat(mean, 64)
		if err != nil {
			continue
		}
		a.words[word] = wordInfo{valence: v, inLex: true}
	}
	for w, b := range boosters {
		info := a.words[w]
		info.boost = b
		a.words[w] = info
	}
	for w := range negations {
		info := a.words[w]
		info.negates = true
		a.words[w] = info
	}
	a.scratch.New = func() any { return new(scratch) }
	return a
}

// token is one word or emoticon of a text, as the rules see it.
type token struct {
	lo, hi int  // its lower-case form is scratch.lower[lo:hi]
	caps   bool // written in capitals (at least one cased letter, no lower-case one)
	wordInfo
}

// scratch is the per-call working memory of Score.
type scratch struct {
	lower []byte
	toks  []token
	sent  []float64
}

// is reports whether token i's lower-case form is w.
func (s *scratch) is(i int, w string) bool {
	t := &s.toks[i]
	return string(s.lower[t.lo:t.hi]) == w
}

// Score returns the compound sentiment of text in [-1, 1] and its label.
func (a *Analyzer) Score(text string) (compound float64, label Label) {
	s := a.scratch.Get().(*scratch)
	defer a.scratch.Put(s)
	a.tokenize(s, text)
	toks := s.toks

	// Capitals are emphasis only when the text mixes them with lower case.
	nCaps := 0
	for i := range toks {
		if toks[i].caps {
			nCaps++
		}
	}
	capsDiff := nCaps > 0 && nCaps < len(toks)
	// "kind of" and "sort of" dampen like "kinda": the lexicon's positive "kind" is skipped
	// (see valence) and "of" takes the dampener's part.
	for i := 1; i < len(toks); i++ {
		if s.is(i, "of") && (s.is(i-1, "kind") || s.is(i-1, "sort")) {
			toks[i].boost = boostDecr
		}
	}

	s.sent = s.sent[:0]
	for i := range toks {
		s.sent = append(s.sent, a.valence(s, i, capsDiff))
	}

	// "but" shifts the weight to what follows it.
	for i := range toks {
		if s.is(i, "but") {
			for j := range s.sent {
				switch {
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
	if sum != 0 {
		emph := punctuationEmphasis(text)
		if sum > 0 {
			sum += emph
		} else {
			sum -= emph
		}
	}
	compound = sum / math.Sqrt(sum*sum+alpha)
	compound = max(-1, min(1, compound))
	return compound, LabelOf(compound)
}

// valence is the sentiment token i contributes, after the rules.
func (a *Analyzer) valence(s *scratch, i int, capsDiff bool) float64 {
	toks := s.toks
	t := &toks[i]
	// Boosters and "kind of" modify the next word; they carry no sentiment of their own.
	if t.boost != 0 || !t.inLex || s.is(i, "kind") && i+1 < len(toks) && s.is(i+1, "of") {
		return 0
	}
	v := t.valence
	// "no" before a sentiment word negates it rather than counting as negative itself.
	if s.is(i, "no") && i+1 < len(toks) && toks[i+1].inLex {
		v = 0
	}
	if i > 0 && s.is(i-1, "no") || i > 1 && s.is(i-2, "no") ||
		i > 2 && s.is(i-3, "no") && (s.is(i-1, "or") || s.is(i-1, "nor")) {
		v = t.valence * negScalar
	}
	if t.caps && capsDiff {
		if v > 0 {
			v += capsIncr
		} else {
			v -= capsIncr
		}
	}
	// Up to three words back: boosters (weaker with distance) and negations. Words that
	// carry sentiment themselves are neither.
	for back := 1; back <= 3 && i-back >= 0; back++ {
		p := &toks[i-back]
		if p.inLex {
			continue
		}
		if p.boost != 0 {
			b := p.boost
			if v < 0 {
				b = -b
			}
			if p.caps && capsDiff {
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
	if i > 0 && !toks[i-1].inLex && s.is(i-1, "least") &&
		(i == 1 || !s.is(i-2, "at") && !s.is(i-2, "very")) {
		v *= negScalar
	}
	return v
}

// negationCheck applies the negation rule for the word back places before token i.
// "never so good" and "never this good" intensify instead; "without doubt" is not negated.
func negationCheck(s *scratch, v float64, i, back int) float64 {
	toks := s.toks
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
	if toks[i-back].negates {
		return v * negScalar
	}
	return v
}

// punctuationEmphasis is the intensity '!' and '?' add to a text's sentiment.
func punctuationEmphasis(text string) float64 {
	excl := min(strings.Count(text, "!"), maxExclaim)
	emph := float64(excl) * exclaimIncr
	switch q := strings.Count(text, "?"); {
	case q > 3:
		emph += maxQuest
	case q > 1:
		emph += float64(q) * questIncr
	}
	return emph
}

// tokenize splits text at white space into s.toks, lower-casing each token into s.lower and
// looking it up once. Surrounding punctuation is stripped unless that leaves at most one
// character, so emoticons (":)", ":D", "<3") stay whole. URLs and @mentions are skipped: a
// screen name is not an opinion.
func (a *Analyzer) tokenize(s *scratch, text string) {
	s.lower, s.toks = s.lower[:0], s.toks[:0]
	for len(text) > 0 {
		var field string
		if field, text = nextField(text); field == "" {
			break
		}
		if field[0] == '@' || hasURLPrefix(field) {
			continue
		}
		word := strings.TrimFunc(field, isStrippable)
		if utf8.RuneCountInString(word) <= 1 {
			word = field
		}
		t := token{lo: len(s.lower), caps: isCaps(word)}
		s.lower = appendLower(s.lower, word)
		t.hi = len(s.lower)
		lw := s.lower[t.lo:t.hi]
		info, ok := a.words[string(lw)]
		if !ok && t.caps {
			// A few emoticons are upper case in the lexicon (":D").
			info = a.words[word]
		}
		t.wordInfo = info
		t.negates = t.negates || bytes.Contains(lw, []byte("n't"))
		s.toks = append(s.toks, t)
	}
}

// nextField splits off the first white-space separated field of text; field is empty when
// text has none. Unlike strings.Fields it allocates nothing, and it decodes runes only
// outside ASCII.
func nextField(text string) (field, rest string) {
	start := indexSpace(text, false)
	if start < 0 {
		return "", ""
	}
	text = text[start:]
	end := indexSpace(text, true)
	if end < 0 {
		return text, ""
	}
	return text[:end], text[end:]
}

// indexSpace returns the index of the first rune of s that is (space true) or is not
// (space false) white space, or -1.
func indexSpace(s string, space bool) int {
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if asciiSpace[c] == space {
				return i
			}
			i++
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		if unicode.IsSpace(r) == space {
			return i
		}
		i += n
	}
	return -1
}

var asciiSpace = [utf8.RuneSelf]bool{'\t': true, '\n': true, '\v': true, '\f': true, '\r': true, ' ': true}

// isStrippable is the punctuation stripped from the ends of a token. Apostrophes stay, so
// contractions ("don't") and their negations survive.
func isStrippable(r rune) bool {
	return r != '\'' && (unicode.IsPunct(r) || unicode.IsSymbol(r))
}

func hasURLPrefix(s string) bool {
	return strings.HasPrefix(s, "http://") || strings.HasPrefix(s, "https://") || strings.HasPrefix(s, "www.")
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

// appendLower appends the lower-case form of w to b without an intermediate string.
func appendLower(b []byte, w string) []byte {
	for i := 0; i < len(w); i++ {
		c := w[i]
		if c >= utf8.RuneSelf {
			// Non-ASCII: the slow path for the rest of the word.
			for _, r := range w[i:] {
				b = utf8.AppendRune(b, unicode.ToLower(r))
			}
			return b
		}
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		b = append(b, c)
	}
	return b
}
