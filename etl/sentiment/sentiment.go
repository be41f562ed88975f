// Package sentiment scores the sentiment of tweets with the VADER method (Hutto & Gilbert,
// 2014): a lexicon of word valences adjusted for negation, intensifiers, capitals,
// exclamation marks and "but". It also extracts the words a word cloud shows.
//
// The lexicon is VADER's own (MIT licence, in lexicon/), embedded in the binary.
package sentiment

import (
	"bufio"
	_ "embed"
	"math"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

//go:embed lexicon/vader_lexicon.txt
var vaderLexicon string

// Label is the sentiment class of a text.
type Label int8

// Labels, with the values the warehouse stores.
const (
	Negative Label = -1
	Neutral  Label = 0
	Positive Label = 1
)

func (l Label) String() string {
	switch l {
	case Negative:
		return "negative"
	case Positive:
		return "positive"
	}
	return "neutral"
}

// LabelOf applies VADER's thresholds to a compound score.
func LabelOf(compound float64) Label {
	switch {
	case compound >= 0.05:
		return Positive
	case compound <= -0.05:
		return Negative
	}
	return Neutral
}

// Analyzer scores texts. It is safe for concurrent use; build it once with New.
type Analyzer struct {
	valence map[string]float64
}

// New loads the embedded lexicon.
func New() *Analyzer {
	a := &Analyzer{valence: make(map[string]float64, 7600)}
	sc := bufio.NewScanner(strings.NewReader(vaderLexicon))
	for sc.Scan() {
		fields := strings.Split(sc.Text(), "\t")
		if len(fields) < 2 {
			continue
		}
		v, err := strconv.ParseFloat(fields[1], 64)
		if err != nil {
			continue
		}
		a.valence[fields[0]] = v
	}
	return a
}

// VADER's constants.
const (
	boostIncr  = 0.293
	boostDecr  = -0.293
	capsIncr   = 0.733
	negScalar  = -0.74
	alphaNorm  = 15.0
	maxExclaim = 4
)

var negations = setOf("aint", "arent", "cannot", "cant", "couldnt", "darent", "didnt", "doesnt",
	"ain't", "aren't", "can't", "couldn't", "daren't", "didn't", "doesn't", "dont", "hadnt",
	"hasnt", "havent", "isnt", "mightnt", "mustnt", "neither", "don't", "hadn't", "hasn't",
	"haven't", "isn't", "mightn't", "mustn't", "neednt", "needn't", "never", "none", "nope",
	"nor", "not", "nothing", "nowhere", "oughtnt", "shant", "shouldnt", "uhuh", "wasnt",
	"werent", "oughtn't", "shan't", "shouldn't", "uh-uh", "wasn't", "weren't", "without",
	"wont", "wouldnt", "won't", "wouldn't", "rarely", "seldom", "despite")

var boosters = map[string]float64{
	"absolutely": boostIncr, "amazingly": boostIncr, "awfully": boostIncr, "completely": boostIncr,
	"considerably": boostIncr, "decidedly": boostIncr, "deeply": boostIncr, "effing": boostIncr,
	"enormously": boostIncr, "entirely": boostIncr, "especially": boostIncr, "exceptionally": boostIncr,
	"extremely": boostIncr, "fabulously": boostIncr, "flipping": boostIncr, "fricking": boostIncr,
	"frigging": boostIncr, "fully": boostIncr, "fucking": boostIncr, "greatly": boostIncr,
	"hella": boostIncr, "highly": boostIncr, "hugely": boostIncr, "incredibly": boostIncr,
	"intensely": boostIncr, "majorly": boostIncr, "more": boostIncr, "most": boostIncr,
	"particularly": boostIncr, "purely": boostIncr, "quite": boostIncr, "really": boostIncr,
	"remarkably": boostIncr, "so": boostIncr, "substantially": boostIncr, "thoroughly": boostIncr,
	"totally": boostIncr, "tremendously": boostIncr, "uber": boostIncr, "unbelievably": boostIncr,
	"unusually": boostIncr, "utterly": boostIncr, "very": boostIncr,
	"almost": boostDecr, "barely": boostDecr, "hardly": boostDecr, "kind of": boostDecr,
	"kinda": boostDecr, "kindof": boostDecr, "less": boostDecr, "little": boostDecr,
	"marginally": boostDecr, "occasionally": boostDecr, "partly": boostDecr, "scarcely": boostDecr,
	"slightly": boostDecr, "somewhat": boostDecr, "sort of": boostDecr, "sorta": boostDecr,
	"sortof": boostDecr,
}

func setOf(words ...string) map[string]bool {
	m := make(map[string]bool, len(words))
	for _, w := range words {
		m[w] = true
	}
	return m
}

// token is one word of a text as scored: its lower-case form and whether it was shouted.
type token struct {
	lower string
	caps  bool
}

// tokenize splits on white space and strips surrounding punctuation, keeping emoticons
// (tokens that are all punctuation, like ":)" or "<3") whole, as VADER does.
func tokenize(text string) []token {
	fields := strings.Fields(text)
	toks := make([]token, 0, len(fields))
	for _, f := range fields {
		if strings.HasPrefix(f, "http://") || strings.HasPrefix(f, "https://") || strings.HasPrefix(f, "@") {
			continue
		}
		w := strings.TrimFunc(f, func(r rune) bool { return unicode.IsPunct(r) && r != '\'' || unicode.IsSymbol(r) })
		if w == "" {
			w = f // an emoticon
		}
		if strings.HasPrefix(w, "#") {
			w = w[1:]
		}
		if utf8.RuneCountInString(w) <= 1 && !isEmoticon(w) {
			continue
		}
		toks = append(toks, token{lower: strings.ToLower(w), caps: isUpper(w)})
	}
	return toks
}

func isEmoticon(w string) bool {
	for _, r := range w {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			return false
		}
	}
	return w != ""
}

func isUpper(w string) bool {
	letters := 0
	for _, r := range w {
		if unicode.IsLetter(r) {
			if !unicode.IsUpper(r) {
				return false
			}
			letters++
		}
	}
	return letters > 1
}

// Score returns the compound score of text in [-1, 1] and its label.
func (a *Analyzer) Score(text string) (float64, Label) {
	toks := tokenize(text)
	// VADER boosts capitals only when the text mixes cases.
	capsDiff := false
	nCaps := 0
	for _, t := range toks {
		if t.caps {
			nCaps++
		}
	}
	capsDiff = nCaps > 0 && nCaps < len(toks)

	sentiments := make([]float64, len(toks))
	for i, t := range toks {
		if _, ok := boosters[t.lower]; ok {
			continue
		}
		if t.lower == "kind" && i+1 < len(toks) && toks[i+1].lower == "of" {
			continue
		}
		v, ok := a.valence[t.lower]
		if !ok {
			continue
		}
		if t.caps && capsDiff {
			if v > 0 {
				v += capsIncr
			} else {
				v -= capsIncr
			}
		}
		// Intensifiers and negations up to three words before.
		for back := 1; back <= 3 && i-back >= 0; back++ {
			prev := toks[i-back]
			if _, known := a.valence[prev.lower]; !known || boosters[prev.lower] != 0 {
				if b, ok := boosters[prev.lower]; ok {
					scalar := b
					if v < 0 {
						scalar = -b
					}
					if prev.caps && capsDiff {
						if v > 0 {
							scalar += capsIncr
						} else {
							scalar -= capsIncr
						}
					}
					switch back {
					case 2:
						scalar *= 0.95
					case 3:
						scalar *= 0.9
					}
					v += scalar
				}
			}
			if negations[prev.lower] || strings.HasSuffix(prev.lower, "n't") {
				v *= negScalar
			}
		}
		sentiments[i] = v
	}
	// "but": the part after weighs 1.5, the part before 0.5.
	for i, t := range toks {
		if t.lower == "but" {
			for j := range sentiments {
				if j < i {
					sentiments[j] *= 0.5
				} else if j > i {
					sentiments[j] *= 1.5
				}
			}
			break
		}
	}
	var sum float64
	for _, s := range sentiments {
		sum += s
	}
	if sum != 0 {
		excl := min(strings.Count(text, "!"), maxExclaim)
		emph := float64(excl) * 0.292
		if q := strings.Count(text, "?"); q > 1 {
			emph += min(float64(q)*0.18, 0.96)
		}
		if sum > 0 {
			sum += emph
		} else {
			sum -= emph
		}
	}
	compound := sum / math.Sqrt(sum*sum+alphaNorm)
	compound = math.Max(-1, math.Min(1, compound))
	return compound, LabelOf(compound)
}
