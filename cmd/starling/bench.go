package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"github.com/starling-analytics/starling/internal/cli"
)

// benchCommand is the measuring command. It is a binary of its own so that this one links
// none of what only the benchmarks need (franz-go's client and in-memory cluster, the
// browser driver).
const benchCommand = "starling-bench"

// runBench runs `starling-bench <args>` (found beside this binary, else on PATH), telling
// it through STARLING_BIN which starling binary to start for the benchmarks that run the
// pipeline as processes. Its exit status is this command's.
func runBench(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	self, err := os.Executable()
	if err != nil {
		return err
	}
	path := filepath.Join(filepath.Dir(self), benchCommand)
	if _, err := os.Stat(path); err != nil {
		if path, err = exec.LookPath(benchCommand); err != nil {
			return fmt.Errorf("%s is neither beside %s nor on PATH: build it with `make bench-tools` (or `go build -o bin/ ./cmd/%s`)", benchCommand, self, benchCommand)
		}
	}
	cmd := exec.CommandContext(ctx, path, args...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, stdout, stderr
	cmd.Env = append(os.Environ(), "STARLING_BIN="+self)
	// Ctrl-C reaches it too; when this command is told to stop, it is asked to stop in the
	// same way, so that it tears down what it started, and killed only if it lingers.
	cmd.Cancel = func() error { return cmd.Process.Signal(os.Interrupt) }
	cmd.WaitDelay = time.Minute
	err = cmd.Run()
	var exit *exec.ExitError
	if errors.As(err, &exit) && exit.ExitCode() > 0 {
		return cli.ExitStatus(exit.ExitCode()) // it has said why
	}
	return err
}
