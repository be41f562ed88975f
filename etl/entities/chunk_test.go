package entities

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/jdkato/prose/v2"
)

// TestSpansMatchProse checks spans against prose's own chunker on real tweets: they must
// group tokens into the same entities with the same labels. Each text ends in a full stop,
// after which prose's chunker does not drop the last entity (see TestSpansKeepLastEntity).
func TestSpansMatchProse(t *testing.T) {
	t.Parallel()
	x := extractor(t)
	tweets := readTweets(t, tweetEvalTweets)
	entities := 0
	for _, text := range tweets {
		doc, err := prose.NewDocument(clean(text, x.lex).text+" .", prose.UsingModel(x.model), prose.WithSegmentation(false))
		if err != nil {
			t.Fatal(err)
		}
		tokens := doc.Tokens()
		var got []prose.Entity
		for _, s := range spans(tokens) {
			got = append(got, prose.Entity{Text: joinTokens(tokens[s.first : s.last+1]), Label: s.label})
		}
		want := doc.Entities()
		entities += len(want)
		if diff := cmp.Diff(want, got, cmp.Comparer(func(a, b []prose.Entity) bool {
			return len(a) == 0 && len(b) == 0 || cmp.Equal(a, b)
		})); diff != "" {
			t.Errorf("spans of %q differ from prose's entities (-prose +spans):\n%s", text, diff)
		}
	}
	if entities < len(tweets)/2 {
		t.Errorf("prose found %d entities in %d tweets; the comparison says little", entities, len(tweets))
	}
}

// TestSpansKeepLastEntity shows the difference from prose's chunker: an entity that ends
// the text is kept.
func TestSpansKeepLastEntity(t *testing.T) {
	t.Parallel()
	x := extractor(t)
	doc, err := prose.NewDocument("I love New York", prose.UsingModel(x.model), prose.WithSegmentation(false))
	if err != nil {
		t.Fatal(err)
	}
	if ents := doc.Entities(); len(ents) != 0 {
		t.Logf("prose now keeps the last entity: %v", ents)
	}
	tokens := doc.Tokens()
	got := spans(tokens)
	want := []span{{first: 2, last: 3, label: "GPE"}}
	if diff := cmp.Diff(want, got, cmp.AllowUnexported(span{})); diff != "" {
		t.Errorf("spans of %v (-want +got):\n%s", tokens, diff)
	}
}

func TestTrimPunct(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{"UMBC :/", "UMBC"},
		{"(NASA", "NASA"},
		{"Obama.", "Obama"},
		{`"Obama"!`, "Obama"},
		{"U.S.", "U.S."},
		{"Notorious B.I.G.,", "Notorious B.I.G."},
		{"Jay-Z", "Jay-Z"},
		{"Washington, DC", "Washington, DC"},
		{"...", ""},
		{"", ""},
	}
	for _, tt := range tests {
		if got := trimPunct(tt.in); got != tt.want {
			t.Errorf("trimPunct(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestIsLaughter(t *testing.T) {
	t.Parallel()
	for _, w := range []string{"ha", "haha", "hahaha", "hehe", "hihi", "bwahaha", "hahah"} {
		if !isLaughter(w) {
			t.Errorf("isLaughter(%q) = false", w)
		}
	}
	for _, w := range []string{"h", "hat", "hannah", "heath", "hamas", "bw", ""} {
		if isLaughter(w) {
			t.Errorf("isLaughter(%q) = true", w)
		}
	}
}

func TestSentenceStart(t *testing.T) {
	t.Parallel()
	toks := func(words ...string) []prose.Token {
		out := make([]prose.Token, len(words))
		for i, w := range words {
			out[i] = prose.Token{Text: w}
		}
		return out
	}
	tests := []struct {
		name   string
		tokens []prose.Token
		i      int
		want   bool
	}{
		{"first", toks("Great", "day"), 0, true},
		{"after a quote", toks(`"`, "Great", "day"), 1, true},
		{"after a full stop", toks("Yes", ".", "Great"), 2, true},
		{"after a colon", toks("Day", ":", "Great"), 2, true},
		{"after a dash", toks("Festival", "-", "Good", "Times"), 2, true},
		{"after a word", toks("a", "Great", "day"), 1, false},
		{"after a comma", toks("Dear", "Bob", ",", "Thank"), 3, false},
	}
	for _, tt := range tests {
		if got := sentenceStart(tt.tokens, tt.i); got != tt.want {
			t.Errorf("%s: sentenceStart(%v, %d) = %v, want %v", tt.name, tt.tokens, tt.i, got, tt.want)
		}
	}
}
