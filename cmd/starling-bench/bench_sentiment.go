package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/starling-analytics/starling/etl/sentiment"
	"github.com/starling-analytics/starling/internal/cli"
)

// `starling bench sentiment`: the Go sentiment engine beside vader-sentiment, the npm
// port of the VADER reference implementation, on the same texts and one core each.

// devSentimentBench is the node runner's directory, relative to the repository root.
const devSentimentBench = "etl/sentiment/bench"

// sentimentBenchResult is one engine's run.
type sentimentBenchResult struct {
	Engine       string  `json:"engine"`
	Tweets       int     `json:"tweets"`
	Seconds      float64 `json:"seconds"`
	TweetsPerSec float64 `json:"tweets_per_s_per_core"`
	// FirstPassPerSec is the first pass over the texts alone: every word new to the
	// scorer's memo of words (Go engines only).
	FirstPassPerSec float64 `json:"first_pass_tweets_per_s_per_core,omitempty"`
	AllocsPerTweet  float64 `json:"allocs_per_tweet,omitempty"`
	Positive        int     `json:"positive"` // labels of one pass over the texts
	Neutral         int     `json:"neutral"`
	Negative        int     `json:"negative"`
}

func runBenchSentiment(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := cli.NewFlagSet("starling-bench sentiment", "Scores the texts of the development sets, repeated for --duration, with each Go sentiment model on one core and, in the same run, with the npm port of VADER (vader-sentiment) under node, and prints tweets/s per core of each and the ratios. The npm dependencies are installed with npm ci into --bench-dir when missing.", stderr)
	duration := fs.Duration("duration", 3*time.Second, "how long each engine scores")
	sets := cli.AddEvalFlags(fs)
	benchDir := fs.String("bench-dir", devSentimentBench, "the directory of the node runner (vader.js, package.json, package-lock.json)")
	node := fs.String("node", "node", "the node executable")
	npm := fs.String("npm", "npm", "the npm executable, for npm ci when the dependencies are missing")
	jsonOut := fs.String("json", "", "also write the results as JSON to this file")
	var models cli.List = sentiment.Models()
	fs.Var(&models, "models", "comma-separated sentiment models to measure")
	if err := cli.Parse(fs, args); err != nil {
		return err
	}
	texts, err := benchTexts(sets)
	if err != nil {
		return err
	}
	fmt.Fprintf(stderr, "%d texts, %s per engine\n", len(texts), *duration)

	var results []sentimentBenchResult
	for _, name := range models {
		a, err := sentiment.ByName(name)
		if err != nil {
			return err
		}
		results = append(results, benchGoSentiment(ctx, "go "+name, a, texts, *duration))
	}
	goEngines := len(results)
	npmResult, npmErr := benchNpmSentiment(ctx, texts, *duration, cli.FindRepoFile(*benchDir), *node, *npm, stderr)
	if npmErr == nil {
		results = append(results, npmResult)
	}

	fmt.Fprintf(stdout, "%-24s %10s %9s %18s %12s %12s   %s\n", "engine", "tweets", "seconds", "tweets/s per core", "first pass", "allocs/tweet", "labels of one pass (+ / 0 / -)")
	for _, r := range results {
		allocs, firstPass := "-", "-"
		if strings.HasPrefix(r.Engine, "go ") {
			allocs = strconv.FormatFloat(r.AllocsPerTweet, 'f', 3, 64)
			firstPass = strconv.FormatFloat(r.FirstPassPerSec, 'f', 0, 64)
		}
		fmt.Fprintf(stdout, "%-24s %10d %9.2f %18.0f %12s %12s   %d / %d / %d\n", r.Engine, r.Tweets, r.Seconds, r.TweetsPerSec, firstPass, allocs,
			r.Positive, r.Neutral, r.Negative)
	}
	fmt.Fprintln(stdout, "first pass: tweets/s of the first pass over the texts alone, each word new to the Go scorer's memo of words; the passes after it find them there.")
	if npmErr == nil {
		for _, r := range results[:goEngines] {
			fmt.Fprintf(stdout, "ratio: %s scores %.1f times as many tweets per second per core as %s\n", r.Engine, r.TweetsPerSec/npmResult.TweetsPerSec, npmResult.Engine)
		}
	}
	if *jsonOut != "" {
		data, _ := json.MarshalIndent(results, "", "  ")
		if err := os.WriteFile(*jsonOut, data, 0o644); err != nil {
			return err
		}
	}
	return npmErr
}

// benchTexts returns the texts of the labelled sets, without their labels.
func benchTexts(sets cli.EvalSets) ([]string, error) {
	all, err := sets.Read()
	if err != nil {
		return nil, err
	}
	var texts []string
	for _, s := range all {
		for _, x := range s.Set {
			texts = append(texts, x.Text)
		}
	}
	return texts, nil
}

// benchGoSentiment scores texts in passes for d on one core: GOMAXPROCS is 1 while it
// runs, so that the garbage collector's work counts too. The first pass, timed on its
// own, meets every word for the first time; the passes after it find the words in the
// scorer's memo, as a stream's common words are.
func benchGoSentiment(ctx context.Context, engine string, a sentiment.Scorer, texts []string, d time.Duration) sentimentBenchResult {
	r := sentimentBenchResult{Engine: engine}
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	first := time.Now()
	for _, t := range texts { // the first pass, which counts the labels
		switch _, l := a.Score(t); l {
		case sentiment.Positive:
			r.Positive++
		case sentiment.Negative:
			r.Negative++
		default:
			r.Neutral++
		}
	}
	r.FirstPassPerSec = float64(len(texts)) / time.Since(first).Seconds()
	var ms0, ms1 runtime.MemStats
	runtime.ReadMemStats(&ms0)
	start := time.Now()
	for time.Since(start) < d && ctx.Err() == nil {
		for _, t := range texts {
			a.Score(t)
		}
		r.Tweets += len(texts)
	}
	elapsed := time.Since(start)
	runtime.ReadMemStats(&ms1)
	r.Seconds = elapsed.Seconds()
	r.TweetsPerSec = float64(r.Tweets) / r.Seconds
	r.AllocsPerTweet = float64(ms1.Mallocs-ms0.Mallocs) / float64(r.Tweets)
	return r
}

// benchNpmSentiment runs the node runner over texts, installing its dependencies first
// when they are missing.
func benchNpmSentiment(ctx context.Context, texts []string, d time.Duration, dir, node, npm string, stderr io.Writer) (sentimentBenchResult, error) {
	r := sentimentBenchResult{Engine: "npm vader-sentiment"}
	nodePath, err := exec.LookPath(node)
	if err != nil {
		return r, fmt.Errorf("node is not installed (%v): the comparison with the npm port of VADER needs Node.js and npm; the Go figures are above", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "vader.js")); err != nil {
		return r, fmt.Errorf("the node runner: %w (point --bench-dir at %s of the repository)", err, devSentimentBench)
	}
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "vader-sentiment", "package.json")); err != nil {
		npmPath, err := exec.LookPath(npm)
		if err != nil {
			return r, fmt.Errorf("npm is not installed (%v): it is needed once, to install vader-sentiment into %s", err, dir)
		}
		fmt.Fprintf(stderr, "installing the npm dependencies: npm ci --prefix %s\n", dir)
		cmd := exec.CommandContext(ctx, npmPath, "ci", "--prefix", dir, "--no-audit", "--no-fund")
		cmd.Stdout, cmd.Stderr = stderr, stderr
		if err := cmd.Run(); err != nil {
			return r, fmt.Errorf("npm ci --prefix %s: %w", dir, err)
		}
	}
	f, err := os.CreateTemp("", "starling-bench-sentiment-*.txt")
	if err != nil {
		return r, err
	}
	defer os.Remove(f.Name())
	// One text per line: the sets' texts hold no line ends.
	if _, err := f.WriteString(strings.Join(texts, "\n") + "\n"); err != nil {
		f.Close()
		return r, err
	}
	if err := f.Close(); err != nil {
		return r, err
	}
	var out bytes.Buffer
	cmd := exec.CommandContext(ctx, nodePath, filepath.Join(dir, "vader.js"), f.Name(), strconv.FormatFloat(d.Seconds(), 'f', -1, 64))
	cmd.Stdout, cmd.Stderr = &out, stderr
	if err := cmd.Run(); err != nil {
		return r, fmt.Errorf("node vader.js: %w", err)
	}
	if err := json.Unmarshal(out.Bytes(), &r); err != nil {
		return r, fmt.Errorf("node vader.js printed %q: %w", out.String(), err)
	}
	r.Engine = "npm vader-sentiment"
	if r.Seconds <= 0 || r.Tweets <= 0 {
		return r, fmt.Errorf("node vader.js printed %q", out.String())
	}
	r.TweetsPerSec = float64(r.Tweets) / r.Seconds
	return r, nil
}
