package broker_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/starling-analytics/starling/broker"
)

// Tests that kill a broker or fill its disk run it in a child process: this test binary,
// re-executed to run only TestBrokerChild, which serves until it is killed.

// TestBrokerChild is the broker process of the crash and disk tests. It does nothing unless
// STARLING_BROKER_CHILD_DIR is set.
func TestBrokerChild(t *testing.T) {
	dir := os.Getenv("STARLING_BROKER_CHILD_DIR")
	if dir == "" {
		return // not a child
	}
	if limit, _ := strconv.ParseUint(os.Getenv("STARLING_BROKER_CHILD_FSIZE"), 10, 64); limit > 0 {
		// Writes past the limit fail with EFBIG (Go ignores SIGXFSZ), as with a full disk.
		if err := syscall.Setrlimit(syscall.RLIMIT_FSIZE, &syscall.Rlimit{Cur: limit, Max: limit}); err != nil {
			t.Fatal(err)
		}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfg := broker.Config{
		DataDir:           filepath.Join(dir, "data"),
		DefaultPartitions: 1,
		SyncWrites:        os.Getenv("STARLING_BROKER_CHILD_SYNC") == "1",
	}
	cfg.IdleTimeout, _ = time.ParseDuration(os.Getenv("STARLING_BROKER_CHILD_IDLE"))
	cfg.RequestTimeout, _ = time.ParseDuration(os.Getenv("STARLING_BROKER_CHILD_REQUEST_TIMEOUT"))
	cfg.MaxConnectionsPerIP, _ = strconv.Atoi(os.Getenv("STARLING_BROKER_CHILD_PER_IP"))
	b, err := broker.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if os.Getenv("STARLING_BROKER_CHILD_METRICS") == "1" {
		mln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		go http.Serve(mln, b.MetricsHandler())
		os.WriteFile(filepath.Join(dir, "metrics"), []byte(mln.Addr().String()), 0o644)
	}
	// Write, then rename, so the parent never reads half an address.
	os.WriteFile(filepath.Join(dir, "addr.tmp"), []byte(ln.Addr().String()), 0o644)
	os.Rename(filepath.Join(dir, "addr.tmp"), filepath.Join(dir, "addr"))
	b.Serve(context.Background(), ln) // until the parent kills us
}

// brokerChild is a broker running in a child process.
type brokerChild struct {
	Addr string
	cmd  *exec.Cmd
}

// startBrokerChild runs a broker with its data under dir/data in a child process; extra
// environment variables (STARLING_BROKER_CHILD_FSIZE, _SYNC, _IDLE, _REQUEST_TIMEOUT,
// _PER_IP, _METRICS) shape it.
func startBrokerChild(t *testing.T, dir string, env ...string) *brokerChild {
	t.Helper()
	os.Remove(filepath.Join(dir, "addr"))
	cmd := exec.Command(os.Args[0], "-test.run=^TestBrokerChild$")
	cmd.Env = append(append(os.Environ(), "STARLING_BROKER_CHILD_DIR="+dir), env...)
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	c := &brokerChild{cmd: cmd}
	t.Cleanup(c.kill)
	deadline := time.Now().Add(30 * time.Second)
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for c.Addr == "" {
		if b, err := os.ReadFile(filepath.Join(dir, "addr")); err == nil && len(b) > 0 {
			c.Addr = string(b)
		} else if time.Now().After(deadline) {
			t.Fatal("broker child did not start")
		} else {
			<-tick.C
		}
	}
	return c
}

// kill ends the child with SIGKILL, as a crash would, and reaps it.
func (c *brokerChild) kill() {
	if c.cmd.ProcessState == nil {
		c.cmd.Process.Kill()
		c.cmd.Wait()
	}
}

// heapBytes is the Go heap the child's broker has allocated and not freed, from its
// Prometheus metrics (the child must run with STARLING_BROKER_CHILD_METRICS=1).
func (c *brokerChild) heapBytes(t *testing.T, dir string) int64 {
	t.Helper()
	addr, err := os.ReadFile(filepath.Join(dir, "metrics"))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get("http://" + string(addr) + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(body), "\n") {
		if v, ok := strings.CutPrefix(line, "go_memstats_heap_alloc_bytes "); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				t.Fatal(err)
			}
			return int64(f)
		}
	}
	t.Fatal("no go_memstats_heap_alloc_bytes in the child's metrics")
	return 0
}

// rss is the child's resident memory in bytes.
func (c *brokerChild) rss(t *testing.T) int64 {
	t.Helper()
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", c.cmd.Process.Pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(status), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			return kb << 10
		}
	}
	t.Fatal("no VmRSS in the child's status")
	return 0
}
