package sentiment

import (
	"bufio"
	"compress/gzip"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"strings"
)

// Training the learned model (model.go): multinomial logistic regression by stochastic
// gradient descent with AdaGrad step sizes and L2 regularisation, each class weighted by
// the inverse of its share so that the rare class (negative) counts as much as the others.
// One goroutine and a seeded shuffle: the same data, settings and seed give the same
// weights, bit for bit.

// TrainConfig are the training settings. Zero values are the defaults.
type TrainConfig struct {
	Buckets uint32  // hashed feature buckets; default 1<<17
	Epochs  int     // passes over the data; default 6
	Rate    float64 // AdaGrad's base step; default 0.2
	L2      float64 // L2 penalty per example; default 1e-6
	Seed    uint64  // the shuffle's seed; default 1
}

func (c TrainConfig) WithDefaults() TrainConfig {
	if c.Buckets == 0 {
		c.Buckets = 1 << 17
	}
	if c.Epochs == 0 {
		c.Epochs = 6
	}
	if c.Rate == 0 {
		c.Rate = 0.2
	}
	if c.L2 == 0 {
		c.L2 = 1e-6
	}
	if c.Seed == 0 {
		c.Seed = 1
	}
	return c
}

// Train fits a model to labelled examples.
func Train(set []Example, cfg TrainConfig) *Model {
	cfg = cfg.WithDefaults()
	m := newModel(cfg.Buckets)
	f := &featurizer{lexicon: m.lexicon, buckets: m.buckets}
	xs := make([][]feature, len(set))
	var counts [3]int
	for i, x := range set {
		xs[i] = append([]feature(nil), f.features(x.Text)...)
		counts[x.Gold+1]++
	}
	var classWeight [3]float64
	for c, n := range counts {
		if n > 0 {
			classWeight[c] = float64(len(set)) / (3 * float64(n))
		}
	}
	w := make([]float64, len(m.weights))
	g2 := make([]float64, len(m.weights)) // AdaGrad's sums of squared gradients
	var bias, biasG2 [3]float64
	order := make([]int, len(set))
	for i := range order {
		order[i] = i
	}
	rng := rand.New(rand.NewPCG(cfg.Seed, 0x5eed))
	for range cfg.Epochs {
		rng.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
		for _, i := range order {
			gold := int(set[i].Gold + 1)
			var z [3]float64
			z = bias
			for _, x := range xs[i] {
				for c := range 3 {
					z[c] += w[int(x.index)*3+c] * float64(x.value)
				}
			}
			p := softmax(z)
			for c := range 3 {
				grad := p[c]
				if c == gold {
					grad -= 1
				}
				grad *= classWeight[gold]
				biasG2[c] += grad * grad
				bias[c] -= cfg.Rate * grad / math.Sqrt(biasG2[c]+1e-8)
				for _, x := range xs[i] {
					k := int(x.index)*3 + c
					gk := grad*float64(x.value) + cfg.L2*w[k]
					g2[k] += gk * gk
					w[k] -= cfg.Rate * gk / math.Sqrt(g2[k]+1e-8)
				}
			}
		}
	}
	for k, v := range w {
		m.weights[k] = float32(v)
	}
	for c := range 3 {
		m.bias[c] = float32(bias[c])
	}
	return m
}

// ReadTrainingSet reads the training set's format: a gzip-compressed TSV whose first line
// is the header "label<TAB>text", then one tweet a line, labelled negative, neutral or
// positive.
func ReadTrainingSet(r io.Reader) ([]Example, error) {
	zr, err := gzip.NewReader(r)
	if err != nil {
		return nil, fmt.Errorf("sentiment: training set: %w", err)
	}
	sc := bufio.NewScanner(zr)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	var out []Example
	for n := 1; sc.Scan(); n++ {
		label, text, ok := strings.Cut(sc.Text(), "\t")
		if n == 1 {
			if label != "label" || text != "text" {
				return nil, fmt.Errorf("sentiment: training set: header %q, want label<TAB>text", sc.Text())
			}
			continue
		}
		if !ok {
			return nil, fmt.Errorf("sentiment: training set line %d: no tab", n)
		}
		var gold Label
		switch label {
		case "negative":
			gold = Negative
		case "neutral":
			gold = Neutral
		case "positive":
			gold = Positive
		default:
			return nil, fmt.Errorf("sentiment: training set line %d: label %q", n, label)
		}
		out = append(out, Example{Text: text, Gold: gold})
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("sentiment: training set: %w", err)
	}
	return out, nil
}
