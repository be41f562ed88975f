package sentiment

import (
	"bufio"
	_ "embed"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"
)

// VADER's lexicons (MIT licence, lexicon/LICENSE-vader.txt): words and emoticons with
// their mean human-rated valence (-4..+4), and emoji with a short description.
var (
	//go:embed lexicon/vader_lexicon.txt
	vaderLexicon string
	//go:embed lexicon/vader_emoji_utf8_lexicon.txt
	vaderEmojiLexicon string
)

// tables is everything the scorer knows, built once from the embedded lexicons and the
// rule lists, and never changed after.
type tables struct {
	// words maps a lower-case word or emoticon to what the lexicon and the rule lists
	// say about it, so that scoring costs one lookup per token.
	words map[string]wordInfo
	// phrases lists, by first word, the multi-word expressions whose valence replaces
	// that of their words.
	phrases map[string][]phrase
	// emoji maps an emoji sequence, and its form without skin tone or variation
	// selector, to the valence of its description.
	emoji map[string]float64
}

// wordInfo is what the lexicon and the rule lists say about one word.
type wordInfo struct {
	valence float64 // lexicon valence, when inLex
	inLex   bool
	boost   float64 // booster (> 0) or dampener (< 0) scalar, 0 for other words
	negates bool
	phrase  bool // the first word of an entry in tables.phrases
	degree  bool // a degree adverb before a sentiment word (degreeWords)
	laugh   bool // written laughter (laughs)
}

// phrase is a multi-word expression with a valence of its own.
type phrase struct {
	rest    []string // the words after the first
	valence float64
}

// lexicon returns the shared tables, building them on first use.
var lexicon = sync.OnceValue(buildTables)

// lexiconEmoticons returns the lexicon's emoticons, which the tokenizer takes whole
// when a field is nothing else (":-###..", "@}-;-'---"). They are apart from the
// tables because building those tokenizes the emoji descriptions.
var lexiconEmoticons = sync.OnceValue(func() map[string]bool {
	m := make(map[string]bool, 500)
	for line := range strings.Lines(vaderLexicon) {
		if c := line[0]; c < utf8.RuneSelf && !isASCIIAlnum(c) && !asciiSpace[c] {
			word, _, _ := strings.Cut(line, "\t")
			m[word] = true
		}
	}
	return m
})

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
var negations = []string{"aint", "arent", "cannot", "cant", "couldnt", "darent", "didnt", "doesnt",
	"ain't", "aren't", "can't", "couldn't", "daren't", "didn't", "doesn't", "dont", "hadnt",
	"hasnt", "havent", "isnt", "mightnt", "mustnt", "neither", "don't", "hadn't", "hasn't",
	"haven't", "isn't", "mightn't", "mustn't", "neednt", "needn't", "never", "none", "nope",
	"nor", "not", "nothing", "nowhere", "oughtnt", "shant", "shouldnt", "uhuh", "wasnt",
	"werent", "oughtn't", "shan't", "shouldn't", "uh-uh", "wasn't", "weren't", "without",
	"wont", "wouldnt", "won't", "wouldn't", "rarely", "seldom", "despite"}

// boosters raise (or, negative, lower) the intensity of the sentiment word after them.
// The multi-word dampeners ("kind of", "sort of", "just enough") are rules in valence.
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
	"almost": boostDecr, "barely": boostDecr, "hardly": boostDecr,
	"kinda": boostDecr, "kindof": boostDecr, "kind-of": boostDecr,
	"less": boostDecr, "little": boostDecr, "marginal": boostDecr, "marginally": boostDecr,
	"occasional": boostDecr, "occasionally": boostDecr, "partly": boostDecr, "scarce": boostDecr,
	"scarcely": boostDecr, "slight": boostDecr, "slightly": boostDecr, "somewhat": boostDecr,
	"sorta": boostDecr, "sortof": boostDecr, "sort-of": boostDecr,
}

// specialPhrases are VADER's special cases and sentiment-laden idioms: expressions whose
// meaning is not that of their words ("the shit" is praise, "bus stop" is not an
// order to stop). Of VADER's idioms, those common in literal use on Twitter ("in the
// red" of a football kit, "on the ball") are left out. The lexicon's own multi-word
// entries ("can't stand", "fed up") and the phrases of phraseLike are added to them.
var specialPhrases = map[string]float64{
	"the shit": 3, "the bomb": 3, "bad ass": 1.5, "bus stop": 0, "yeah right": -2,
	"kiss of death": -1.5, "to die for": 3, "beating heart": 3.1, "broken heart": -2.9,
	"cut the mustard": 2, "hand to mouth": -2, "back handed": -2, "blow smoke": -2,
	"blowing smoke": -2, "upper hand": 1, "break a leg": 2, "cooking with gas": 2,
	"under the weather": -2, "give em hell": 2, "give them hell": 2,
}

// phraseLike are idioms common in tweets that VADER lacks, each given the valence of a
// lexicon word that says the same, or none where the word is "": "can't wait" is
// eagerness, not a negation; "holy shit" is surprise, neither good nor bad; "hell
// yeah" is a cheer; "kick ass" is "badass"; "had a blast" is fun; "lesson learned"
// owns up to a mistake; to "kill time" or "take care of" something is neither good nor
// bad; in "nothing but the best" neither "nothing" negates nor "but" contrasts.
var phraseLike = map[string]string{
	"can't wait": "eager", "cant wait": "eager", "cannot wait": "eager",
	"holy shit": "", "holy crap": "", "holy fuck": "", "holy cow": "", "nothing but": "", "all but": "",
	"kill time": "", "kill some time": "", "killing time": "", "take care of": "", "taking care of": "",
	"took care of": "", "lesson learned": "mistake", "learned the hard way": "mistake",
	"hell yeah": "yay", "hell yes": "yay", "hell yea": "yay",
	"kick ass": "badass", "kicks ass": "badass", "kicked ass": "badass",
	"had a blast": "fun", "have a blast": "fun", "having a blast": "fun", "was a blast": "fun", "is a blast": "fun",
}

// reassurances are the bad things whose absence is said as comfort: "no problem", "no
// worries". They are negated as VADER negates, where other bad words after "no" are
// not (see valence).
var reassurances = []string{"problem", "problems", "worries", "worry", "doubt", "doubts", "regrets", "complaints"}

// degreeWords are words of their own valence that, before a sentiment word, are degree
// adverbs: "damn good", "bloody brilliant", "pretty bad", "super excited".
var degreeWords = []string{"damn", "bloody", "freaking", "freakin", "dang", "effin", "pretty", "super"}

// laughs are the lexicon's written laughter, which the rules treat like faces.
var laughs = []string{"lol", "lolz", "lmao", "lmfao", "rofl", "roflmao", "haha", "hahaha", "ha", "xd", "xp", "lulz"}

// emoticonValences gives faces that the lexicon lacks or lists ambiguously the valence
// of an equivalent it has. "D:" and "D=" are dismay; the lexicon, lower-casing them,
// also lists "d:" and "d=" (a tongue) as positive.
var emoticonValences = map[string]string{
	"D:": "):", "D=": ")=", "^_^": ":)", "^^": ":)", "^-^": ":)", "^.^": ":)", "^o^": ":d",
	"*_*": ":)", "T_T": ":'(", "T.T": ":'(", ";_;": ":'(", "-_-": ":|", "-.-": ":|",
	"=_=": ":|", "u_u": ":(", ">_<": ">.<", "x_x": ":(", "X_X": ":(", "xD": "xd", "XD": "xd",
}

func buildTables() *tables {
	t := &tables{
		words:   make(map[string]wordInfo, 7600),
		phrases: make(map[string][]phrase),
		emoji:   make(map[string]float64, 5000),
	}
	phrases := make(map[string]float64, len(specialPhrases)+len(phraseLike)+len(reassurances)+3)
	for p, v := range specialPhrases {
		phrases[p] = v
	}
	for line := range strings.Lines(vaderLexicon) {
		word, rest, ok := strings.Cut(strings.TrimRight(line, "\r\n"), "\t")
		if !ok {
			continue
		}
		mean, _, _ := strings.Cut(rest, "\t")
		v, err := strconv.ParseFloat(mean, 64)
		if err != nil {
			continue
		}
		if strings.Contains(word, " ") {
			if c := word[0]; isASCIILetter(c) { // "can't stand", not "( '}{' )"
				phrases[word] = v
			}
			continue
		}
		t.words[word] = wordInfo{valence: v, inLex: true}
	}
	update := func(words []string, f func(*wordInfo)) {
		for _, w := range words {
			info := t.words[w]
			f(&info)
			t.words[w] = info
		}
	}
	for w, b := range boosters {
		update([]string{w}, func(info *wordInfo) { info.boost = b })
	}
	update(negations, func(info *wordInfo) { info.negates = true })
	update(degreeWords, func(info *wordInfo) { info.degree = true })
	update(laughs, func(info *wordInfo) { info.laugh = true })
	for face, like := range emoticonValences {
		t.words[face] = wordInfo{valence: t.words[like].valence, inLex: true}
	}
	for p, like := range phraseLike {
		phrases[p] = t.words[like].valence
	}
	for _, w := range reassurances {
		phrases["no "+w] = t.words[w].valence * negScalar
	}
	for p, v := range phrases {
		if strings.Contains(p, "'") { // "cant stand" too
			phrases[strings.ReplaceAll(p, "'", "")] = v
		}
	}
	for p, v := range phrases {
		words := strings.Fields(p)
		t.phrases[words[0]] = append(t.phrases[words[0]], phrase{rest: words[1:], valence: v})
		update(words[:1], func(info *wordInfo) { info.phrase = true })
	}
	t.loadEmoji()
	return t
}

// loadEmoji scores each emoji's description as a text of its own: "😂 face with tears
// of joy" weighs what "face with tears of joy" does. Qualifiers after a colon ("thumbs
// up: medium skin tone", "flag: France") are left out: a skin tone or a country is
// not a sentiment.
func (t *tables) loadEmoji() {
	a := &Analyzer{t: t}
	s := new(scratch)
	sc := bufio.NewScanner(strings.NewReader(vaderEmojiLexicon))
	var base []byte
	for sc.Scan() {
		e, desc, ok := strings.Cut(sc.Text(), "\t")
		if !ok || e == "" {
			continue
		}
		desc, _, _ = strings.Cut(desc, ":")
		v := a.sum(s, desc)
		t.emoji[e] = v
		base = appendEmojiBase(base[:0], e)
		if _, ok := t.emoji[string(base)]; !ok {
			t.emoji[string(base)] = v
		}
	}
}
