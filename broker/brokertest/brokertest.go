// Package brokertest starts a real Starling broker for tests of the packages that talk to
// Kafka: in process, on a free loopback port, with its data in a temporary directory.
package brokertest

import (
	"context"
	"encoding/binary"
	"errors"
	"net"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/starling-analytics/starling/broker"
	"github.com/starling-analytics/starling/internal/recordbatch"
)

// Broker is a broker started for one test.
type Broker struct {
	// Addr is the host:port to give Kafka clients.
	Addr string
	// DataDir is where the broker keeps its files.
	DataDir string
	*broker.Broker

	cfg    broker.Config
	cancel context.CancelFunc
	done   chan error
}

// Start runs a broker until the test ends. cfg may be nil; its DataDir and Addr are
// filled in when empty.
func Start(t testing.TB, cfg *broker.Config) *Broker {
	t.Helper()
	var c broker.Config
	if cfg != nil {
		c = *cfg
	}
	if c.DataDir == "" {
		c.DataDir = t.TempDir()
	}
	if c.Addr == "" {
		c.Addr = "127.0.0.1:0"
	}
	b := &Broker{cfg: c}
	b.start(t)
	t.Cleanup(func() { b.stop(t) })
	return b
}

// Restart stops the broker as a clean shutdown does and starts a new one on the same data
// directory and address, as an operator restarting the process would.
func (b *Broker) Restart(t testing.TB) {
	t.Helper()
	b.stop(t)
	b.start(t)
}

func (b *Broker) start(t testing.TB) {
	t.Helper()
	ln, err := net.Listen("tcp", b.cfg.Addr)
	if err != nil {
		t.Fatalf("brokertest: listen: %v", err)
	}
	b.cfg.Addr = ln.Addr().String()
	bk, err := broker.New(b.cfg)
	if err != nil {
		ln.Close()
		t.Fatalf("brokertest: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- bk.Serve(ctx, ln) }()
	b.Addr, b.DataDir, b.Broker, b.cancel, b.done = b.cfg.Addr, b.cfg.DataDir, bk, cancel, done
}

func (b *Broker) stop(t testing.TB) {
	t.Helper()
	if b.cancel == nil {
		return
	}
	b.cancel()
	if err := <-b.done; err != nil && !errors.Is(err, context.Canceled) {
		t.Errorf("brokertest: serve: %v", err)
	}
	if err := b.Broker.Close(); err != nil {
		t.Errorf("brokertest: close: %v", err)
	}
	b.cancel = nil
}

// WriteToLog appends batches to the end of a partition's log file directly, bypassing
// Produce and everything it checks, as damage on disk or a broker that checks nothing
// would leave them: the broker is stopped, each batch gets the next base offsets after the
// log's end (its CRC does not cover them), and the broker is started again. It returns
// the base offset of each batch.
func (b *Broker) WriteToLog(t testing.TB, topic string, partition int32, batches ...[]byte) []int64 {
	t.Helper()
	b.stop(t)
	dir := filepath.Join(b.DataDir, "topics", topic+"-"+strconv.Itoa(int(partition)))
	logs, err := filepath.Glob(filepath.Join(dir, "*.log"))
	if err != nil || len(logs) == 0 {
		t.Fatalf("brokertest: no log files in %s (%v)", dir, err)
	}
	sort.Strings(logs) // names are zero-padded base offsets
	active := logs[len(logs)-1]
	data, err := os.ReadFile(active)
	if err != nil {
		t.Fatal(err)
	}
	next, err := strconv.ParseInt(strings.TrimSuffix(filepath.Base(active), ".log"), 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	for len(data) > 0 {
		h, err := recordbatch.ParseHeader(data)
		if err != nil || h.Size() > len(data) {
			t.Fatalf("brokertest: %s: %v", active, err)
		}
		next, data = h.LastOffset()+1, data[h.Size():]
	}
	f, err := os.OpenFile(active, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var bases []int64
	for _, batch := range batches {
		batch = slices.Clone(batch)
		binary.BigEndian.PutUint64(batch, uint64(next))
		bases = append(bases, next)
		next += int64(int32(binary.BigEndian.Uint32(batch[recordbatch.OffLastOffsetDelta:]))) + 1
		if _, err := f.Write(batch); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	b.start(t)
	return bases
}
