// The comparison with github.com/jdkato/prose/v2's tokenizer, which decided that the
// scorer keeps its own; AppendTokens says what it showed. Run it with
//
//	go test -run Prose -bench Tokenize ./etl/sentiment
package sentiment

import (
	"strings"
	"testing"

	"github.com/jdkato/prose/v2"
)

// proseTokens returns prose's tokens of text, tokenization only.
func proseTokens(tb testing.TB, text string) []string {
	doc, err := prose.NewDocument(text, prose.WithTagging(false), prose.WithExtraction(false), prose.WithSegmentation(false))
	if err != nil {
		tb.Fatal(err)
	}
	toks := doc.Tokens()
	out := make([]string, len(toks))
	for i, t := range toks {
		out[i] = t.Text
	}
	return out
}

// TestProseTokenizerAccuracy logs the figures on the development sets when the text is
// scored as written and when it is scored as prose's tokens joined by spaces, so that
// only prose's boundaries reach the rules.
func TestProseTokenizerAccuracy(t *testing.T) {
	a := New()
	for _, c := range []struct {
		name string
		set  []Example
	}{{"vader-4200-tweets", loadVader(t)}, {"tweeteval-val", loadTweetEval(t)}} {
		viaProse := make([]Example, len(c.set))
		for i, x := range c.set {
			viaProse[i] = Example{Text: strings.Join(proseTokens(t, x.Text), " "), Gold: x.Gold}
		}
		own, pr := Evaluate(a, c.set), Evaluate(a, viaProse)
		t.Logf("%s: own tokenizer accuracy %.4f macro-F1 %.4f; prose's tokens accuracy %.4f macro-F1 %.4f",
			c.name, own.Accuracy, own.MacroF1, pr.Accuracy, pr.MacroF1)
	}
	t.Logf("prose splits emoticons: %q, %q", proseTokens(t, "so good :-) <3"), proseTokens(t, "#LoveThis @user"))
}

func BenchmarkTokenizeProse(b *testing.B) {
	set := loadVader(b)
	b.SetBytes(int64(meanLen(set)))
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		doc, err := prose.NewDocument(set[i%len(set)].Text, prose.WithTagging(false), prose.WithExtraction(false), prose.WithSegmentation(false))
		if err != nil || len(doc.Tokens()) < 0 {
			b.Fatal(err)
		}
		i++
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "tweets/s")
}
