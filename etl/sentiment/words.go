package sentiment

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// Words returns the word-cloud words of a tweet, each once, in order of appearance:
// lower-cased, elongation undone ("gooood" is "good"), without a possessive "'s", and
// without stop-words, numbers, single letters, emoticons, emoji, URLs, @mentions,
// #hashtags and $cashtags (the last three have columns of their own).
//
// Japanese and Chinese, written without spaces, come out as their runs of kanji and of
// katakana (mostly nouns); runs of hiragana, mostly particles and endings, are left out.
func Words(text string) []string {
	return AppendWords(nil, text)
}

// AppendWords is Words appending to dst, for callers that reuse a slice. It
// de-duplicates only what it appends.
func AppendWords(dst []string, text string) []string {
	first := len(dst)
	var buf [64]byte
	t := lexicon()
	for i := 0; i < len(text); {
		kind, end := scan(text, i)
		surface := text[i:end]
		i = end
		dst = appendWord(dst, first, t, &buf, kind, surface)
	}
	return dst
}

// appendWord appends the word-cloud word of one token, if it is one and dst[first:] does
// not have it yet.
func appendWord(dst []string, first int, t *tables, buf *[64]byte, kind Kind, surface string) []string {
	if kind != Word {
		return dst
	}
	w, ok := cloudWord(t, buf, surface)
	if !ok || containsString(dst[first:], w) {
		return dst
	}
	return append(dst, w)
}

// cloudWord returns the word-cloud word of a word token written surface, if it has one.
func cloudWord(t *tables, buf *[64]byte, surface string) (string, bool) {
	if utf8.RuneCountInString(surface) > maxWordRunes {
		return "", false
	}
	b := appendNormalized(buf[:0], surface)
	if bytesHasSuffix(b, "'s") {
		b = b[:len(b)-2]
	}
	b = destretchWord(t, b)
	if !keepWord(b) {
		return "", false
	}
	// The word as written is usually its normal form: no copy then.
	if string(b) == surface {
		return surface, true
	}
	return string(b), true
}

// maxWordRunes drops the longest tokens, which in tweets are codes, keys and text in
// scripts without spaces that the tokenizer cannot split (Thai), not words.
const maxWordRunes = 30

// destretchWord undoes elongation in the lower-case word b, in place: runs of three or
// more of a letter are written twice ("gooood" is "good"), or once where only that
// form is a known word ("sooo" is "so").
func destretchWord(t *tables, b []byte) []byte {
	if !hasRun(b, 3) {
		return b
	}
	var tmp [64]byte
	twice := appendCollapsed(tmp[:0], b, 2)
	if _, ok := t.words[string(twice)]; !ok {
		if once := appendCollapsed(b[len(b):], b, 1); t.words[string(once)].inLex || stopWords[string(once)] {
			return append(b[:0], once...)
		}
	}
	return append(b[:0], twice...)
}

func bytesHasSuffix(b []byte, suffix string) bool {
	return len(b) >= len(suffix) && string(b[len(b)-len(suffix):]) == suffix
}

// keepWord reports whether the normalised word w belongs in a word cloud.
func keepWord(w []byte) bool {
	if utf8.RuneCount(w) < 2 || stopWords[string(w)] {
		return false
	}
	if bytesIndexLetter(w) < 0 {
		return false // "'0": a modifier apostrophe is a letter to Unicode, not to a reader
	}
	hiragana := true
	for _, r := range string(w) {
		if !unicode.Is(unicode.Hiragana, r) && r != 'ー' {
			hiragana = false
			break
		}
	}
	return !hiragana
}

func bytesIndexLetter(w []byte) int {
	for k, r := range string(w) {
		if unicode.IsLetter(r) && r != 'ʼ' {
			return k
		}
	}
	return -1
}

// stopWords are left out of word clouds: the function words of the feed's main
// languages (English, Spanish, Portuguese, French, German, Italian), with the spellings
// without accents and apostrophes that tweets use, and Twitter's own noise ("rt",
// "via").
var stopWords = func() map[string]bool {
	m := make(map[string]bool, 1200)
	for _, list := range []string{stopEnglish, stopSpanish, stopPortuguese, stopFrench, stopGerman, stopItalian, stopTwitter} {
		for _, w := range strings.Fields(list) {
			m[w] = true
		}
	}
	return m
}()

const stopEnglish = `a about above after again against ago all almost already also although always am an and
another any anybody anyone anything anyway anyways are aren't around as at away back be because
been before being below between both but by can can't cannot could couldn't did didn't do does
doesn't doing don't done down during each either else even ever every everybody everyone
everything few for from further get gets getting go goes going gone gonna got gotta had hadn't
has hasn't have haven't having he he'd he'll he's her here here's hers herself him himself his
how how's however i i'd i'll i'm i've if in into is isn't it it'd it'll it's its itself just
let let's like lot lots many may maybe me might mine more most much must mustn't my myself near
neither never no nor not now of off often oh ok okay on once one only onto or other others
ought our ours ourselves out over own per perhaps please quite rather really said same say says
see seem seems several shall shan't she she'd she'll she's should shouldn't since so some
somebody someone something sometimes soon still such than that that'll that's thats the their
theirs them themselves then there there's these they they'd they'll they're they've thing things
this those though through thru thus till to too toward towards u under until up upon ur us use
used very via want wanna was wasn't way we we'd we'll we're we've well went were weren't what
what's whatever when when's where where's whether which while who who's whoever whole whom whose
why why's will with within without won't would wouldn't ya yeah yes yet you you'd you'll you're
you've your yours yourself yourselves
im ive id ill youre youve youll theyre dont doesnt didnt cant couldnt wont wouldnt shouldnt isnt
arent wasnt werent hasnt havent hadnt lets whats hes shes theres wheres`

const stopSpanish = `a al algo algunas algunos ante antes aqui aquí asi así aun aún cada como cómo con
contra cual cuál cuales cuando cuándo de del desde donde dónde dos el él ella ellas ellos en entre
era eran eres es esa esas ese eso esos esta está estaba estado estamos estan están estar estas
estás este esto estos estoy fue fueron fui ha hace hacer han has hasta hay he la las le les lo
los mas más me mi mí mis mucho muchos muy nada ni no nos nosotros o os otra otras otro otros para
pero poco por porque pues que qué quien quién se sea ser si sí sido siempre sin sobre sois solo
sólo somos son soy su sus tambien también tan tanto te tenemos tener tengo ti tiene tienen todo
todos tu tú tus un una uno unos usted ustedes vos y ya yo`

const stopPortuguese = `à ao aos aquela aquele aqueles aquilo as às até com como da das de dela dele deles
depois do dos e é ela elas ele eles em entre era essa esse esta está estão estar este eu foi
for foram há isso isto já lhe lhes mais mas me mesmo meu minha muito muitos na não nao nas nem
no nos nós nossa nosso num numa o os ou para pela pelas pelo pelos por porque pra pro quando que
quem se sem ser seu seus sim só sua suas também tambem te tem têm tenho teu tu tua um uma umas
uns vai vc você voce vocês vou`

const stopFrench = `à a ai aie ainsi alors au aucun aussi autre aux avec avez avoir c c'est ça car ce
cela celle celui ces cet cette ceux chez ci comme comment d d'un d'une dans de des donc dont du
elle elles en encore est et été être eu fait il ils j j'ai je l l'a la le les leur leurs lui m
ma mais me même mes moi mon n ne ni nos notre nous on ont ou où par pas peu peut plus pour pourquoi
qu qu'il quand que quel quelle qui s sa sans se ses si son sont suis sur t ta te tes toi ton
tous tout toute toutes très tres tu un une vos votre vous y`

const stopGerman = `aber alle allem allen aller alles als also am an andere anderen auch auf aus bei
bin bis bist da damit dann das dass daß dein deine dem den denn der des dich die dies diese
diesem diesen dieser dieses dir doch dort du durch ein eine einem einen einer eines er es etwas
euch euer für fur gegen hab habe haben hat hatte hier ich ihm ihn ihr ihre im in ist ja jetzt
kann kein keine man mein meine mich mir mit muss nach nicht nichts noch nun nur ob oder ohne sehr
sein seine sich sie sind so schon soll um und uns unser unter viel vom von vor war waren warum
was weil wenn wer wie wieder wir wird wo zu zum zur über`

const stopItalian = `a ad agli ai al alla alle allo anche ancora avere c che chi ci come con cosa così
cui da dal dalla dei del della delle dello di dove e è ed era gli ha hai hanno ho i il in io
la le lei li lo loro lui ma me mi mia mio molto ne nei nel nella no noi non o per perché perche
più piu po poi quale quando quella quello questa questi questo se sei si sia siamo sono su sua
sue sui sul sulla suo suoi te ti tra tu tua tuo tutti tutto un una uno voi`

const stopTwitter = `rt via amp gt lt cc mt dm pm am http https www com`
