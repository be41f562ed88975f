package entities

// set makes a lookup set of words.
func set(words ...string) map[string]bool {
	m := make(map[string]bool, len(words))
	for _, w := range words {
		m[w] = true
	}
	return m
}

// contractionEndings are the tokens prose's tokenizer splits off a word ("Obama's" is
// "Obama" and "'s"); at the edge of an entity they are not part of the name.
var contractionEndings = set("'s", "'ll", "'re", "'m", "'ve", "'d", "n't", "'")

// notNames are words that prose tags as names when they are capitalised or next to a name,
// and that are never part of one in a tweet: Twitter slang and interjections, contractions
// that prose does not split ("I've") or that are written without an apostrophe. Lowercase.
var notNames = set(
	"rt", "mt", "lol", "lmao", "lmfao", "rofl", "omg", "omfg", "wtf", "wth", "smh", "tbh", "idk",
	"imo", "imho", "btw", "fyi", "ftw", "fml", "nsfw", "irl", "tbt", "ff", "dm", "pm", "am",
	"ok", "okay", "brb", "omw", "icymi", "psa", "rip", "aka",
	"hey", "hi", "hello", "yo", "oh", "ah", "aw", "awe", "ugh", "wow", "yay", "woot", "yes",
	"yeah", "yep", "yup", "nope", "no", "heh", "welp", "whew", "bruh", "thanks", "thx", "pls",
	"plz", "woohoo", "hooray", "yippee", "meh", "dear", "fuck", "fucking", "shit", "damn",
	"gonna", "wanna", "gotta", "tryna", "imma", "i", "i've", "i'd", "y'all", "ya'll", "im",
	"ive", "cant", "dont", "wont", "didnt", "isnt", "heres", "theres", "todays", "we've",
	"you've", "they've",
)

// tweetWords are common words of tweets that prose's tagger (trained on news text) does not
// know, added to the lexicon with their usual tag: headers, spellings and words that prose
// takes for names when they start a sentence alone. Lowercase.
var tweetWords = map[string]string{
	"video": "NN", "photo": "NN", "pic": "NN", "pics": "NNS", "news": "NN", "breaking": "VBG",
	"update": "NN", "reminder": "NN", "correction": "NN", "blog": "NN", "quote": "NN",
	"retweet": "VB", "follow": "VB", "watch": "VB", "wish": "VB", "bless": "VB",
	"dude": "NN", "jealous": "JJ", "happiness": "NN", "luckily": "RB", "rumour": "NN",
	"favourite": "JJ", "colour": "NN", "honour": "NN", "diet": "NN", "coach": "NN",
	"popcorn": "NN", "roomie": "NN", "shorty": "NN", "delightful": "JJ",
}

// dateWords are weekdays and months, written out and abbreviated, and the days around
// today. prose tags them as names when capitalised (always, in English), and they glue
// onto the name before them: "Bala Saturday May".
var dateWords = set(
	"monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday",
	"mon", "tue", "tues", "wed", "thu", "thur", "thurs", "fri", "sat",
	"january", "february", "march", "april", "may", "june", "july", "august", "september",
	"october", "november", "december",
	"jan", "feb", "mar", "apr", "jun", "jul", "aug", "sep", "sept", "oct", "nov", "dec",
	"today", "tonight", "tomorrow", "yesterday",
)
