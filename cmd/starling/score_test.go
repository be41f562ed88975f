package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/starling-analytics/starling/etl/sentiment"
	"github.com/starling-analytics/starling/internal/cli"
)

func TestScoreCommand(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("good ", 300_000) // 1.5 MB on one line
	input := strings.Join([]string{
		"I love it",
		"",
		"not good\r",
		"The train leaves at 9 am.",
		"\xff\xfe bad \xc3",
		long,
		"   ",
		"I hate it :(",
	}, "\n") // no line end after the last text
	var stdout, stderr bytes.Buffer
	if err := scoreCommand(context.Background(), strings.NewReader(input), []string{"--model", "vader"}, &stdout, &stderr); err != nil {
		t.Fatal(err)
	}
	want := []string{
		"positive\t0.6369",
		"neutral\t0.0000",
		"negative\t-0.3412",
		"neutral\t0.0000",
		"negative\t-0.5423",
		"positive\t1.0000",
		"neutral\t0.0000",
		"negative\t-0.7650",
	}
	got := strings.Split(strings.TrimSuffix(stdout.String(), "\n"), "\n")
	if len(got) != len(want) {
		t.Fatalf("%d output lines for %d texts: %q", len(got), len(want), got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("line %d: got %q, want %q", i+1, got[i], want[i])
		}
	}
	if !strings.HasSuffix(stdout.String(), "\n") || stderr.Len() > 0 {
		t.Errorf("stdout should end in a line end, stderr be empty: %q", stderr.String())
	}

	// An input that ends with its line end has no extra empty text after it, and an
	// empty input no output.
	for in, lines := range map[string]int{"a\nb\n": 2, "a\r\n": 1, "\n": 1, "": 0, "\n\n\n": 3} {
		stdout.Reset()
		if err := scoreCommand(context.Background(), strings.NewReader(in), nil, &stdout, &stderr); err != nil {
			t.Fatal(err)
		}
		if n := strings.Count(stdout.String(), "\n"); n != lines {
			t.Errorf("input %q: %d output lines, want %d", in, n, lines)
		}
	}
}

// TestScoreCommandModels scores with the learned model, the default, and refuses a model
// that does not exist.
func TestScoreCommandModels(t *testing.T) {
	t.Parallel()
	var stdout, stderr bytes.Buffer
	if err := scoreCommand(context.Background(), strings.NewReader("I love this, best day ever!\nmy flight got cancelled again, furious\nThe meeting is at 3pm.\n"), nil, &stdout, &stderr); err != nil {
		t.Fatal(err)
	}
	var labels []string
	for _, line := range strings.Split(strings.TrimSpace(stdout.String()), "\n") {
		label, _, _ := strings.Cut(line, "\t")
		labels = append(labels, label)
	}
	if strings.Join(labels, " ") != "positive negative neutral" {
		t.Errorf("the default model labelled %q", stdout.String())
	}
	if err := scoreCommand(context.Background(), strings.NewReader("x\n"), []string{"--model", "no-such-model"}, &stdout, &stderr); err == nil || !strings.Contains(err.Error(), "linear-v1") {
		t.Errorf("an unknown model: err = %v, want one listing the models", err)
	}
}

// TestTrainSentimentCommand trains on a small labelled file twice: the same seed writes
// the same weights file, which loads, and the figures are printed.
func TestTrainSentimentCommand(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	texts, err := os.ReadFile(cli.FindRepoFile(cli.DevTweetEvalTexts))
	if err != nil {
		t.Fatal(err)
	}
	labels, err := os.ReadFile(cli.FindRepoFile(cli.DevTweetEvalLabels))
	if err != nil {
		t.Fatal(err)
	}
	var tsv strings.Builder
	tsv.WriteString("label\ttext\n")
	ls := strings.Split(string(labels), "\n")
	for i, text := range strings.Split(string(texts), "\n")[:400] {
		tsv.WriteString([]string{"negative", "neutral", "positive"}[ls[i][0]-'0'] + "\t" + text + "\n")
	}
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write([]byte(tsv.String()))
	zw.Close()
	data := filepath.Join(dir, "train.tsv.gz")
	if err := os.WriteFile(data, gz.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	var files [2][]byte
	for i := range files {
		out := filepath.Join(dir, fmt.Sprintf("model-%d.bin.gz", i))
		var stdout, stderr bytes.Buffer
		if err := runTrainSentiment(context.Background(), []string{"--data", data, "--out", out, "--cv", "2", "--epochs", "2", "--buckets", "4096"}, &stdout, &stderr); err != nil {
			t.Fatal(err)
		}
		for _, want := range []string{"training set: 400 tweets", "fold 2 of 2", "cross-validation: macro-F1", "tweeteval-val-text.txt       trained", "tweeteval-val-text.txt       vader"} {
			if !strings.Contains(stdout.String(), want) {
				t.Errorf("train-sentiment output lacks %q:\n%s", want, stdout.String())
			}
		}
		if files[i], err = os.ReadFile(out); err != nil {
			t.Fatal(err)
		}
	}
	if !bytes.Equal(files[0], files[1]) {
		t.Error("two trainings with one seed wrote different files")
	}
	if _, err := sentiment.ReadModel(bytes.NewReader(files[0])); err != nil {
		t.Error(err)
	}
	var stdout, stderr bytes.Buffer
	if err := runTrainSentiment(context.Background(), nil, &stdout, &stderr); err == nil {
		t.Error("train-sentiment without --data did not fail")
	}
}

func TestScoreCommandStopsWhenCancelled(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var stdout, stderr bytes.Buffer
	err := scoreCommand(ctx, strings.NewReader(strings.Repeat("good\n", 1000)), nil, &stdout, &stderr)
	if err == nil || strings.Count(stdout.String(), "\n") > 1 {
		t.Errorf("err %v after %d lines; want the context's error after at most one", err, strings.Count(stdout.String(), "\n"))
	}
}

func TestEvalSentiment(t *testing.T) {
	t.Parallel()
	var stdout, stderr bytes.Buffer
	if err := runEvalSentiment(context.Background(), nil, &stdout, &stderr); err != nil {
		t.Fatal(err)
	}
	out := stdout.String()
	for _, want := range []string{"accuracy", "macro-F1", "macro-recall", "vader-4200-tweets.tsv", "4200", "tweeteval-val-text.txt", "2000",
		"tweeteval-val-text.txt       linear-v1", "tweeteval-val-text.txt       vader", "confusion matrices"} {
		if !strings.Contains(out, want) {
			t.Errorf("eval-sentiment output lacks %q:\n%s", want, out)
		}
	}
	// score --eval is the same, and one set can be left out.
	stdout.Reset()
	if err := scoreCommand(context.Background(), strings.NewReader(""), []string{"--eval", "--vader", ""}, &stdout, &stderr); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(stdout.String(), "vader-4200") || !strings.Contains(stdout.String(), "tweeteval-val") {
		t.Errorf("score --eval --vader '' printed:\n%s", stdout.String())
	}
	if err := runEvalSentiment(context.Background(), []string{"--vader", "no-such-file.tsv"}, &stdout, &stderr); err == nil {
		t.Error("a missing file is not an error")
	}
}
