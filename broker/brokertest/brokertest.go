// Package brokertest starts a real Starling broker for tests of the packages that talk to
// Kafka: in process, on a free loopback port, with its data in a temporary directory.
package brokertest

import (
	"context"
	"errors"
	"net"
	"testing"

	"github.com/starling-analytics/starling/broker"
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
