package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"

	"github.com/starling-analytics/starling/etl/sentiment"
	"github.com/starling-analytics/starling/internal/cli"
)

// The sentiment models from the command line: `starling score` labels texts with one,
// `starling eval-sentiment` (or `score --eval`) measures them against labelled tweets side
// by side, and `starling train-sentiment` (train.go) trains the learned one.

func runScore(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return scoreCommand(ctx, os.Stdin, args, stdout, stderr)
}

// scoreCommand is `starling score` reading stdin.
func scoreCommand(ctx context.Context, stdin io.Reader, args []string, stdout, stderr io.Writer) error {
	fs := cli.NewFlagSet("starling score", "Reads one text per line on stdin and writes one line per text to stdout: label<TAB>compound, the label positive, neutral or negative and the compound score in [-1, 1] with 4 decimals. Lines may be of any length and end in LF or CRLF; an empty line is scored as an empty text.", stderr)
	eval := fs.Bool("eval", false, "instead of scoring stdin, print the figures on labelled sets, as eval-sentiment does")
	model := fs.String("model", sentiment.Models()[0], fmt.Sprintf("sentiment model: %s (learned from labelled tweets; the compound is P(positive) - P(negative)) or %s (lexicon and rules)", sentiment.ModelLinear, sentiment.ModelVADER))
	sets := cli.AddEvalFlags(fs)
	if err := cli.Parse(fs, args); err != nil {
		return err
	}
	if *eval {
		return evalSentiment(sets, []string{*model}, stdout)
	}
	a, err := sentiment.ByName(*model)
	if err != nil {
		return err
	}
	return scoreLines(ctx, a, stdin, stdout)
}

// scoreLines writes label<TAB>compound for each line of r.
func scoreLines(ctx context.Context, a sentiment.Scorer, r io.Reader, w io.Writer) error {
	br := bufio.NewReaderSize(r, 64<<10)
	bw := bufio.NewWriterSize(w, 64<<10)
	var long []byte // a line longer than br's buffer, put together
	var out []byte
	for {
		chunk, err := br.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			long = append(long, chunk...)
			continue
		}
		if err != nil && !errors.Is(err, io.EOF) {
			return fmt.Errorf("read stdin: %w", err)
		}
		line := chunk
		if len(long) > 0 {
			line = append(long, chunk...)
		}
		if len(line) == 0 && err != nil {
			break // the input ended with its last line end
		}
		line = trimLineEnd(line)
		compound, label := a.Score(string(line))
		out = appendScore(out[:0], label, compound)
		if _, werr := bw.Write(out); werr != nil {
			return werr
		}
		long = long[:0]
		if err != nil {
			break
		}
		if ctxErr := ctx.Err(); ctxErr != nil {
			bw.Flush()
			return ctxErr
		}
	}
	return bw.Flush()
}

// trimLineEnd removes a trailing "\n" or "\r\n".
func trimLineEnd(line []byte) []byte {
	if n := len(line); n > 0 && line[n-1] == '\n' {
		line = line[:n-1]
		if n := len(line); n > 0 && line[n-1] == '\r' {
			line = line[:n-1]
		}
	}
	return line
}

// appendScore appends "label\tcompound\n", the compound with 4 decimals and never as
// "-0.0000".
func appendScore(b []byte, label sentiment.Label, compound float64) []byte {
	b = append(b, label.String()...)
	b = append(b, '\t')
	n := len(b)
	b = strconv.AppendFloat(b, compound, 'f', 4, 64)
	if string(b[n:]) == "-0.0000" {
		b = append(b[:n], "0.0000"...)
	}
	return append(b, '\n')
}

func runEvalSentiment(_ context.Context, args []string, stdout, stderr io.Writer) error {
	fs := cli.NewFlagSet("starling eval-sentiment", "Scores labelled tweet sets with every sentiment model, side by side, and prints accuracy, macro-F1, macro-recall (TweetEval's measure), per-class precision and recall, and each model's confusion matrix. By default the two development sets of the repository; the flags point at other files in the same formats (an empty path leaves a set out).", stderr)
	sets := cli.AddEvalFlags(fs)
	var models cli.List = sentiment.Models()
	fs.Var(&models, "models", "comma-separated models to compare")
	if err := cli.Parse(fs, args); err != nil {
		return err
	}
	return evalSentiment(sets, models, stdout)
}

// evalSentiment prints the figures of each model on each set.
func evalSentiment(sets cli.EvalSets, models []string, w io.Writer) error {
	all, err := sets.Read()
	if err != nil {
		return err
	}
	scorers := make([]sentiment.Scorer, len(models))
	for i, name := range models {
		if scorers[i], err = sentiment.ByName(name); err != nil {
			return err
		}
	}
	metrics := make([][]sentiment.Metrics, len(all)) // [set][model]
	for j, s := range all {
		for i, a := range scorers {
			metrics[j] = append(metrics[j], sentiment.Evaluate(a, s.Set))
			printMetrics(w, s.Name, models[i], metrics[j][i], i == 0 && j == 0)
		}
	}
	fmt.Fprintln(w, "\nconfusion matrices (rows: the gold label, columns: the model's; negative, neutral, positive)")
	for j, s := range all {
		for i := range scorers {
			fmt.Fprintf(w, "%-28s %-10s %v\n", s.Name, models[i], metrics[j][i].Confusion)
		}
	}
	return nil
}

// printMetrics prints one row of figures, after the header when head.
func printMetrics(w io.Writer, set, model string, m sentiment.Metrics, head bool) {
	const row = "%-28s %-10s %7s %9s %9s %12s   %-15s   %-15s   %s\n"
	if head {
		fmt.Fprintf(w, row, "set", "model", "tweets", "accuracy", "macro-F1", "macro-recall", "negative P / R", "neutral P / R", "positive P / R")
	}
	var pr [3]string
	for c := range pr {
		pr[c] = fmt.Sprintf("%.3f / %.3f", m.Precision[c], m.Recall[c])
	}
	fmt.Fprintf(w, row, set, model, strconv.Itoa(m.N), fmt.Sprintf("%.4f", m.Accuracy), fmt.Sprintf("%.4f", m.MacroF1), fmt.Sprintf("%.4f", m.MacroRecall()), pr[0], pr[1], pr[2])
}
