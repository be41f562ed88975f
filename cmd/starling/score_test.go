package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
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
	if err := scoreCommand(context.Background(), strings.NewReader(input), nil, &stdout, &stderr); err != nil {
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
	for _, want := range []string{"accuracy", "macro-F1", "vader-4200-tweets.tsv", "4200", "tweeteval-val-text.txt", "2000"} {
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

// TestBenchSentimentWithoutNode runs the benchmark's Go side briefly and checks that a
// missing node is reported as such, after the Go figures.
func TestBenchSentimentWithoutNode(t *testing.T) {
	t.Parallel()
	var stdout, stderr bytes.Buffer
	err := runBenchSentiment(context.Background(), []string{"--duration", "20ms", "--node", "no-such-node-binary"}, &stdout, &stderr)
	if err == nil || !strings.Contains(err.Error(), "node is not installed") {
		t.Errorf("err = %v, want one saying node is not installed", err)
	}
	if !strings.Contains(stdout.String(), "tweets/s per core") || !strings.Contains(stdout.String(), "\ngo ") {
		t.Errorf("no Go figures before the error:\n%s", stdout.String())
	}
}
