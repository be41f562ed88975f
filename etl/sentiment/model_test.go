package sentiment

import (
	"bytes"
	"compress/gzip"
	"strings"
	"testing"
)

// TestEmbeddedModel loads the learned model the binary embeds and checks it on fixture
// tweets whose labels are not in doubt, and on TweetEval's validation set, where it must
// reach macro-F1 0.65 and beat the lexicon engine (which it takes as an input) by a clear
// margin. The set was used to choose the training settings, never to train.
func TestEmbeddedModel(t *testing.T) {
	t.Parallel()
	m, err := Linear()
	if err != nil {
		t.Fatal(err)
	}
	for text, want := range map[string]Label{
		"I love this so much, best day ever! 😍":                   Positive,
		"Congrats to the whole team, what a fantastic win #proud": Positive,
		"This is the worst service, I hate waiting :(":            Negative,
		"my flight got cancelled again. absolutely furious":       Negative,
		"The meeting is at 3pm in room 204.":                      Neutral,
		"Apple will announce the new iPhone on Tuesday":           Neutral,
	} {
		compound, got := m.Score(text)
		if got != want || compound < -1 || compound > 1 {
			t.Errorf("%q: %s (%.3f), want %s", text, got, compound, want)
		}
	}
	set := loadTweetEval(t)
	own, lexicon := Evaluate(m, set), Evaluate(New(), set)
	t.Logf("tweeteval-val: macro-F1 %.4f, macro-recall %.4f (lexicon engine %.4f, %.4f)", own.MacroF1, own.MacroRecall(), lexicon.MacroF1, lexicon.MacroRecall())
	if own.MacroF1 < 0.65 || own.MacroF1 < lexicon.MacroF1+0.05 {
		t.Errorf("macro-F1 %.4f on tweeteval-val: want at least 0.65 and 0.05 above the lexicon engine's %.4f", own.MacroF1, lexicon.MacroF1)
	}
}

// TestTrainingIsReproducible trains twice on a slice of labelled tweets with one seed, and
// once with another: the same seed writes the same file, byte for byte, another seed
// another, and a file read back scores as the model it was written from (to 16 bits).
func TestTrainingIsReproducible(t *testing.T) {
	t.Parallel()
	set := loadTweetEval(t)[:600]
	cfg := TrainConfig{Buckets: 1 << 12, Epochs: 2, Seed: 7}
	write := func(m *Model) []byte {
		var b bytes.Buffer
		if _, err := m.WriteTo(&b); err != nil {
			t.Fatal(err)
		}
		return b.Bytes()
	}
	first := Train(set, cfg)
	a, b := write(first), write(Train(set, cfg))
	if !bytes.Equal(a, b) {
		t.Error("two trainings with one seed wrote different files")
	}
	cfg.Seed = 8
	if bytes.Equal(a, write(Train(set, cfg))) {
		t.Error("trainings with seeds 7 and 8 wrote the same file")
	}
	back, err := ReadModel(bytes.NewReader(a))
	if err != nil {
		t.Fatal(err)
	}
	for _, x := range set[:50] {
		p, q := first.Probabilities(x.Text), back.Probabilities(x.Text)
		for c := range 3 {
			if d := p[c] - q[c]; d > 1e-3 || d < -1e-3 {
				t.Fatalf("%q: the file read back gives %v, the model %v", x.Text, q, p)
			}
		}
	}
}

func TestReadModelRefusesOtherFiles(t *testing.T) {
	t.Parallel()
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write([]byte("not a model, but long enough to hold a header of one"))
	zw.Close()
	for name, data := range map[string][]byte{"empty": nil, "not gzip": []byte("STSM"), "other gzip": gz.Bytes()} {
		if _, err := ReadModel(bytes.NewReader(data)); err == nil {
			t.Errorf("%s: ReadModel succeeded", name)
		}
	}
	// A model file cut short.
	var b bytes.Buffer
	Train(loadTweetEval(t)[:50], TrainConfig{Buckets: 1 << 10, Epochs: 1}).WriteTo(&b)
	if _, err := ReadModel(bytes.NewReader(b.Bytes()[:b.Len()/2])); err == nil {
		t.Error("a model file cut in half was read")
	}
}

func TestReadTrainingSet(t *testing.T) {
	t.Parallel()
	gz := func(s string) *bytes.Reader {
		var b bytes.Buffer
		zw := gzip.NewWriter(&b)
		zw.Write([]byte(s))
		zw.Close()
		return bytes.NewReader(b.Bytes())
	}
	set, err := ReadTrainingSet(gz("label\ttext\npositive\tgreat\nneutral\tat noon\nnegative\tawful\ttoo\n"))
	if err != nil || len(set) != 3 || set[0].Gold != Positive || set[2].Text != "awful\ttoo" {
		t.Errorf("ReadTrainingSet = %+v, %v", set, err)
	}
	for _, bad := range []string{"text\tlabel\n", "label\ttext\nhappy\tgreat\n", "label\ttext\npositive great\n"} {
		if _, err := ReadTrainingSet(gz(bad)); err == nil || !strings.Contains(err.Error(), "training set") {
			t.Errorf("%q: err = %v", bad, err)
		}
	}
}
