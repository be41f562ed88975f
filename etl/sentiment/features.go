package sentiment

import (
	"bytes"
	"math"
	"strings"
	"unicode"
	"unicode/utf8"
)

// The features of the learned model (model.go): what a tweet says, hashed into a fixed
// number of weights, and a few dense signals of the lexicon engine. Each feature is a
// string with a prefix saying what it is, hashed (FNV-1a) into one of the model's buckets:
//
//   - w: a word, lower case, runs of a letter cut to two ("sooo" is "soo"); within the
//     reach of a negation ("not", "never", "n't" to the end of the clause) it is a
//     different feature, n: ("not good" gives n:good, not w:good)
//   - b: two words in a row, and the start and end of the tweet as words
//   - c: the letter 3- and 4-grams of each word, with its edges ("^go", "od$"): spellings,
//     stems and words the training set never saw
//   - h: a hashtag, and its words (SplitHashtag) as words
//   - e:, j: an emoticon, an emoji; @user, url, num for a mention, a web address, a number
//   - p: punctuation: "!", "?", "?!", "..."
//
// and the dense ones, in the last buckets: the lexicon engine's compound score, its
// label, and the share of words in capitals.

// denseFeatures is how many dense features follow the hashed ones.
const denseFeatures = 6

// feature is one feature of a text: its bucket and value.
type feature struct {
	index uint32
	value float32
}

// featurizer turns texts into features; it keeps its buffers between calls.
type featurizer struct {
	lexicon *Analyzer
	buckets uint32 // hashed features; the dense ones follow
	toks    []Token
	word    []byte
	prev    []byte
	out     []feature

	// Scoring (not training), the features of words go through the memo and are summed
	// into z rather than listed in out; weights are the model's.
	scoring bool
	weights []float32
	z       [3]float64
	spare   memoFeature // the sums of a word the memo does not keep
}

// negators start a negation's reach.
var negators = map[string]bool{"not": true, "no": true, "never": true, "nobody": true, "nothing": true, "none": true,
	"nowhere": true, "neither": true, "nor": true, "cannot": true, "cant": true, "dont": true, "doesnt": true, "didnt": true,
	"isnt": true, "arent": true, "wasnt": true, "werent": true, "wont": true, "wouldnt": true, "shouldnt": true,
	"couldnt": true, "aint": true, "havent": true, "hasnt": true, "hadnt": true, "without": true}

// features returns the features of text, valid until the next call. Values of hashed
// features that land in one bucket add up.
func (f *featurizer) features(text string) []feature {
	fs, _ := f.featuresWords(text, nil, false)
	return fs
}

// featuresWords is features, and when wantWords, text's words appended to words (as
// Analyzer.Analyze lists them), from the same pass over its tokens.
func (f *featurizer) featuresWords(text string, words []string, wantWords bool) ([]feature, []string) {
	f.out = f.out[:0]
	f.z = [3]float64{}
	var nwords, caps int
	compound, label, words := f.lexicon.analyzeTokens(text, words, wantWords, func(s *scratch) { nwords, caps = f.tokenFeatures(s) })
	shout := 0.0
	if nwords > 0 {
		shout = float64(caps) / float64(nwords)
	}
	dense := [denseFeatures]float64{compound, compound * math.Abs(compound), b2f(label == Negative), b2f(label == Neutral), b2f(label == Positive), shout}
	for i, v := range dense {
		f.out = append(f.out, feature{index: f.buckets + uint32(i), value: float32(v)})
	}
	return f.out, words
}

// tokenFeatures adds the hashed features of a text's tokens, and counts its words and
// those in capitals.
func (f *featurizer) tokenFeatures(s *scratch) (words, caps int) {
	f.prev = append(f.prev[:0], "<s>"...)
	negated := false
	for i, t := range s.toks {
		switch t.Kind {
		case Word:
			if f.scoring {
				e := f.wordSums(s, i)
				words++
				if e.shout {
					caps++
				}
				neg := 0
				if negated {
					neg = 1
				}
				for c := range 3 {
					f.z[c] += e.grams[c] + e.word[neg][c]
				}
				if e.norm == "" {
					f.bigram(f.word) // a word the memo does not keep: f.word holds its form
				} else {
					f.bigramString(e.norm)
				}
				negated = negated || e.negator
				break
			}
			f.word = normWord(f.word[:0], t.Text)
			words++
			if isShouting(t.Text) {
				caps++
			}
			if negated {
				f.add("n:", f.word, nil)
			} else {
				f.add("w:", f.word, nil)
			}
			f.bigram(f.word)
			f.charGrams(f.word)
			if negators[string(f.word)] || bytes.HasSuffix(f.word, []byte("n't")) {
				negated = true
			}
		case Hashtag:
			if f.scoring {
				g := f.tagSums(s, i)
				for c := range 3 {
					f.z[c] += g[c]
				}
				break
			}
			f.tagFeatures(t.Text)
		case Emoticon:
			f.addString("e:", t.Text)
			f.bigramString(t.Text)
		case Emoji:
			f.addString("j:", t.Text)
			f.bigramString(t.Text)
		case Mention:
			f.addString("", "@user")
		case URL:
			f.addString("", "url")
		case Number:
			f.addString("", "num")
		case Punct:
			if strings.ContainsAny(t.Text, ".,;:!?") {
				negated = false
			}
			switch ex, q := strings.Contains(t.Text, "!"), strings.Contains(t.Text, "?"); {
			case ex && q:
				f.addString("p:", "?!")
			case ex:
				f.addString("p:", "!")
			case q:
				f.addString("p:", "?")
			case strings.Contains(t.Text, ".."):
				f.addString("p:", "...")
			}
		}
	}
	f.bigramString("</s>")
	return words, caps
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// bigram adds the bigram of the previous word and w, and makes w the previous word.
func (f *featurizer) bigram(w []byte) {
	f.add("b:", f.prev, w)
	f.prev = append(f.prev[:0], w...)
}

// bigramString is bigram of a token's text.
func (f *featurizer) bigramString(w string) {
	f.word = append(f.word[:0], w...)
	f.bigram(f.word)
}

// tagFeatures adds the features of hashtag text (with its '#'): the tag, and its words.
func (f *featurizer) tagFeatures(text string) {
	f.word = normWord(f.word[:0], text[1:])
	f.add("h:", f.word, nil)
	if !isCamel(text[1:]) && !strings.ContainsAny(text, "_0123456789") {
		f.add("w:", f.word, nil) // one word: SplitHashtag would say the same
		return
	}
	for _, w := range SplitHashtag(text) {
		f.word = normWord(f.word[:0], w)
		f.add("w:", f.word, nil)
	}
}

// charGrams adds the letter 3- and 4-grams of w with its edges marked.
func (f *featurizer) charGrams(w []byte) {
	if len(w) > 24 {
		return
	}
	var buf [28]byte
	padded := append(append(append(buf[:0], '^'), w...), '$')
	for i := 0; i+3 <= len(padded); i++ {
		h := fnvBytes(charGramSeed, padded[i:i+3])
		f.out = append(f.out, feature{index: uint32(h % uint64(f.buckets)), value: 1})
		if i+4 <= len(padded) {
			h = fnvBytes(h, padded[i+3:i+4]) // the 4-gram hashes on from the 3-gram...
			h ^= fourGramMark                // ...and is told apart from it
			f.out = append(f.out, feature{index: uint32(h % uint64(f.buckets)), value: 1})
		}
	}
}

// FNV-1a, 64 bits.
const (
	fnvOffset = 14695981039346656037
	fnvPrime  = 1099511628211
)

func fnvBytes(h uint64, b []byte) uint64 {
	for _, c := range b {
		h = (h ^ uint64(c)) * fnvPrime
	}
	return h
}

func fnvString(h uint64, s string) uint64 {
	for i := 0; i < len(s); i++ {
		h = (h ^ uint64(s[i])) * fnvPrime
	}
	return h
}

var (
	charGramSeed = fnvString(fnvOffset, "c:")
	fourGramMark = fnvString(fnvOffset, "4")
)

// add adds the feature prefix+a(+" "+b).
func (f *featurizer) add(prefix string, a, b []byte) {
	h := fnvBytes(fnvString(fnvOffset, prefix), a)
	if b != nil {
		h = fnvBytes((h^' ')*fnvPrime, b)
	}
	f.out = append(f.out, feature{index: uint32(h % uint64(f.buckets)), value: 1})
}

// addString adds the feature prefix+s.
func (f *featurizer) addString(prefix, s string) {
	f.word = append(f.word[:0], s...)
	f.add(prefix, f.word, nil)
}

// normWord is w in lower case, with typographic apostrophes straight and runs of three or
// more of a letter cut to two.
func normWord(dst []byte, w string) []byte {
	var run rune
	n := 0
	for _, r := range w {
		if r == '’' || r == 'ʼ' || r == '‘' {
			r = '\''
		}
		r = unicode.ToLower(r)
		if r == run {
			if n++; n > 2 {
				continue
			}
		} else {
			run, n = r, 1
		}
		dst = utf8.AppendRune(dst, r)
	}
	return dst
}

// isShouting reports whether a word of two letters or more is all capitals.
func isShouting(w string) bool {
	letters := 0
	for _, r := range w {
		if unicode.IsLower(r) {
			return false
		}
		if unicode.IsUpper(r) {
			letters++
		}
	}
	return letters >= 2
}
