package entities

import (
	"bytes"
	"encoding/gob"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"
	"github.com/jdkato/prose/v2"
)

// Real tweets, shared with the sentiment package; its testdata README gives their sources
// and licences. VADER's are tweets about everyday life with few names; TweetEval's are
// sampled by topic (people, teams, products, events) and name something nearly every time.
const (
	vaderTweets     = "../sentiment/testdata/vader-4200-tweets.tsv"  // id TAB rating TAB text, CRLF
	tweetEvalTweets = "../sentiment/testdata/tweeteval-val-text.txt" // one text a line
)

// sharedExtractor is loaded once for all tests: loading the model is the slow part.
var sharedExtractor = sync.OnceValues(New)

// extractor returns the Extractor shared by the tests.
func extractor(tb testing.TB) *Extractor {
	tb.Helper()
	x, err := sharedExtractor()
	if err != nil {
		tb.Fatal(err)
	}
	return x
}

// readTweets returns the texts of a corpus file, in order.
func readTweets(tb testing.TB, path string) []string {
	tb.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	var texts []string
	for _, line := range strings.Split(string(data), "\n") {
		line = strings.TrimRight(line, "\r")
		if strings.HasSuffix(path, ".tsv") {
			fields := strings.SplitN(line, "\t", 3)
			if len(fields) < 3 {
				continue
			}
			line = fields[2]
		}
		if line = strings.TrimSpace(line); line != "" {
			texts = append(texts, line)
		}
	}
	if len(texts) == 0 {
		tb.Fatalf("%s holds no tweets", path)
	}
	return texts
}

// TestExtract checks what Extract finds in tweets, the first ones from TweetEval's. The
// wants are what prose's model finds, right or wrong: it often confuses people and places
// (Microsoft a person, Obama a place) and finds organisations rarely.
func TestExtract(t *testing.T) {
	t.Parallel()
	x := extractor(t)
	person := func(s string) Entity { return Entity{Text: s, Kind: Person} }
	place := func(s string) Entity { return Entity{Text: s, Kind: Place} }
	org := func(s string) Entity { return Entity{Text: s, Kind: Organisation} }
	tests := []struct {
		name, text string
		want       []Entity
	}{
		{"news sentence", "Barack Obama spoke in Chicago with Microsoft executives",
			[]Entity{person("Barack Obama"), place("Chicago"), person("Microsoft")}},
		{"organisation", "The United Nations held a meeting in Geneva.",
			[]Entity{org("United Nations"), place("Geneva")}},
		{"organisation and place", "I work at Microsoft in Seattle",
			[]Entity{org("Microsoft"), place("Seattle")}},
		{"entity ends the text", "I love New York", []Entity{place("New York")}},
		{"retweet with URL and hashtag",
			"RT @CNN: Angela Merkel met Emmanuel Macron in Berlin on Monday https://t.co/abc123 #EU",
			[]Entity{person("Angela Merkel"), person("Emmanuel Macron"), place("Berlin")}},
		{"sentence-initial adjective", "Happy birthday Barack Obama!!! 🎉🎂",
			[]Entity{person("Barack Obama")}},
		{"interjection", "Hey everyone, Taylor Swift is in Paris tonight!",
			[]Entity{person("Taylor Swift"), place("Paris")}},
		{"sentence-initial common word", "Sorry I can't make it to London tomorrow :(",
			[]Entity{place("London")}},
		{"common words and names", "Great day in London with Google and Apple.",
			[]Entity{place("London"), person("Google"), place("Apple")}},
		{"shouting", "GREAT NEWS FROM THE WHITE HOUSE TODAY", nil},
		{"shouted common words", "LMAO, AMAZING!", nil},
		{"headline in title case", "Dark Souls 3 April Launch Date Confirmed With New Trailer: Embrace the darkness.", nil},
		{"contraction stem", "Can't wait for tomorrow at 9 pm! Chelsea v crystal palace! Hope the blues will win!",
			[]Entity{person("Chelsea")}},
		{"HTML entity and date", "Eric Church is headlining a festival in Raleigh on October 17 &amp; 18 and I may or may not be the happiest person ever right now",
			[]Entity{person("Eric Church"), place("Raleigh")}},
		{"comma inside a place", "I'm going to Anthony Hamilton at DAR Constitution Hall in Washington, DC - Sep 15",
			[]Entity{person("Anthony Hamilton"), place("DAR Constitution Hall"), place("Washington"), place("DC")}},
		{"repeats in other case", "@user @user Obama is in Chicago. obama loves chicago! #Obama",
			[]Entity{place("Obama"), place("Chicago")}},
		{"weekday and hashtag", "Tom Brady is locked for Thursday. Let the season begin! #RepeatSeason",
			[]Entity{person("Tom Brady")}},
		{"verb before a name", "Look #Steelers fans I know you may be upset about Suisham missing that kick. Just know that I heard a guy named Billy Cundiff is available.",
			[]Entity{org("Steelers"), place("Suisham"), person("Billy Cundiff")}}, // "Look" cut off at the hashtag's edge
		{"cashtags and topic hashtags", "$TSLA #LaunchDay is here, storm warnings in Chicago #StormWatch $tsla",
			[]Entity{org("TSLA"), place("Chicago")}},
		{"acronym in capitals", "Finals night in Boston, let's go Celtics #FinalsNight #NBA", []Entity{place("Boston"), org("NBA")}},
		{"trailing topic tags", "Stuck without power in Leeds again #Outage #Liverpool #NBA https://t.co/x", []Entity{place("Leeds"), org("NBA")}},
		{"truncated hashtag", "RT @weather: Heavy snow across Colorado #StormWa…", []Entity{place("Colorado")}},
		{"laughter", "Ha! Just saw the Stig driving through Uxbridge in an Ariel Atom!!!",
			[]Entity{place("Stig"), place("Uxbridge"), person("Ariel Atom")}},
		{"run-on sentences", "We've watched everyone getting ready.Bell's staff did a miraculous job",
			[]Entity{person("Bell")}},
		// A miss: the model needs capitals.
		{"lowercase name", "Lol dana white ain't happy w/ the ways things are going", nil},
		{"empty", "", nil},
		{"only a mention and a URL", "@user https://t.co/xyz", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := x.Extract(tt.text, "en")
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Extract(%q) (-want +got):\n%s", tt.text, diff)
			}
		})
	}
}

// TestExtractLanguages checks that only English and unrecorded languages are processed.
func TestExtractLanguages(t *testing.T) {
	t.Parallel()
	x := extractor(t)
	const text = "Angela Merkel trifft Emmanuel Macron in Berlin"
	tests := []struct {
		lang string
		want bool
	}{
		{"en", true}, {"", true},
		{"de", false}, {"fr", false}, {"und", false}, {"qme", false}, {"EN", false},
	}
	for _, tt := range tests {
		t.Run("lang="+tt.lang, func(t *testing.T) {
			t.Parallel()
			if got := x.Extract(text, tt.lang); (len(got) > 0) != tt.want {
				t.Errorf("Extract(%q, %q) = %v, want entities: %v", text, tt.lang, got, tt.want)
			}
		})
	}
	// A cashtag is an organisation in any language.
	const cashtag = "$AAPL sube un 3% hoy, Angela Merkel en Berlin"
	if got, want := x.Extract(cashtag, "es"), []Entity{{Text: "AAPL", Kind: Organisation}}; !slices.Equal(got, want) {
		t.Errorf("Extract(%q, es) = %v, want %v", cashtag, got, want)
	}
}

// TestIsOrganisationAcronym checks which names in capitals that the model takes for places
// become organisations.
func TestIsOrganisationAcronym(t *testing.T) {
	for name, want := range map[string]bool{"NASA": true, "NBA": true, "FBI": true, "USA": false, "NYC": false, "UK": false,
		"DC": false, "New York": false, "U.S.": false, "Nasa": false, "NEW YORK": false} {
		if got := isOrganisationAcronym(name); got != want {
			t.Errorf("isOrganisationAcronym(%q) = %v", name, got)
		}
	}
}

// TestExtractConcurrent runs one Extractor from several goroutines, as the consumer does
// with one per partition; under -race it checks that prose shares no mutable state.
func TestExtractConcurrent(t *testing.T) {
	t.Parallel()
	x := extractor(t)
	tweets := readTweets(t, tweetEvalTweets)[:100]
	want := make([][]Entity, len(tweets))
	for i, text := range tweets {
		want[i] = x.Extract(text, "en")
	}
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := range tweets {
				j := (i + g*len(tweets)/4) % len(tweets) // each goroutine starts elsewhere
				if diff := cmp.Diff(want[j], x.Extract(tweets[j], "en")); diff != "" {
					t.Errorf("goroutine %d, Extract(%q) differs from the sequential run (-want +got):\n%s", g, tweets[j], diff)
					return
				}
			}
		})
	}
	wg.Wait()
}

// TestKindsCoverModelLabels checks that kinds maps every label prose's model can emit, so
// that no kind of entity is dropped unnoticed.
func TestKindsCoverModelLabels(t *testing.T) {
	t.Parallel()
	b, err := prose.Asset("model/Maxent/labels.gob")
	if err != nil {
		t.Fatal(err)
	}
	var labels []string
	if err := gob.NewDecoder(bytes.NewReader(b)).Decode(&labels); err != nil {
		t.Fatal(err)
	}
	if len(labels) == 0 {
		t.Fatal("the model has no labels")
	}
	for _, l := range labels {
		if l == "O" {
			continue
		}
		_, label, _ := strings.Cut(l, "-")
		if _, ok := kinds[label]; !ok {
			t.Errorf("model label %s (from %s) has no Kind", label, l)
		}
	}
}

// TestLexicon checks that the tagger's lexicon holds common words and no names.
func TestLexicon(t *testing.T) {
	t.Parallel()
	x := extractor(t)
	for _, w := range []string{"was", "sorry", "check", "great", "the", "look", "hurts", "goin", "beautiful", "video"} {
		if !x.lex.isCommon(w) {
			t.Errorf("lexicon: %q is not a common word", w)
		}
	}
	for _, w := range []string{"obama", "texas", "chelsea", "london", "nicki", "zayn", "microsoft"} {
		if x.lex.isCommon(w) {
			t.Errorf("lexicon: %q is a common word (tag %s)", w, x.lex[w])
		}
	}
}

// FuzzExtract checks that Extract never panics and returns well-formed entities for any
// text.
func FuzzExtract(f *testing.F) {
	for _, s := range []string{
		"Barack Obama spoke in Chicago with Microsoft executives",
		"RT @CNN: Angela Merkel met Emmanuel Macron in Berlin https://t.co/abc #EU #G7Summit",
		"GREAT NEWS FROM THE WHITE HOUSE TODAY", "I love New York", "ha ha HA", "Can't",
		"", "#", "##$$##", "@", "@ Place", "RT @a: RT @b:", "\xff\xfeObama\xc3", "U.S. B.I.G.",
		"a.B.c.D", "#_#_", "n't 's", "(((Obama)))", "Ça va, Zoë? Ünïcödé Naïve Café!",
		"ȺȺȺ İstanbul ǅemal", "\u2019Obama\u2019s", "&amp;rsquo;Obama&rsquo;",
	} {
		f.Add(s)
	}
	x := extractor(f)
	f.Fuzz(func(t *testing.T, text string) {
		got := x.Extract(text, "en")
		for i, e := range got {
			switch {
			case e.Text == "":
				t.Errorf("Extract(%q): empty entity %v", text, e)
			case !utf8.ValidString(e.Text):
				t.Errorf("Extract(%q): entity %q is not valid UTF-8", text, e.Text)
			case strings.TrimSpace(e.Text) != e.Text:
				t.Errorf("Extract(%q): entity %q has space around it", text, e.Text)
			case e.Kind != Person && e.Kind != Place && e.Kind != Organisation:
				t.Errorf("Extract(%q): entity %q has kind %q", text, e.Text, e.Kind)
			}
			for _, before := range got[:i] {
				if strings.EqualFold(before.Text, e.Text) {
					t.Errorf("Extract(%q): entity %q after %q", text, e.Text, before.Text)
				}
			}
		}
		if other := x.Extract(text, "fr"); other != nil {
			t.Errorf("Extract(%q, fr) = %v, want nil", text, other)
		}
	})
}
