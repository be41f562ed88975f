// Scores texts with vader-sentiment, the npm port of the VADER reference
// implementation, for `starling bench sentiment`: the same texts, one core, the same
// measure as the Go side.
//
// Usage: node vader.js TEXTS SECONDS
//
// TEXTS holds one text per line. After one pass to warm the JIT, the texts are scored
// in passes until SECONDS have gone by, and one JSON line goes to stdout:
// {"tweets": N, "seconds": S, "positive": P, "neutral": U, "negative": G}, the last
// three counting the labels of one pass.
'use strict';

const fs = require('fs');
const vader = require('vader-sentiment');

const [file, secondsArg] = process.argv.slice(2);
if (!file) {
  console.error('usage: node vader.js TEXTS [SECONDS]');
  process.exit(2);
}
const seconds = Number(secondsArg || 3);
const texts = fs.readFileSync(file, 'utf8').split('\n');
if (texts.length > 0 && texts[texts.length - 1] === '') {
  texts.pop();
}

const labels = { positive: 0, neutral: 0, negative: 0 };
for (const text of texts) {
  const c = vader.SentimentIntensityAnalyzer.polarity_scores(text).compound;
  labels[c >= 0.05 ? 'positive' : c <= -0.05 ? 'negative' : 'neutral']++;
}

const start = process.hrtime.bigint();
const limit = BigInt(Math.round(seconds * 1e9));
let tweets = 0;
let elapsed = 0n;
do {
  for (const text of texts) {
    vader.SentimentIntensityAnalyzer.polarity_scores(text);
  }
  tweets += texts.length;
  elapsed = process.hrtime.bigint() - start;
} while (elapsed < limit);

console.log(JSON.stringify({ tweets, seconds: Number(elapsed) / 1e9, ...labels }));
