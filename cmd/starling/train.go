package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/starling-analytics/starling/etl/sentiment"
	"github.com/starling-analytics/starling/internal/cli"
)

// defaultModelFile is the learned model the binary embeds, relative to the repository root.
const defaultModelFile = "etl/sentiment/model/linear.bin.gz"

func runTrainSentiment(_ context.Context, args []string, stdout, stderr io.Writer) error {
	fs := cli.NewFlagSet("starling train-sentiment", "Trains the learned sentiment model on labelled tweets (the SemEval training set's train.tsv.gz: label<TAB>text, gzip), writes its weights file, and prints its figures: k-fold cross-validation on the training set, and on the development sets beside the other models. The same data, settings and seed give the same file.", stderr)
	data := fs.String("data", "", "the training set, train.tsv.gz (required; its terms keep the tweets out of this repository)")
	out := fs.String("out", defaultModelFile, "where to write the weights file (the default is the one the binary embeds: rebuild to use it)")
	var cfg sentiment.TrainConfig
	fs.Uint64Var(&cfg.Seed, "seed", 1, "the shuffle's seed")
	fs.IntVar(&cfg.Epochs, "epochs", 6, "passes over the training set")
	fs.Float64Var(&cfg.Rate, "rate", 0.01, "AdaGrad's base step")
	fs.Float64Var(&cfg.L2, "l2", 1e-6, "L2 penalty per example")
	buckets := fs.Uint("buckets", 1<<17, "hashed feature buckets (the weights file holds 3 int16 per bucket)")
	folds := fs.Int("cv", 5, "cross-validation folds on the training set before the final training (0: none)")
	limit := fs.Int("limit", 0, "train on the first N tweets only (0: all)")
	sets := cli.AddEvalFlags(fs)
	if err := cli.Parse(fs, args); err != nil {
		return err
	}
	if *data == "" {
		return errors.New("train-sentiment: --data is required")
	}
	if *buckets == 0 || *buckets > 1<<24 {
		return fmt.Errorf("train-sentiment: --buckets %d is not in 1..%d", *buckets, 1<<24)
	}
	cfg.Buckets = uint32(*buckets)
	f, err := os.Open(*data)
	if err != nil {
		return err
	}
	set, err := sentiment.ReadTrainingSet(f)
	f.Close()
	if err != nil {
		return err
	}
	if *limit > 0 && *limit < len(set) {
		set = set[:*limit]
	}
	fmt.Fprintf(stdout, "training set: %d tweets; epochs %d, rate %g, l2 %g, %d buckets, seed %d\n", len(set), cfg.Epochs, cfg.Rate, cfg.L2, cfg.Buckets, cfg.Seed)
	if *folds > 1 {
		var f1, recall float64
		for k := range *folds {
			var train, test []sentiment.Example
			for i, x := range set {
				if i%*folds == k {
					test = append(test, x)
				} else {
					train = append(train, x)
				}
			}
			m := sentiment.Evaluate(sentiment.Train(train, cfg), test)
			fmt.Fprintf(stdout, "  fold %d of %d: macro-F1 %.4f, macro-recall %.4f (%d tweets)\n", k+1, *folds, m.MacroF1, m.MacroRecall(), m.N)
			f1, recall = f1+m.MacroF1, recall+m.MacroRecall()
		}
		fmt.Fprintf(stdout, "cross-validation: macro-F1 %.4f, macro-recall %.4f (mean of %d folds)\n", f1/float64(*folds), recall/float64(*folds), *folds)
	}
	began := time.Now()
	model := sentiment.Train(set, cfg)
	var buf bytes.Buffer
	if _, err := model.WriteTo(&buf); err != nil {
		return err
	}
	if err := os.WriteFile(*out, buf.Bytes(), 0o644); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "trained in %s; wrote %s (%d bytes)\n\n", time.Since(began).Round(time.Millisecond), *out, buf.Len())
	// The figures of the file as written (its weights are rounded to 16 bits).
	written, err := sentiment.ReadModel(bytes.NewReader(buf.Bytes()))
	if err != nil {
		return err
	}
	all, err := sets.Read()
	if err != nil {
		return err
	}
	for i, s := range all {
		printMetrics(stdout, s.Name, "trained", sentiment.Evaluate(written, s.Set), i == 0)
		printMetrics(stdout, s.Name, sentiment.ModelVADER, sentiment.Evaluate(sentiment.New(), s.Set), false)
	}
	return nil
}
