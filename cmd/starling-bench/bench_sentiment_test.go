package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

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
