package entities

import "testing"

// BenchmarkExtract measures Extract on real English tweets, one tweet an operation, with
// the model loaded once before the timer starts. It runs on one goroutine, so tweets/s is
// the rate of one core. SetBytes is the corpus's mean tweet length, so MB/s is text read.
//
// prose itself runs at the same rate on these tweets when it shares one model and skips
// sentence segmentation; with segmentation (prose's default) it is ten times slower, and
// with a model loaded per document (no prose.UsingModel) over a hundred times.
func BenchmarkExtract(b *testing.B) {
	x := extractor(b)
	for _, corpus := range []struct{ name, path string }{
		{"vader", vaderTweets},
		{"tweeteval", tweetEvalTweets},
	} {
		b.Run(corpus.name, func(b *testing.B) {
			tweets := readTweets(b, corpus.path)
			size := 0
			for _, t := range tweets {
				size += len(t)
			}
			b.SetBytes(int64(size / len(tweets)))
			b.ReportAllocs()
			n, found := 0, 0
			for b.Loop() {
				found += len(x.Extract(tweets[n%len(tweets)], "en"))
				n++
			}
			b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "tweets/s")
			b.ReportMetric(float64(found)/float64(n), "entities/tweet")
		})
	}
}

// BenchmarkNew measures loading the model and the lexicon: what every tweet would cost
// if the model were not shared.
func BenchmarkNew(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := New(); err != nil {
			b.Fatal(err)
		}
	}
}
