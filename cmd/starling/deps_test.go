package main

import (
	"os/exec"
	"strings"
	"testing"
)

// TestProductLinksNoLab checks that the starling binary links none of what only the
// benchmarks and tests need: franz-go's client and in-memory cluster, the browser driver
// (they belong to starling-bench). The broker's own protocol codec, franz-go's kmsg, is
// part of the product.
func TestProductLinksNoLab(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	for _, pkg := range strings.Fields(string(out)) {
		for _, lab := range []string{"github.com/twmb/franz-go/pkg/kgo", "github.com/twmb/franz-go/pkg/kfake", "github.com/chromedp/", "github.com/IBM/sarama",
			"github.com/starling-analytics/starling/internal/lab", "github.com/starling-analytics/starling/warehouse/warehousetest"} {
			if strings.HasPrefix(pkg, lab) {
				t.Errorf("starling links %s", pkg)
			}
		}
	}
}
