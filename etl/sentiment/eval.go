package sentiment

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// Measuring the scorer against human labels: the readers of the two labelled tweet
// formats the project develops on (testdata/README.md), and the figures the test and
// `starling eval-sentiment` report.

// Example is a text with its gold label.
type Example struct {
	Text string
	Gold Label
}

// ReadVaderTweets reads labelled tweets in the format of VADER's tweet set: per line an
// id, the mean human rating (-4..+4) and the text, separated by tabs, with LF or CRLF
// line ends. The gold label applies the compound thresholds to rating/4, as the set's
// authors do.
func ReadVaderTweets(r io.Reader) ([]Example, error) {
	var out []Example
	err := eachLine(r, false, func(n int, line string) error {
		_, rest, ok := strings.Cut(line, "\t")
		rating, text, ok2 := strings.Cut(rest, "\t")
		if !ok || !ok2 {
			return fmt.Errorf("line %d: want id, rating and text separated by tabs", n)
		}
		mean, err := strconv.ParseFloat(rating, 64)
		if err != nil {
			return fmt.Errorf("line %d: rating: %w", n, err)
		}
		out = append(out, Example{Text: text, Gold: LabelOf(mean / 4)})
		return nil
	})
	return out, err
}

// ReadTweetEval reads labelled tweets in TweetEval's format: texts one per line, and in
// a second file their labels one per line, 0 negative, 1 neutral, 2 positive.
func ReadTweetEval(texts, labels io.Reader) ([]Example, error) {
	var out []Example
	// An empty line is an empty text, so that texts and labels stay in step.
	if err := eachLine(texts, true, func(_ int, line string) error {
		out = append(out, Example{Text: line})
		return nil
	}); err != nil {
		return nil, fmt.Errorf("texts: %w", err)
	}
	k := 0
	if err := eachLine(labels, false, func(n int, line string) error {
		v, err := strconv.Atoi(strings.TrimSpace(line))
		if err != nil || v < 0 || v > 2 {
			return fmt.Errorf("line %d: label %q is not 0, 1 or 2", n, line)
		}
		if k >= len(out) {
			return fmt.Errorf("more labels than the %d texts", len(out))
		}
		out[k].Gold = Label(v - 1)
		k++
		return nil
	}); err != nil {
		return nil, fmt.Errorf("labels: %w", err)
	}
	if k != len(out) {
		return nil, fmt.Errorf("%d texts but %d labels", len(out), k)
	}
	return out, nil
}

// eachLine calls fn with each line of r (numbered from 1) without its line end, however
// long. Empty lines are skipped unless keepEmpty; the end of the last line is not a
// line of its own.
func eachLine(r io.Reader, keepEmpty bool, fn func(n int, line string) error) error {
	br := bufio.NewReader(r)
	for n := 1; ; n++ {
		line, err := br.ReadString('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			return err
		}
		if err != nil && line == "" {
			return nil
		}
		line = strings.TrimSuffix(strings.TrimSuffix(line, "\n"), "\r")
		if line != "" || keepEmpty {
			if ferr := fn(n, line); ferr != nil {
				return ferr
			}
		}
		if err != nil {
			return nil
		}
	}
}

// Metrics are the scorer's figures on a labelled set. Per-class arrays are indexed by
// label+1: negative, neutral, positive.
type Metrics struct {
	N         int
	Accuracy  float64
	MacroF1   float64 // the mean of the three classes' F1
	Precision [3]float64
	Recall    [3]float64
	F1        [3]float64
	Confusion [3][3]int // [gold+1][predicted+1]
}

// MacroRecall is the mean of the three classes' recall, TweetEval's measure of sentiment.
func (m Metrics) MacroRecall() float64 { return (m.Recall[0] + m.Recall[1] + m.Recall[2]) / 3 }

// Evaluate scores every example with a and compares the labels with the gold ones.
func Evaluate(a Scorer, set []Example) Metrics {
	m := Metrics{N: len(set)}
	correct := 0
	for _, x := range set {
		_, got := a.Score(x.Text)
		m.Confusion[x.Gold+1][got+1]++
		if got == x.Gold {
			correct++
		}
	}
	if m.N > 0 {
		m.Accuracy = float64(correct) / float64(m.N)
	}
	for c := range 3 {
		tp, predicted, gold := m.Confusion[c][c], 0, 0
		for k := range 3 {
			predicted += m.Confusion[k][c]
			gold += m.Confusion[c][k]
		}
		if predicted > 0 {
			m.Precision[c] = float64(tp) / float64(predicted)
		}
		if gold > 0 {
			m.Recall[c] = float64(tp) / float64(gold)
		}
		if p, r := m.Precision[c], m.Recall[c]; p+r > 0 {
			m.F1[c] = 2 * p * r / (p + r)
		}
		m.MacroF1 += m.F1[c] / 3
	}
	return m
}
