package sentiment

import (
	"bytes"
	"compress/gzip"
	_ "embed"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"sync"
)

// A learned model: multinomial logistic regression over the features of features.go,
// trained by Train (train.go) on labelled tweets. Its weights are a file (WriteTo,
// ReadModel) that the binary embeds (model/linear.bin.gz) and loads on first use.
//
// Its compound score is P(positive) - P(negative), in [-1, 1]; its label is the most
// probable class.

// Model names, as `starling score --model` takes them.
const (
	ModelVADER  = "vader"     // the lexicon-and-rules engine (Analyzer)
	ModelLinear = "linear-v1" // the learned model embedded in the binary
)

// Scorer is a sentiment model: the lexicon engine or a learned one.
type Scorer interface {
	Score(text string) (compound float64, label Label)
	// Analyze is Score, and text's words (for the word cloud) appended to words, from one
	// pass over its tokens.
	Analyze(text string, words []string) (compound float64, label Label, out []string)
}

// Model is a learned sentiment model. It is safe for concurrent use.
type Model struct {
	buckets uint32
	// weights[i*3+c] is feature i's weight for class c (negative, neutral, positive).
	weights []float32
	bias    [3]float32
	lexicon *Analyzer
	pool    sync.Pool // *featurizer
}

func newModel(buckets uint32) *Model {
	return &Model{buckets: buckets, weights: make([]float32, (int(buckets)+denseFeatures)*3), lexicon: New()}
}

func (m *Model) featurizer() *featurizer {
	if f, ok := m.pool.Get().(*featurizer); ok {
		return f
	}
	return &featurizer{lexicon: m.lexicon, buckets: m.buckets, scoring: true, weights: m.weights}
}

// Probabilities returns the probability of each class, negative, neutral, positive.
func (m *Model) Probabilities(text string) [3]float64 {
	f := m.featurizer()
	p := m.probabilities(f.features(text), f.z)
	m.pool.Put(f)
	return p
}

// probabilities are the classes' probabilities of features fs, and of the features summed
// into sums.
func (m *Model) probabilities(fs []feature, sums [3]float64) [3]float64 {
	var z [3]float64
	for c := range 3 {
		z[c] = float64(m.bias[c]) + sums[c]
	}
	for _, x := range fs {
		w := m.weights[x.index*3 : x.index*3+3]
		v := float64(x.value)
		z[0] += float64(w[0]) * v
		z[1] += float64(w[1]) * v
		z[2] += float64(w[2]) * v
	}
	return softmax(z)
}

func softmax(z [3]float64) [3]float64 {
	top := max(z[0], z[1], z[2])
	var sum float64
	for c := range 3 {
		z[c] = math.Exp(z[c] - top)
		sum += z[c]
	}
	for c := range 3 {
		z[c] /= sum
	}
	return z
}

// Score returns P(positive) - P(negative) and the most probable class.
func (m *Model) Score(text string) (compound float64, label Label) {
	return scoreOf(m.Probabilities(text))
}

// Analyze is Score, and text's words appended to words, as Analyzer.Analyze lists them.
func (m *Model) Analyze(text string, words []string) (compound float64, label Label, out []string) {
	f := m.featurizer()
	fs, out := f.featuresWords(text, words, true)
	compound, label = scoreOf(m.probabilities(fs, f.z))
	m.pool.Put(f)
	return compound, label, out
}

func scoreOf(p [3]float64) (compound float64, label Label) {
	best := 0
	for c := 1; c < 3; c++ {
		if p[c] > p[best] {
			best = c
		}
	}
	return p[2] - p[0], Label(best - 1)
}

// The weights file: "STSM", version 1, the number of hashed buckets and of dense
// features, the three biases, the weights' scale, then every weight as an int16 times the
// scale, little-endian, all gzip-compressed. (Sixteen bits keep a weight to within a
// ten-thousandth of the largest; the file is half the size of float32s.)
var modelMagic = [4]byte{'S', 'T', 'S', 'M'}

type modelHeader struct {
	Magic   [4]byte
	Version uint32
	Buckets uint32
	Dense   uint32
	Bias    [3]float32
	Scale   float32
}

// WriteTo writes the model's weights file.
func (m *Model) WriteTo(w io.Writer) (int64, error) {
	cw := &countingWriter{w: w}
	zw, err := gzip.NewWriterLevel(cw, gzip.BestCompression)
	if err != nil {
		return 0, err
	}
	var largest float32
	for _, v := range m.weights {
		largest = max(largest, float32(math.Abs(float64(v))))
	}
	scale := largest / math.MaxInt16
	if scale == 0 {
		scale = 1
	}
	q := make([]int16, len(m.weights))
	for i, v := range m.weights {
		q[i] = int16(math.Round(float64(v / scale)))
	}
	head := modelHeader{modelMagic, 1, m.buckets, denseFeatures, m.bias, scale}
	if err := binary.Write(zw, binary.LittleEndian, head); err != nil {
		return cw.n, err
	}
	if err := binary.Write(zw, binary.LittleEndian, q); err != nil {
		return cw.n, err
	}
	err = zw.Close()
	return cw.n, err
}

type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// ReadModel reads a weights file written by WriteTo.
func ReadModel(r io.Reader) (*Model, error) {
	zr, err := gzip.NewReader(r)
	if err != nil {
		return nil, fmt.Errorf("sentiment: model: %w", err)
	}
	var head modelHeader
	if err := binary.Read(zr, binary.LittleEndian, &head); err != nil {
		return nil, fmt.Errorf("sentiment: model header: %w", err)
	}
	switch {
	case head.Magic != modelMagic:
		return nil, errors.New("sentiment: not a model file")
	case head.Version != 1:
		return nil, fmt.Errorf("sentiment: model file version %d, want 1", head.Version)
	case head.Dense != denseFeatures || head.Buckets == 0 || head.Buckets > 1<<24:
		return nil, fmt.Errorf("sentiment: model of %d buckets and %d dense features does not fit this build", head.Buckets, head.Dense)
	}
	m := newModel(head.Buckets)
	m.bias = head.Bias
	q := make([]int16, len(m.weights))
	if err := binary.Read(zr, binary.LittleEndian, q); err != nil {
		return nil, fmt.Errorf("sentiment: model weights: %w", err)
	}
	for i, v := range q {
		m.weights[i] = float32(v) * head.Scale
	}
	return m, nil
}

//go:embed model/linear.bin.gz
var linearWeights []byte

// Linear returns the embedded learned model, loaded on first use.
var Linear = sync.OnceValues(func() (*Model, error) {
	return ReadModel(bytes.NewReader(linearWeights))
})

// Models are the names of the models a scorer can be asked for, the default first.
func Models() []string { return []string{ModelLinear, ModelVADER} }

// ByName returns the scorer of a model name.
func ByName(name string) (Scorer, error) {
	switch name {
	case ModelVADER:
		return New(), nil
	case ModelLinear:
		return Linear()
	}
	return nil, fmt.Errorf("sentiment: no model %q (models: %v)", name, Models())
}
