package sentiment

import (
	"bufio"
	"os"
	"reflect"
	"strconv"
	"strings"
	"testing"
)

func TestScoreOrdering(t *testing.T) {
	t.Parallel()
	a := New()
	score := func(s string) float64 { c, _ := a.Score(s); return c }
	cases := []struct {
		higher, lower string
	}{
		{"this is good", "this is ok"},
		{"this is good", "this is not good"},
		{"this is very good", "this is good"},
		{"this is GOOD", "this is good"},
		{"this is good!!!", "this is good"},
		{"the food was bad but the service was great", "the food was great but the service was bad"},
		{"I love it :)", "I hate it :("},
	}
	for _, c := range cases {
		if h, l := score(c.higher), score(c.lower); h <= l {
			t.Errorf("score(%q) = %.3f, want above score(%q) = %.3f", c.higher, h, c.lower, l)
		}
	}
	labels := map[string]Label{
		"I love this so much":       Positive,
		"This is terrible and sad":  Negative,
		"The train leaves at 9 am.": Neutral,
		"not bad at all":            Positive,
	}
	for text, want := range labels {
		if _, got := a.Score(text); got != want {
			c, _ := a.Score(text)
			t.Errorf("label(%q) = %v (%.3f), want %v", text, got, c, want)
		}
	}
}

func TestWords(t *testing.T) {
	t.Parallel()
	got := Words("RT @bob: The NEW phone is great, great! #tech https://t.co/x 2024 a")
	want := []string{"new", "phone", "great"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Words = %q, want %q", got, want)
	}
}

// TestAccuracyOnVaderTweets reports accuracy on the labelled development tweets.
func TestAccuracyOnVaderTweets(t *testing.T) {
	t.Parallel()
	f, err := os.Open("testdata/vader-4200-tweets.tsv")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	a := New()
	var n, correct int
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		parts := strings.SplitN(strings.TrimRight(sc.Text(), "\r"), "\t", 3)
		if len(parts) < 3 {
			continue
		}
		mean, err := strconv.ParseFloat(parts[1], 64)
		if err != nil {
			continue
		}
		gold := LabelOf(mean / 4)
		if _, got := a.Score(parts[2]); got == gold {
			correct++
		}
		n++
	}
	acc := float64(correct) / float64(n)
	t.Logf("accuracy on %d tweets: %.3f", n, acc)
	if n < 4000 || acc < 0.75 {
		t.Errorf("accuracy %.3f on %d tweets is below the sanity floor", acc, n)
	}
}

func BenchmarkScore(b *testing.B) {
	a := New()
	text := "Just watched the new episode and it was ABSOLUTELY amazing!!! Can't wait for next week :) #tv"
	b.ReportAllocs()
	b.SetBytes(int64(len(text)))
	for b.Loop() {
		a.Score(text)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "tweets/s")
}
