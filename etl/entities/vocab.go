package entities

import (
	"bytes"
	"encoding/gob"
	"fmt"
	"strings"

	"github.com/jdkato/prose/v2"
)

// lexicon maps lowercase English words to the Penn Treebank tag they usually have, for the
// words that are no proper nouns. Extract uses it to tell a capitalised common word from a
// name where capitals say nothing: at the start of a sentence, in a headline written in
// Title Case, in a tweet that shouts. Read-only once built.
type lexicon map[string]string

// The assets of prose's part-of-speech tagger (an averaged perceptron trained on the Penn
// Treebank) that loadLexicon reads; prose v2 compiles them into the binary and exports
// them through prose.Asset.
const (
	tagDictAsset = "model/AveragedPerceptron/tags.gob"    // map[word]tag of unambiguous words
	weightsAsset = "model/AveragedPerceptron/weights.gob" // map[feature]map[tag]weight
)

// loadLexicon builds the lexicon from prose's tagger: the words of its tag dictionary
// (frequent words with one tag 97% of the time) and the words whose own "i word" feature
// weighs most for a tag other than NNP and NNPS; about 12,000 words. The tagger's lexicon
// is the English vocabulary the model already carries, so the package needs no word list
// of its own beyond tweetWords, and names (Obama, Nicki, Chelsea, Texas) are not in it.
func loadLexicon() (lexicon, error) {
	var dict map[string]string
	if err := decodeAsset(tagDictAsset, &dict); err != nil {
		return nil, err
	}
	var weights map[string]map[string]float64
	if err := decodeAsset(weightsAsset, &weights); err != nil {
		return nil, err
	}
	lex := make(lexicon, len(dict)+len(weights)/4)
	for feature, byTag := range weights {
		word, ok := strings.CutPrefix(feature, "i word ")
		if !ok {
			continue
		}
		best, max := "", 0.0
		for tag, w := range byTag {
			if best == "" || w > max || w == max && tag < best { // ties by name: deterministic
				best, max = tag, w
			}
		}
		if best != "" && !isProperNounTag(best) {
			lex[word] = best
		}
	}
	// The dictionary is the tagger's surer knowledge: it overrides the weights.
	for word, tag := range dict {
		lower := strings.ToLower(word)
		if !isProperNounTag(tag) && (word == lower || lex[lower] == "") {
			lex[lower] = tag
		}
	}
	if len(lex) == 0 {
		return nil, fmt.Errorf("prose's tagger assets hold no words")
	}
	for word, tag := range tweetWords {
		if lex[word] == "" {
			lex[word] = tag
		}
	}
	return lex, nil
}

// isProperNounTag reports whether tag is a Penn Treebank proper noun tag.
func isProperNounTag(tag string) bool { return tag == "NNP" || tag == "NNPS" }

// decodeAsset gob-decodes prose's asset name into v.
func decodeAsset(name string, v any) error {
	b, err := prose.Asset(name)
	if err != nil {
		return fmt.Errorf("read prose asset %s: %w", name, err)
	}
	if err := gob.NewDecoder(bytes.NewReader(b)).Decode(v); err != nil {
		return fmt.Errorf("decode prose asset %s: %w", name, err)
	}
	return nil
}

// isCommon reports whether lower, a lowercase word, is a common word rather than a name:
// the lexicon knows it or the word it inflects ("hurts", "annoyed", "sadly"), tweets'
// spelling of such a word ("goin", "nothin"), it has the ending of an English adjective or
// abstract noun ("beautiful", "horrible", "kindness"), or it stretches a letter as nobody's
// name does ("Nooooo", "Hmmm").
func (l lexicon) isCommon(lower string) bool {
	if l[lower] != "" || hasRun(lower, 3) {
		return true
	}
	for _, in := range inflections {
		if stem, ok := strings.CutSuffix(lower, in.suffix); ok && len(stem) >= 2 {
			if l[stem+in.restore] != "" {
				return true
			}
		}
	}
	for _, suffix := range derivations {
		if len(lower) >= len(suffix)+3 && strings.HasSuffix(lower, suffix) {
			return true
		}
	}
	return false
}

// inflections are English word endings, with what to put back on the stem to find the word
// in the lexicon: "annoyed" is "annoy", "hoping" is "hope", "goin" is "going".
var inflections = []struct{ suffix, restore string }{
	{"s", ""}, {"es", ""}, {"ed", ""}, {"ed", "e"}, {"d", ""}, {"ing", ""}, {"ing", "e"},
	{"in", "ing"}, {"ly", ""}, {"er", ""}, {"est", ""}, {"ness", ""},
}

// derivations are endings of English adjectives and abstract nouns that names (in tweets
// at least) do not have.
var derivations = []string{"ful", "ous", "ible", "able", "less", "ness", "ment", "ish"}

// isFunctionWord reports whether lower is a word that begins no name even capitalised at
// the start of a sentence, before a name ("Look Steelers fans"): verbs, pronouns, adverbs,
// determiners, prepositions, conjunctions, interjections. Adjectives and nouns do begin
// names ("New York", "Black Friday", "Grand Canyon").
func (l lexicon) isFunctionWord(lower string) bool {
	switch tag := l[lower]; {
	case tag == "":
		return false
	case strings.HasPrefix(tag, "JJ"), strings.HasPrefix(tag, "NN"), tag == "CD":
		return false
	}
	return true
}

// hasRun reports whether s repeats one letter n times in a row.
func hasRun(s string, n int) bool {
	var prev rune
	run := 0
	for _, r := range s {
		if r == prev {
			run++
		} else {
			prev, run = r, 1
		}
		if run >= n {
			return true
		}
	}
	return false
}
