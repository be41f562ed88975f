package sentiment

import (
	"bytes"
	"hash/maphash"
	"strings"
)

// The memo of words: what the rules, the word cloud and the learned model make of a word
// token depends on the word alone (its normal form, its lexicon entry, its capitals, its
// word-cloud form, the weights of its features), and tweets repeat their words. Each
// scratch keeps what was worked out for the words it saw, keyed by the word as written,
// so a word seen before costs one lookup instead of normalising, looking up and hashing
// it again. A word enters the memo the second time it is seen: most distinct words of a
// stream are seen once (names, typos, codes), and keeping those would cost more than it
// saves; a small table of the hashes of words seen once says which are back. (Over the
// 47k tweets of the training set, in their order, the memo answers 89% of the word
// tokens.) The learned model's sums for a word are kept beside what the rules made of it,
// in the scratch of the model's own Analyzer. Hashtags are kept the same way: what the
// rules make of a tag (its words, when it is camel-cased) and the model's sums for it.
//
// Whichever words a memo holds, it holds what the computation gives for them, so a
// result never depends on what was seen before (TestMemoChangesNothing).

// maxMemo bounds a memo: one that holds this many words is emptied before the next text
// (never during one, whose tokens point into it). On the training set's tweets, 4k words
// answer 77% of the word tokens, 8k 84%, 16k 89%, 32k 91%; 16k scored fastest there
// (a bigger table is colder in the processor's caches).
const maxMemo = 1 << 14

// seenSlots is the size of a memo's table of words seen once: a word's hash picks a slot
// and the slot holds the hash's top bits. A word that finds its bits there is taken to be
// back (two words may share a slot and bits: one of them enters the memo early, which
// changes nothing but its cost).
const seenSlots = 1 << 16

// memoSeed seeds the hashes of the tables of words seen once.
var memoSeed = maphash.MakeSeed()

// maxMemoLen is the longest word a memo keeps, in bytes; longer ones are worked out each
// time (codes, keys, runs of a script without spaces: seldom repeated).
const maxMemoLen = 40

// memoWord is what the rules and the word cloud make of a word token.
type memoWord struct {
	surface   string // the word as written: its key
	form      string // its normal form, as the lexicon knows it (elongation undone)
	info      wordInfo
	caps      bool
	stretched bool
	cloud     string // its word-cloud word; "" when it is not one
}

// memoTag is what the rules make of a hashtag: its terms (one, or one a word of a
// camel-cased tag), with their forms in form.
type memoTag struct {
	text  string // the tag as written: its key
	form  string
	terms []term // lo and hi into form
}

// memoWords is a scratch's memo.
type memoWords struct {
	index map[string]int32 // word as written -> words[i]
	words []memoWord
	// feats[i] is what the learned model makes of words[i]: worked out for the words in
	// order as the model meets them, so it may be shorter than words (or empty: the
	// lexicon engine on its own).
	feats []memoFeature
	// Hashtags, the same way: keyed by the tag as written, '#' included (which no word
	// token starts with, so words and tags share the table of those seen once);
	// tagSums[i] is the learned model's sums for tags[i].
	tagIndex map[string]int32
	tags     []memoTag
	tagSums  [][3]float64
	seen     []uint32 // the words and tags seen once (seenSlots)
}

// start readies the memo for a text: emptied when full.
func (m *memoWords) start() {
	if m.index == nil {
		m.index = make(map[string]int32, 1024)
		m.tagIndex = make(map[string]int32, 256)
		m.seen = make([]uint32, seenSlots)
	}
	if len(m.words)+len(m.tags) >= maxMemo {
		clear(m.index)
		clear(m.words) // let go of the strings
		clear(m.feats)
		m.words, m.feats = m.words[:0], m.feats[:0]
		clear(m.tagIndex)
		clear(m.tags)
		m.tags, m.tagSums = m.tags[:0], m.tagSums[:0]
	}
}

// seenBefore reports whether word w was seen before, and marks it seen.
func (m *memoWords) seenBefore(w string) bool {
	h := maphash.String(memoSeed, w)
	slot := &m.seen[h%seenSlots]
	bits := uint32(h>>32) | 1 // never 0, an empty slot
	if *slot == bits {
		return true
	}
	*slot = bits
	return false
}

// addWordToken appends the term of a word token, from the memo when it has the word,
// and returns its memo entry (-1 for a word the memo does not keep: seen for the first
// time, or too long).
func (a *Analyzer) addWordToken(s *scratch, w string) int32 {
	if k, ok := s.memo.index[w]; ok {
		e := &s.memo.words[k]
		t := term{lo: len(s.buf), kind: termWord, caps: e.caps, stretched: e.stretched, wordInfo: e.info}
		s.buf = append(s.buf, e.form...)
		t.hi = len(s.buf)
		if e.info.laugh {
			t.kind = termFace
		}
		s.stretched = s.stretched || t.stretched
		s.terms = append(s.terms, t)
		return k
	}
	n := len(s.terms)
	a.addWord(s, w, w, termWord)
	if len(w) > maxMemoLen || !s.memo.seenBefore(w) {
		return -1
	}
	t := &s.terms[n]
	var buf [64]byte
	cloud, _ := cloudWord(a.t, &buf, w)
	k := int32(len(s.memo.words))
	key := strings.Clone(w)
	form := key // most words are written in their normal form: one copy
	if string(s.buf[t.lo:t.hi]) != key {
		form = string(s.buf[t.lo:t.hi])
	}
	if cloud == w {
		cloud = key // cloudWord returns w itself, or a string of its own
	}
	s.memo.words = append(s.memo.words, memoWord{
		surface: key, form: form, info: t.wordInfo, caps: t.caps, stretched: t.stretched, cloud: cloud,
	})
	s.memo.index[key] = k
	return k
}

// addTagToken appends the terms of a hashtag token (text with its '#'), from the memo
// when it has the tag, and returns its memo entry (-1 when the memo does not keep it).
func (a *Analyzer) addTagToken(s *scratch, text string) int32 {
	m := &s.memo
	if k, ok := m.tagIndex[text]; ok {
		e := &m.tags[k]
		base := len(s.buf)
		s.buf = append(s.buf, e.form...)
		for _, t := range e.terms {
			t.lo, t.hi = t.lo+base, t.hi+base
			s.stretched = s.stretched || t.stretched
			s.terms = append(s.terms, t)
		}
		return k
	}
	lo, n := len(s.buf), len(s.terms)
	a.addTag(s, text[1:])
	if len(text) > maxMemoLen || !m.seenBefore(text) {
		return -1
	}
	e := memoTag{text: strings.Clone(text), form: string(s.buf[lo:]), terms: make([]term, len(s.terms)-n)}
	for i, t := range s.terms[n:] {
		t.lo, t.hi = t.lo-lo, t.hi-lo
		e.terms[i] = t
	}
	k := int32(len(m.tags))
	m.tags = append(m.tags, e)
	m.tagIndex[e.text] = k
	return k
}

// appendMemoWords is AppendWords of the tokens collect memoised: the memo's word-cloud
// word for each word token it kept, worked out for the others.
func (s *scratch) appendMemoWords(dst []string) []string {
	first := len(dst)
	var buf [64]byte
	t := lexicon()
	for i, tok := range s.toks {
		if tok.Kind != Word {
			continue
		}
		k := s.tokWord[i]
		if k < 0 {
			dst = appendWord(dst, first, t, &buf, tok.Kind, tok.Text)
			continue
		}
		if w := s.memo.words[k].cloud; w != "" && !containsString(dst[first:], w) {
			dst = append(dst, w)
		}
	}
	return dst
}

func containsString(ws []string, w string) bool {
	for _, x := range ws {
		if x == w {
			return true
		}
	}
	return false
}

// memoFeature is what the learned model makes of a word token: the features that depend
// on the word alone, summed into the three classes' scores once.
type memoFeature struct {
	norm    string        // normWord of it: what its bigrams are made of
	shout   bool          // isShouting
	negator bool          // it starts a negation's reach
	word    [2][3]float64 // the word's own feature (w:), and negated (n:)
	grams   [3]float64    // its letter n-grams
}

// wordSums returns what the model makes of word token i of the scratch's text, from the
// memo when it has it. For a word the memo does not keep, the norm of the result is empty
// and f.word holds it.
func (f *featurizer) wordSums(s *scratch, i int) *memoFeature {
	k := int(s.tokWord[i])
	if k < 0 {
		f.sumsOf(&f.spare, s.toks[i].Text)
		return &f.spare
	}
	m := &s.memo
	for len(m.feats) <= k {
		w := m.words[len(m.feats)].surface
		m.feats = append(m.feats, memoFeature{})
		e := &m.feats[len(m.feats)-1]
		f.sumsOf(e, w)
		e.norm = w // most words are written in their normal form: no copy
		if string(f.word) != w {
			e.norm = string(f.word)
		}
	}
	return &m.feats[k]
}

// tagSums returns the learned model's sums for hashtag token i of the scratch's text, from
// the memo when it has the tag.
func (f *featurizer) tagSums(s *scratch, i int) [3]float64 {
	k := int(s.tokWord[i])
	if k < 0 {
		return f.sumsOfTag(s.toks[i].Text)
	}
	m := &s.memo
	for len(m.tagSums) <= k {
		m.tagSums = append(m.tagSums, f.sumsOfTag(m.tags[len(m.tagSums)].text))
	}
	return m.tagSums[k]
}

// sumsOfTag sums the weights of hashtag text's features, in the order tagFeatures lists
// them.
func (f *featurizer) sumsOfTag(text string) (sum [3]float64) {
	mark := len(f.out)
	f.tagFeatures(text)
	for _, x := range f.out[mark:] {
		f.weigh(&sum, x)
	}
	f.out = f.out[:mark]
	return sum
}

// weigh adds feature x's weights to the three classes' sums.
func (f *featurizer) weigh(sum *[3]float64, x feature) {
	for c := range 3 {
		sum[c] += float64(f.weights[x.index*3+uint32(c)]) * float64(x.value)
	}
}

// sumsOf works out in e what the model makes of word w, but for e.norm, which it leaves
// in f.word. The word's features are added to f.out one by one and summed from there, in
// the order the training lists them.
func (f *featurizer) sumsOf(e *memoFeature, w string) {
	f.word = normWord(f.word[:0], w)
	*e = memoFeature{
		shout:   isShouting(w),
		negator: negators[string(f.word)] || bytes.HasSuffix(f.word, []byte("n't")),
	}
	mark := len(f.out)
	f.add("w:", f.word, nil)
	f.add("n:", f.word, nil)
	f.charGrams(f.word)
	for k, x := range f.out[mark:] {
		sum := &e.grams
		if k < 2 {
			sum = &e.word[k]
		}
		f.weigh(sum, x)
	}
	f.out = f.out[:mark]
}
