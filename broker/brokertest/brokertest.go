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
	ln, err := net.Listen("tcp", c.Addr)
	if err != nil {
		t.Fatalf("brokertest: listen: %v", err)
	}
	c.Addr = ln.Addr().String()
	b, err := broker.New(c)
	if err != nil {
		ln.Close()
		t.Fatalf("brokertest: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- b.Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil && !errors.Is(err, context.Canceled) {
			t.Errorf("brokertest: serve: %v", err)
		}
		if err := b.Close(); err != nil {
			t.Errorf("brokertest: close: %v", err)
		}
	})
	return &Broker{Addr: c.Addr, DataDir: c.DataDir, Broker: b}
}
