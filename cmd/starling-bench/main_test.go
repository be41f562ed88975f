package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// starlingForTests is a starling binary built for the benchmarks that run the pipeline as
// processes (see TestMain).
var starlingForTests string

// TestMain builds the starling command, which the pipeline benchmark starts; the build
// reuses go's cache.
func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "starling-bench-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	starlingForTests = filepath.Join(dir, "starling")
	build := exec.Command("go", "build", "-o", starlingForTests, "github.com/starling-analytics/starling/cmd/starling")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building starling:", err)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}
