package sentiment

import (
	"math"
	"reflect"
	"slices"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

func TestWords(t *testing.T) {
	t.Parallel()
	cases := []struct {
		text string
		want []string
	}{
		{"RT @bob: The NEW phone is great, great! #tech https://t.co/x 2024 a", []string{"new", "phone", "great"}},
		{"Obama's speech… love/hate it’s over www.example.com $AAPL", []string{"obama", "speech", "love", "hate"}},
		{"e-mail me: don't stop-- 3pm 10-0 x", []string{"e-mail", "stop", "3pm"}},
		{"Sooo gooood :) xD <3 😂 #blessed", []string{"good"}},
		{"Café crème très bien, el niño y la niña", []string{"café", "crème", "bien", "niño", "niña"}},
		{"Straße GROSS über Nacht", []string{"straße", "gross", "nacht"}},
		{"o jogo foi muito bom, não é?", []string{"jogo", "bom"}},
		{"la partita è stata bellissima per noi", []string{"partita", "stata", "bellissima"}},
		{"c'est la vie, je ne sais pas", []string{"vie", "sais"}},
		{"今日は東京タワーに行きました。すごい！", []string{"今日", "東京", "タワー"}},
		{"Don\\u2019t stop believing", []string{"stop", "believing"}},
		{"", nil},
		{"@a #b http://c 12:30 :-) &amp;", nil},
	}
	for _, c := range cases {
		if got := Words(c.text); !reflect.DeepEqual(got, c.want) {
			t.Errorf("Words(%q) = %q, want %q", c.text, got, c.want)
		}
	}
	dst := AppendWords([]string{"keep"}, "keep walking")
	if !reflect.DeepEqual(dst, []string{"keep", "keep", "walking"}) {
		t.Errorf("AppendWords de-duplicates only what it appends: %q", dst)
	}
}

func FuzzWords(f *testing.F) {
	for _, s := range []string{"RT @bob: The NEW phone", "don't-stop", "Obama's", "’s", "a\xffb c-'-d", "#x $y", "sooo", "今日は", "Don\\u2019t"} {
		f.Add(s)
	}
	m, err := Linear()
	if err != nil {
		f.Fatal(err)
	}
	warm := &Model{buckets: m.buckets, weights: m.weights, bias: m.bias, lexicon: New()}
	f.Fuzz(func(t *testing.T, text string) {
		words := Words(text)
		// The scorers' words and scores come through their memo of words: the same as
		// without it (one that has seen nothing), and the words as Words lists them.
		for range 2 {
			cold := &Model{buckets: m.buckets, weights: m.weights, bias: m.bias, lexicon: New()}
			c1, _, w1 := warm.Analyze(text, nil)
			c2, _, w2 := cold.Analyze(text, nil)
			if math.Float64bits(c1) != math.Float64bits(c2) || !slices.Equal(w1, w2) || !slices.Equal(w1, words) {
				t.Fatalf("%q: %v %q with the memo, %v %q without, Words %q", text, c1, w1, c2, w2, words)
			}
		}
		seen := map[string]bool{}
		for _, w := range words {
			if seen[w] || stopWords[w] || utf8.RuneCountInString(w) < 2 || strings.ToLower(w) != w ||
				strings.IndexFunc(w, unicode.IsLetter) < 0 || strings.ContainsAny(w, "#@ \t\n") {
				t.Fatalf("Words(%q) = %q: %q should not be there", text, words, w)
			}
			seen[w] = true
		}
	})
}

func BenchmarkWords(b *testing.B) {
	set := loadVader(b)
	b.SetBytes(int64(meanLen(set)))
	b.ReportAllocs()
	var dst []string
	i := 0
	for b.Loop() {
		dst = AppendWords(dst[:0], set[i%len(set)].Text)
		i++
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "tweets/s")
}

// TestAnalyzeIsScoreAndWords checks the one-pass Analyze against Score and Words on the
// development sets' texts.
func TestAnalyzeIsScoreAndWords(t *testing.T) {
	t.Parallel()
	a := New()
	texts := []string{"", "I LOVE this!!! :) #GreatDay @bob https://x.co", "no no no", "東京で食べた寿司はおいしかった"}
	for _, ex := range loadVader(t) {
		texts = append(texts, ex.Text)
	}
	for _, text := range texts {
		c, l, words := a.Analyze(text, nil)
		c2, l2 := a.Score(text)
		if c != c2 || l != l2 || !slices.Equal(words, Words(text)) {
			t.Fatalf("Analyze(%q) = %v %v %q; Score and Words give %v %v %q", text, c, l, words, c2, l2, Words(text))
		}
	}
}
