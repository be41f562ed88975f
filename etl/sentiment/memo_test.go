package sentiment

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"
)

// TestMemoChangesNothing scores the development sets' tweets with a scorer that has seen
// every one of them before (its memo full of their words, and emptied once on the way by
// thousands of other words) and with a scorer that has seen nothing: the scores are the
// same to the bit and the words the same. The learned model's scores also equal those of
// its features listed one by one (as the training sees them), to rounding.
func TestMemoChangesNothing(t *testing.T) {
	t.Parallel()
	var texts []string
	for _, x := range append(loadVader(t), loadTweetEval(t)...) {
		texts = append(texts, x.Text)
	}
	long := strings.Repeat("verylongword", 5) // longer than a memo keeps
	texts = append(texts, long+" is good, "+long+" is not "+strings.ToUpper(long))

	m, err := Linear()
	if err != nil {
		t.Fatal(err)
	}
	type scorer struct {
		name string
		warm Scorer
		cold func() Scorer // one that has seen nothing
	}
	for _, sc := range []scorer{
		{ModelVADER, New(), func() Scorer { return New() }},
		{ModelLinear, &Model{buckets: m.buckets, weights: m.weights, bias: m.bias, lexicon: New()}, func() Scorer {
			return &Model{buckets: m.buckets, weights: m.weights, bias: m.bias, lexicon: New()}
		}},
	} {
		t.Run(sc.name, func(t *testing.T) {
			for _, text := range texts {
				sc.warm.Analyze(text, nil)
			}
			for i := range maxMemo + 100 { // the memo is emptied once on the way
				sc.warm.Analyze(fmt.Sprintf("word%dx and more", i), nil)
			}
			for _, text := range texts {
				sc.warm.Analyze(text, nil)
			}
			for _, text := range texts {
				c1, l1, w1 := sc.warm.Analyze(text, nil)
				c2, l2, w2 := sc.cold().Analyze(text, nil)
				if math.Float64bits(c1) != math.Float64bits(c2) || l1 != l2 || !slices.Equal(w1, w2) {
					t.Fatalf("%q: %v %v %q with the memo warm, %v %v %q cold", text, c1, l1, w1, c2, l2, w2)
				}
				if want := Words(text); !slices.Equal(w1, want) {
					t.Fatalf("%q: words %q, Words says %q", text, w1, want)
				}
			}
		})
	}

	// The model's features listed one by one, as Train sees them.
	lister := &featurizer{lexicon: New(), buckets: m.buckets}
	for _, text := range texts {
		got := m.Probabilities(text)
		want := m.probabilities(lister.features(text), [3]float64{})
		for c := range 3 {
			if math.Abs(got[c]-want[c]) > 1e-9 {
				t.Fatalf("%q: probabilities %v, from the listed features %v", text, got, want)
			}
		}
	}
}
