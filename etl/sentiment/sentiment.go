// Package sentiment scores the sentiment of tweets and extracts the words a word cloud shows.
// The ETL calls it once per tweet, so both are built to allocate nothing for a text whose
// words they have met before (memo.go): a word met for the second time costs its memo entry.
//
// The scorer follows the VADER method (Hutto & Gilbert, "VADER: A Parsimonious Rule-based
// Model for Sentiment Analysis of Social Media Text", ICWSM 2014): each word's valence
// comes from a human-rated lexicon, then rules adjust it for negation ("not", "never",
// "n't" up to three words before), boosters and dampeners ("very", "kind of"), words in
// capitals among lower-case ones, exclamation and question marks, a contrastive "but"
// (what follows it weighs more) and idioms ("the shit", "yeah right"). The sum is
// squashed into a compound score in [-1, 1]: sum/sqrt(sum²+15). Labels use VADER's
// thresholds: positive at 0.05 and above, negative at -0.05 and below, neutral between.
//
// It departs from the reference implementation where tweets differ from prose, each
// change explained where it is made (rules.go): a tokenizer that knows emoticons,
// emoji, hashtags, mentions, URLs and HTML escapes (tokenize.go); lookups that see
// through elongation ("sooo gooood") and typographic apostrophes; emoji scored through
// their descriptions, one token each; faces and laughter outside the reach of
// negation, boosters and "but"; negation that stops at the end of a clause and at the
// first sentiment word; hashtags split where camel-cased and counted a quarter;
// idioms of Twitter ("can't wait", "hell yeah", "damn good"); and a '!' or a drawn-out
// word with no sentiment word to intensify read as mild enthusiasm. On the development
// sets in testdata it beats the reference implementation's figures, which
// TestAccuracyOnDevelopmentSets holds it to.
//
// The lexicons are VADER's own (MIT licence, lexicon/LICENSE-vader.txt), embedded in
// the binary.
package sentiment

import (
	"math"
	"sync"
)

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

// Analyzer scores texts. Build it with New; it is safe for concurrent use.
type Analyzer struct {
	t *tables // shared and read-only
	// scratch holds *scratch buffers so that Score allocates nothing once warm.
	scratch sync.Pool
}

// New returns an Analyzer over the embedded lexicons. The lexicons are parsed once per
// process, on the first call.
func New() *Analyzer {
	return &Analyzer{t: lexicon()}
}

// scratch is the per-call working memory of Score.
type scratch struct {
	toks  []Token
	buf   []byte // the normalised forms of the terms
	terms []term
	sent  []float64
	// The '!' and '?' outside URLs and emoticons, for punctuation emphasis.
	exclaims, questions int
	stretched           bool // some word is elongated

	memo    memoWords
	tokWord []int32 // of each word or hashtag of toks: its entry in memo's words or tags, -1 when it has none
}

// Score returns the compound sentiment of text in [-1, 1] and its label.
func (a *Analyzer) Score(text string) (compound float64, label Label) {
	compound, label, _ = a.analyze(text, nil, false)
	return compound, label
}

// Analyze is Score and AppendWords together, with one pass of the tokenizer: what the ETL
// does with every tweet.
func (a *Analyzer) Analyze(text string, words []string) (compound float64, label Label, out []string) {
	return a.analyze(text, words, true)
}

func (a *Analyzer) analyze(text string, words []string, wantWords bool) (compound float64, label Label, out []string) {
	return a.analyzeTokens(text, words, wantWords, nil)
}

// analyzeTokens is analyze, calling tokens, when not nil, with the scratch holding the
// text's tokens and their memo entries (valid during the call): the learned model's
// features come from the same pass.
func (a *Analyzer) analyzeTokens(text string, words []string, wantWords bool, tokens func(*scratch)) (compound float64, label Label, out []string) {
	s, _ := a.scratch.Get().(*scratch)
	if s == nil {
		s = new(scratch)
	}
	sum := a.sum(s, text)
	if wantWords {
		out = s.appendMemoWords(words)
	}
	if tokens != nil {
		tokens(s)
	}
	switch {
	case sum != 0:
		emph := punctuationEmphasis(s.exclaims, s.questions)
		if sum > 0 {
			sum += emph
		} else {
			sum -= emph
		}
	case s.exclaims > 0 && s.questions == 0:
		// With no sentiment word to intensify, '!' is enthusiasm: "And then I found
		// $20 in my back pocket!" is glad. A question mark makes it surprise instead.
		sum = punctuationEmphasis(s.exclaims, 0)
	case s.stretched:
		// So is a word drawn out that the lexicon does not know ("whoaaa", "yayuhhh").
		sum = boostIncr
	}
	// Very long texts are kept from overflowing sum² into +Inf, which would make the
	// quotient NaN; the clamp to [-1, 1] is the reference implementation's.
	sum = max(-1e150, min(1e150, sum))
	compound = max(-1, min(1, sum/math.Sqrt(sum*sum+alpha)))
	if len(s.buf) <= 1<<16 { // the buffers of a pathologically long text are not kept
		a.scratch.Put(s)
	}
	return compound, LabelOf(compound), out
}

// punctuationEmphasis is the intensity '!' and '?' add to a text's sentiment.
func punctuationEmphasis(exclaims, questions int) float64 {
	emph := float64(min(exclaims, maxExclaim)) * exclaimIncr
	switch {
	case questions > 3:
		emph += maxQuest
	case questions > 1:
		emph += float64(questions) * questIncr
	}
	return emph
}
