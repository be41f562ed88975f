// Package generator makes realistic synthetic tweets in Twitter API v1.1 JSON, the format of
// Starling's sample feed: long-tailed hashtag popularity, trends that rise and fall over the
// day, mentions, URLs, emoji, retweets and quotes, several languages, and positive, negative
// and neutral text. The same Config always gives the same tweets.
package generator

import (
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
	"strings"
	"time"

	"github.com/starling-analytics/starling/internal/tweet"
)

// Config shapes a feed. Zero values are the documented defaults.
type Config struct {
	// Seed makes the feed reproducible. Default 1.
	Seed uint64
	// Count is the number of tweets. Default 25,000.
	Count int
	// Start is the beginning of the feed's time span. Default 2026-03-14T00:00:00Z.
	Start time.Time
	// Span is the feed's length. Default 24h.
	Span time.Duration
}

func (c Config) withDefaults() Config {
	if c.Seed == 0 {
		c.Seed = 1
	}
	if c.Count == 0 {
		c.Count = 25000
	}
	if c.Start.IsZero() {
		c.Start = time.Date(2026, 3, 14, 0, 0, 0, 0, time.UTC)
	}
	if c.Span == 0 {
		c.Span = 24 * time.Hour
	}
	return c
}

// Generator produces the tweets of one feed in time order.
type Generator struct {
	cfg   Config
	rng   *rand.Rand
	times []time.Time // sorted creation times of the whole feed
	next  int
	users []user
	tags  []string
	zipf  *rand.Zipf
	// recent tweets that retweets and quotes refer to
	recent []Tweet
}

type user struct {
	id        int64
	name      string
	screen    string
	followers int
	lang      string
}

// trend is a hashtag whose use rises and falls around a peak hour.
type trend struct {
	tag       string
	peak      float64 // hours after Start
	width     float64 // hours (standard deviation)
	share     float64 // fraction of tweets at the peak that carry it
	sentiment float64 // bias of its tweets: +1 positive, -1 negative
}

var trends = []trend{
	{"LaunchDay", 9, 1.2, 0.35, 1},
	{"StormWatch", 14, 1.8, 0.30, -1},
	{"Outage", 17.5, 0.6, 0.45, -1},
	{"FinalsNight", 20.5, 1.1, 0.40, 1},
}

// New prepares a generator.
func New(cfg Config) *Generator {
	cfg = cfg.withDefaults()
	rng := rand.New(rand.NewPCG(cfg.Seed, cfg.Seed^0x9e3779b97f4a7c15))
	g := &Generator{cfg: cfg, rng: rng}
	g.times = make([]time.Time, cfg.Count)
	for i := range g.times {
		g.times[i] = cfg.Start.Add(g.sampleOffset())
	}
	sort.Slice(g.times, func(i, j int) bool { return g.times[i].Before(g.times[j]) })
	g.tags = hashtagPool()
	g.zipf = rand.NewZipf(rng, 1.15, 2, uint64(len(g.tags)-1))
	g.users = g.makeUsers(4000)
	return g
}

// sampleOffset draws a time of day with a daily rhythm: quiet at night, busy in the evening.
func (g *Generator) sampleOffset() time.Duration {
	span := g.cfg.Span.Hours()
	for {
		h := g.rng.Float64() * span
		day := math.Mod(h, 24)
		weight := 0.25 + 0.75*math.Pow(math.Sin(math.Pi*math.Max(0, day-5)/19), 2)
		if g.rng.Float64() < weight {
			return time.Duration(h * float64(time.Hour))
		}
	}
}

// Len is the number of tweets the feed has; Remaining how many Next will still return.
func (g *Generator) Len() int       { return len(g.times) }
func (g *Generator) Remaining() int { return len(g.times) - g.next }

// Next returns the next tweet, and false when the feed is exhausted.
func (g *Generator) Next() (Tweet, bool) {
	if g.next >= len(g.times) {
		return Tweet{}, false
	}
	at := g.times[g.next]
	g.next++
	t := g.tweet(at)
	g.recent = append(g.recent, t)
	if len(g.recent) > 500 {
		g.recent = g.recent[len(g.recent)-500:]
	}
	return t, true
}

// NextJSON returns the next tweet as one line of v1.1 JSON (without the newline).
func (g *Generator) NextJSON() ([]byte, bool) {
	t, ok := g.Next()
	if !ok {
		return nil, false
	}
	b, err := json.Marshal(t)
	if err != nil {
		panic(fmt.Sprintf("generator: marshal tweet: %v", err)) // plain structs always marshal
	}
	return b, true
}

func (g *Generator) snowflake(at time.Time) int64 {
	return int64(tweet.SnowflakeID(at, uint64(g.rng.IntN(1<<22))))
}

func (g *Generator) makeUsers(n int) []user {
	us := make([]user, n)
	for i := range us {
		first := firstNames[g.rng.IntN(len(firstNames))]
		last := lastNames[g.rng.IntN(len(lastNames))]
		screen := strings.ToLower(first) + suffixes[g.rng.IntN(len(suffixes))] + fmt.Sprint(g.rng.IntN(1000))
		us[i] = user{
			id:        int64(10_000_000 + g.rng.IntN(1_500_000_000)),
			name:      first + " " + last,
			screen:    screen,
			followers: int(math.Exp(g.rng.NormFloat64()*1.8 + 5)),
			lang:      pickLang(g.rng),
		}
	}
	return us
}

func pickLang(rng *rand.Rand) string {
	x := rng.Float64()
	for _, l := range languageMix {
		if x < l.share {
			return l.code
		}
		x -= l.share
	}
	return "en"
}

// tweet builds one tweet created at at.
func (g *Generator) tweet(at time.Time) Tweet {
	u := g.users[g.rng.IntN(len(g.users))]
	// Retweets and quotes of recent tweets.
	if len(g.recent) > 20 {
		switch x := g.rng.Float64(); {
		case x < 0.18:
			orig := g.recent[len(g.recent)-1-g.rng.IntN(min(len(g.recent), 200))]
			if orig.RetweetedStatus == nil {
				return g.retweet(at, u, orig)
			}
		case x < 0.23:
			orig := g.recent[len(g.recent)-1-g.rng.IntN(min(len(g.recent), 200))]
			if orig.RetweetedStatus == nil {
				t := g.original(at, u)
				t.QuotedStatusIDStr = orig.IDStr
				t.QuotedStatusID = orig.ID
				o := orig
				o.QuotedStatus = nil
				t.QuotedStatus = &o
				t.IsQuoteStatus = true
				return t
			}
		}
	}
	return g.original(at, u)
}

func (g *Generator) retweet(at time.Time, u user, orig Tweet) Tweet {
	id := g.snowflake(at)
	o := orig
	o.QuotedStatus = nil
	text := "RT @" + orig.User.ScreenName + ": " + orig.fullText()
	t := Tweet{
		CreatedAt: at.Format(time.RubyDate), ID: id, IDStr: fmt.Sprint(id),
		Lang: orig.Lang, User: u.json(), RetweetedStatus: &o,
	}
	ents := orig.Entities
	if orig.ExtendedTweet != nil {
		ents = orig.ExtendedTweet.Entities
	}
	t.setText(text, ents.shifted(len([]rune("RT @"+orig.User.ScreenName+": "))))
	t.Entities.UserMentions = append([]Mention{{ScreenName: orig.User.ScreenName, Name: orig.User.Name, ID: orig.User.ID, IDStr: orig.User.IDStr, Indices: [2]int{3, 4 + len([]rune(orig.User.ScreenName))}}}, t.Entities.UserMentions...)
	return t
}

// original composes a tweet: a sentence in the author's language with a sentiment, and
// hashtags, mentions, a URL and emoji drawn at realistic rates.
func (g *Generator) original(at time.Time, u user) Tweet {
	hours := at.Sub(g.cfg.Start).Hours()
	var tags []string
	bias := 0.0
	for _, tr := range trends {
		p := tr.share * math.Exp(-0.5*math.Pow((hours-tr.peak)/tr.width, 2))
		if g.rng.Float64() < p {
			tags = append(tags, tr.tag)
			bias += tr.sentiment
		}
	}
	nTags := 0
	switch x := g.rng.Float64(); {
	case x < 0.40:
		nTags = 1
	case x < 0.55:
		nTags = 2
	case x < 0.60:
		nTags = 3
	}
	for range nTags {
		tag := g.tags[g.zipf.Uint64()]
		if !contains(tags, tag) {
			tags = append(tags, tag)
		}
	}
	sent := g.pickSentiment(bias)
	lang := u.lang
	body := g.sentence(lang, sent)

	var b strings.Builder
	ents := Entities{Hashtags: []Hashtag{}, UserMentions: []Mention{}, URLs: []URL{}, Symbols: []Symbol{}}
	pos := 0
	write := func(s string) { b.WriteString(s); pos += len([]rune(s)) }
	if g.rng.Float64() < 0.22 {
		m := g.users[g.rng.IntN(len(g.users))]
		ents.UserMentions = append(ents.UserMentions, Mention{ScreenName: m.screen, Name: m.name, ID: m.id, IDStr: fmt.Sprint(m.id), Indices: [2]int{pos, pos + 1 + len([]rune(m.screen))}})
		write("@" + m.screen + " ")
	}
	write(body)
	if g.rng.Float64() < 0.28 {
		write(" " + emojiFor(g.rng, sent))
	}
	if g.rng.Float64() < 0.04 {
		sym := cashtags[g.rng.IntN(len(cashtags))]
		write(" ")
		ents.Symbols = append(ents.Symbols, Symbol{Text: sym, Indices: [2]int{pos, pos + 1 + len(sym)}})
		write("$" + sym)
	}
	for _, tag := range tags {
		write(" ")
		ents.Hashtags = append(ents.Hashtags, Hashtag{Text: tag, Indices: [2]int{pos, pos + 1 + len([]rune(tag))}})
		write("#" + tag)
	}
	if g.rng.Float64() < 0.18 {
		short := fmt.Sprintf("https://t.co/%s", randomToken(g.rng, 10))
		site := sites[g.rng.IntN(len(sites))]
		write(" ")
		ents.URLs = append(ents.URLs, URL{URL: short, ExpandedURL: fmt.Sprintf("https://%s/%s", site, randomToken(g.rng, 8)), DisplayURL: site + "/…", Indices: [2]int{pos, pos + len(short)}})
		write(short)
	}
	id := g.snowflake(at)
	t := Tweet{CreatedAt: at.Format(time.RubyDate), ID: id, IDStr: fmt.Sprint(id), Lang: lang, User: u.json()}
	t.setText(b.String(), ents)
	return t
}

// pickSentiment draws -1, 0 or +1: overall about 38% positive, 30% negative, 32% neutral,
// shifted by the trends a tweet joins.
func (g *Generator) pickSentiment(bias float64) int {
	pos, neg := 0.38+0.25*bias, 0.30-0.25*bias
	pos, neg = math.Max(0.05, math.Min(0.9, pos)), math.Max(0.05, math.Min(0.9, neg))
	switch x := g.rng.Float64(); {
	case x < pos:
		return 1
	case x < pos+neg:
		return -1
	}
	return 0
}

func (g *Generator) sentence(lang string, sent int) string {
	set := phrases[lang]
	if set == nil {
		set = phrases["en"]
	}
	var list []string
	switch sent {
	case 1:
		list = set.positive
	case -1:
		list = set.negative
	default:
		list = set.neutral
	}
	s := list[g.rng.IntN(len(list))]
	subject := set.subjects[g.rng.IntN(len(set.subjects))]
	s = strings.ReplaceAll(s, "{x}", subject)
	if lang == "en" && g.rng.Float64() < 0.12 {
		// some longer tweets, over the classic 140 characters
		s += " " + set.neutral[g.rng.IntN(len(set.neutral))]
		s = strings.ReplaceAll(s, "{x}", set.subjects[g.rng.IntN(len(set.subjects))])
		s += " " + list[g.rng.IntN(len(list))]
		s = strings.ReplaceAll(s, "{x}", subject)
	}
	if lang == "en" && sent != 0 && g.rng.Float64() < 0.1 {
		s = strings.ToUpper(s[:1]) + s[1:] + "!!"
	}
	return s
}

func randomToken(rng *rand.Rand, n int) string {
	const alphabet = "abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"
	b := make([]byte, n)
	for i := range b {
		b[i] = alphabet[rng.IntN(len(alphabet))]
	}
	return string(b)
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if strings.EqualFold(v, s) {
			return true
		}
	}
	return false
}
