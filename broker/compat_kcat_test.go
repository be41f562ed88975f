package broker_test

import (
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/starling-analytics/starling/broker/brokertest"
)

// kcat runs the kcat (librdkafka) command line tool with stdin and returns its stdout.
func kcat(t *testing.T, ctx context.Context, stdin string, args ...string) string {
	t.Helper()
	path, err := exec.LookPath("kcat")
	if err != nil {
		t.Fatalf("kcat is not installed (apt-get install kcat): %v", err)
	}
	cmd := exec.CommandContext(ctx, path, args...)
	cmd.Stdin = strings.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("kcat %s: %v\nstderr: %s", strings.Join(args, " "), err, errb.String())
	}
	return out.String()
}

// TestKcat lists metadata, produces keyed records and consumes them back with kcat, by
// partition and through a consumer group.
func TestKcat(t *testing.T) {
	t.Parallel()
	b := brokertest.Start(t, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()

	var in strings.Builder
	var want []string
	for i := range 300 {
		fmt.Fprintf(&in, "k%d:value %d\n", i, i)
		want = append(want, fmt.Sprintf("k%d=value %d", i, i))
	}
	kcat(t, ctx, in.String(), "-b", b.Addr, "-P", "-t", "lines", "-K", ":", "-X", "acks=all", "-z", "lz4")

	meta := kcat(t, ctx, "", "-b", b.Addr, "-L", "-t", "lines")
	if !strings.Contains(meta, `topic "lines" with 3 partitions`) {
		t.Fatalf("metadata does not show the topic with 3 partitions:\n%s", meta)
	}

	got := strings.Split(strings.TrimSpace(kcat(t, ctx, "", "-b", b.Addr, "-C", "-t", "lines", "-o", "beginning", "-e", "-f", "%k=%s\n")), "\n")
	sort.Strings(got)
	sort.Strings(want)
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("consumed %d records, want %d; first: %q", len(got), len(want), got[:min(3, len(got))])
	}

	// A consumer group reads everything once, commits, and a second run finds nothing new.
	group := func() []string {
		out := kcat(t, ctx, "", "-b", b.Addr, "-G", "kcat-group", "-X", "auto.offset.reset=earliest", "-e", "-f", "%s\n", "lines")
		return strings.Fields(strings.ReplaceAll(strings.TrimSpace(out), "value ", "v"))
	}
	if first := group(); len(first) != 300 {
		t.Fatalf("group consumed %d records, want 300", len(first))
	}
	if second := group(); len(second) != 0 {
		t.Fatalf("group re-consumed %d records after committing", len(second))
	}
}
