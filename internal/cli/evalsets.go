package cli

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/starling-analytics/starling/etl/sentiment"
)

// The development sets, relative to the repository root (see FindRepoFile).
const (
	DevVaderSet        = "etl/sentiment/testdata/vader-4200-tweets.tsv"
	DevTweetEvalTexts  = "etl/sentiment/testdata/tweeteval-val-text.txt"
	DevTweetEvalLabels = "etl/sentiment/testdata/tweeteval-val-labels.txt"
)

// EvalSets are the labelled files to evaluate on.
type EvalSets struct {
	vader, tweetEvalTexts, tweetEvalLabels *string
}

// AddEvalFlags adds --vader, --tweeteval-text and --tweeteval-labels to fs, each naming a
// development set of the repository by default.
func AddEvalFlags(fs *flag.FlagSet) EvalSets {
	return EvalSets{
		vader:           fs.String("vader", DevVaderSet, "tweets in VADER's format: id<TAB>mean rating -4..4<TAB>text per line"),
		tweetEvalTexts:  fs.String("tweeteval-text", DevTweetEvalTexts, "tweets in TweetEval's format: one text per line"),
		tweetEvalLabels: fs.String("tweeteval-labels", DevTweetEvalLabels, "the labels of --tweeteval-text, one per line: 0 negative, 1 neutral, 2 positive"),
	}
}

// NamedSet is a labelled set and the name it is reported by.
type NamedSet struct {
	Name string
	Set  []sentiment.Example
}

// Read reads the labelled sets the flags name.
func (sets EvalSets) Read() ([]NamedSet, error) {
	var all []NamedSet
	if *sets.vader != "" {
		set, err := readVaderFile(FindRepoFile(*sets.vader))
		if err != nil {
			return nil, err
		}
		all = append(all, NamedSet{Name: filepath.Base(*sets.vader), Set: set})
	}
	if *sets.tweetEvalTexts != "" && *sets.tweetEvalLabels != "" {
		set, err := readTweetEvalFiles(FindRepoFile(*sets.tweetEvalTexts), FindRepoFile(*sets.tweetEvalLabels))
		if err != nil {
			return nil, err
		}
		all = append(all, NamedSet{Name: filepath.Base(*sets.tweetEvalTexts), Set: set})
	}
	if len(all) == 0 {
		return nil, errors.New("no labelled set given")
	}
	return all, nil
}

func readVaderFile(path string) ([]sentiment.Example, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	set, err := sentiment.ReadVaderTweets(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return set, nil
}

func readTweetEvalFiles(textsPath, labelsPath string) ([]sentiment.Example, error) {
	texts, err := os.Open(textsPath)
	if err != nil {
		return nil, err
	}
	defer texts.Close()
	labels, err := os.Open(labelsPath)
	if err != nil {
		return nil, err
	}
	defer labels.Close()
	set, err := sentiment.ReadTweetEval(texts, labels)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", textsPath, err)
	}
	return set, nil
}

// FindRepoFile resolves a relative path that does not exist from the working
// directory against its parents in turn, so that the defaults that name files of the
// repository work from any directory in it. Other paths are returned as they are.
func FindRepoFile(path string) string {
	if filepath.IsAbs(path) {
		return path
	}
	if _, err := os.Stat(path); err == nil {
		return path
	}
	dir, err := os.Getwd()
	if err != nil {
		return path
	}
	for {
		candidate := filepath.Join(dir, path)
		if _, err := os.Stat(candidate); err == nil {
			return candidate
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return path
		}
		dir = parent
	}
}
