package sentiment

import (
	"strings"
	"testing"
)

func TestReadVaderTweets(t *testing.T) {
	t.Parallel()
	set, err := ReadVaderTweets(strings.NewReader("1\t2.5\tgreat day\r\n2\t-0.1\tmeh\twith a tab\r\n\r\n3\t-3\tawful"))
	if err != nil {
		t.Fatal(err)
	}
	want := []Example{{"great day", Positive}, {"meh\twith a tab", Neutral}, {"awful", Negative}}
	if len(set) != len(want) {
		t.Fatalf("got %d examples, want %d", len(set), len(want))
	}
	for i := range want {
		if set[i] != want[i] {
			t.Errorf("example %d = %+v, want %+v", i, set[i], want[i])
		}
	}
	for _, bad := range []string{"1\t2.5", "1\tlots\ttext"} {
		if _, err := ReadVaderTweets(strings.NewReader(bad)); err == nil {
			t.Errorf("ReadVaderTweets(%q) succeeded", bad)
		}
	}
}

func TestReadTweetEval(t *testing.T) {
	t.Parallel()
	set, err := ReadTweetEval(strings.NewReader("bad\n\ngood\n"), strings.NewReader("0\n1\n2\n"))
	if err != nil {
		t.Fatal(err)
	}
	if len(set) != 3 || set[0] != (Example{"bad", Negative}) || set[1] != (Example{"", Neutral}) || set[2].Gold != Positive {
		t.Errorf("ReadTweetEval = %+v", set)
	}
	for _, c := range []struct{ texts, labels string }{
		{"a\nb\n", "0\n"},
		{"a\n", "0\n1\n"},
		{"a\n", "3\n"},
	} {
		if _, err := ReadTweetEval(strings.NewReader(c.texts), strings.NewReader(c.labels)); err == nil {
			t.Errorf("ReadTweetEval(%q, %q) succeeded", c.texts, c.labels)
		}
	}
}

func TestEvaluate(t *testing.T) {
	t.Parallel()
	m := Evaluate(New(), []Example{
		{"I love it", Positive}, {"great!", Positive}, {"awful", Negative},
		{"the train leaves at nine", Neutral}, {"terrible", Positive},
	})
	if m.N != 5 || m.Accuracy != 0.8 {
		t.Errorf("N %d, accuracy %v; want 5, 0.8", m.N, m.Accuracy)
	}
	// positive: 2 of 2 predicted right, 2 of 3 found; negative: 1 of 2, 1 of 1.
	if m.Precision[2] != 1 || m.Recall[2] != 2.0/3 || m.Precision[0] != 0.5 || m.Recall[0] != 1 {
		t.Errorf("precision %v, recall %v", m.Precision, m.Recall)
	}
	want := (0.8 + 2.0/3 + 1) / 3
	if d := m.MacroF1 - want; d > 1e-9 || d < -1e-9 {
		t.Errorf("macro-F1 %v, want %v", m.MacroF1, want)
	}
}
