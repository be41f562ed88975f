package entities

import (
	"os"
	"strings"
	"testing"
)

// labelledTweet is a tweet of testdata/labelled-entities.tsv and the entities a reader
// finds in it.
type labelledTweet struct {
	text string
	gold []Entity
}

// readLabelled reads testdata/labelled-entities.tsv.
func readLabelled(tb testing.TB) []labelledTweet {
	tb.Helper()
	data, err := os.ReadFile("testdata/labelled-entities.tsv")
	if err != nil {
		tb.Fatal(err)
	}
	var out []labelledTweet
	for i, line := range strings.Split(string(data), "\n") {
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		text, labels, ok := strings.Cut(line, "\t")
		if !ok {
			tb.Fatalf("line %d: no tab", i+1)
		}
		t := labelledTweet{text: text}
		for _, l := range strings.Split(labels, "|") {
			if l == "" {
				continue
			}
			kind, name, ok := strings.Cut(l, ":")
			if k := Kind(kind); !ok || k != Person && k != Place && k != Organisation {
				tb.Fatalf("line %d: bad label %q", i+1, l)
			}
			t.gold = append(t.gold, Entity{Text: name, Kind: Kind(kind)})
		}
		out = append(out, t)
	}
	return out
}

// TestPrecisionOnLabelledTweets measures Extract against hand-labelled tweets: precision
// (the share of what it reports that a reader finds too, name and kind), the same for the
// names alone, and recall. On tweets a wrong entity costs more than a missed one: the
// panel shows what is found most. prose's model on its own, with the clean-up of the
// previous release (topic hashtags read as names, cashtags as places), scored 0.54
// precision, 0.79 for the names alone and 0.52 recall here; now 0.74, 0.94 and 0.74. Most
// of what is left is the model's kind confusion (Microsoft a place, Messi a place). The
// floors are below today's figures by a tweet or two.
func TestPrecisionOnLabelledTweets(t *testing.T) {
	x := extractor(t)
	var found, right, gold, nameRight int
	for _, lt := range readLabelled(t) {
		got := x.Extract(lt.text, "en")
		found, gold = found+len(got), gold+len(lt.gold)
		for _, g := range got {
			ok, nameOK := false, false
			for _, w := range lt.gold {
				if strings.EqualFold(g.Text, w.Text) {
					nameOK = true
					ok = ok || g.Kind == w.Kind
				}
			}
			if ok {
				right++
			} else {
				t.Logf("wrong: %s %q in %q", g.Kind, g.Text, lt.text)
			}
			if nameOK {
				nameRight++
			}
		}
	}
	precision, recall := float64(right)/float64(max(found, 1)), float64(right)/float64(gold)
	t.Logf("%d found, %d right (%d right names whatever the kind), %d in the gold labels: precision %.2f, recall %.2f, names alone precision %.2f",
		found, right, nameRight, gold, precision, recall, float64(nameRight)/float64(max(found, 1)))
	if precision < 0.7 {
		t.Errorf("precision %.2f, below 0.7", precision)
	}
	if names := float64(nameRight) / float64(max(found, 1)); names < 0.9 {
		t.Errorf("precision of the names alone %.2f, below 0.9", names)
	}
	if recall < 0.65 {
		t.Errorf("recall %.2f, below 0.65", recall)
	}
}
