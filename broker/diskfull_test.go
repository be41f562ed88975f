package broker_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/starling-analytics/starling/broker"
	"github.com/starling-analytics/starling/broker/brokertest"
)

// TestDiskFullBrokerChild is the broker process of TestDiskFull: it runs only when the
// parent test starts this test binary with STARLING_DISKFULL_DIR set, with a file size limit
// that makes writes past it fail the way a full disk does.
func TestDiskFullBrokerChild(t *testing.T) {
	dir := os.Getenv("STARLING_DISKFULL_DIR")
	if dir == "" {
		return // not the child
	}
	// Writes past the limit fail with EFBIG (Go ignores SIGXFSZ), as they would with ENOSPC.
	limit := &syscall.Rlimit{Cur: 256 << 10, Max: 256 << 10}
	if err := syscall.Setrlimit(syscall.RLIMIT_FSIZE, limit); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	// Write, then rename, so the parent never reads half an address.
	os.WriteFile(filepath.Join(dir, "addr.tmp"), []byte(ln.Addr().String()), 0o644)
	os.Rename(filepath.Join(dir, "addr.tmp"), filepath.Join(dir, "addr"))
	b, err := broker.New(broker.Config{DataDir: filepath.Join(dir, "data"), DefaultPartitions: 1})
	if err != nil {
		t.Fatal(err)
	}
	b.Serve(context.Background(), ln) // until the parent kills us
}

// TestDiskFull fills the broker's disk (a file size limit on its process): producers get
// KAFKA_STORAGE_ERROR, acknowledged records stay readable, and after a restart with room
// the log is whole and takes writes again.
func TestDiskFull(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	child := exec.Command(os.Args[0], "-test.run=^TestDiskFullBrokerChild$")
	child.Env = append(os.Environ(), "STARLING_DISKFULL_DIR="+dir)
	child.Stderr = os.Stderr
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { child.Process.Kill(); child.Wait() }()
	var addr string
	deadline := time.Now().Add(30 * time.Second)
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for addr == "" {
		if b, err := os.ReadFile(filepath.Join(dir, "addr")); err == nil && len(b) > 0 {
			addr = string(b)
		} else if time.Now().After(deadline) {
			t.Fatal("broker child did not start")
		} else {
			<-tick.C
		}
	}

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.AllowAutoTopicCreation(), kgo.DefaultProduceTopic("full"),
		kgo.ProducerBatchCompression(kgo.NoCompression()), kgo.RecordRetries(2), kgo.RecordDeliveryTimeout(10*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	value := []byte(strings.Repeat("x", 1000))
	acked := 0
	var produceErr error
	for i := 0; i < 2000 && produceErr == nil; i++ {
		if produceErr = cl.ProduceSync(ctx, &kgo.Record{Value: []byte(fmt.Sprintf("%06d%s", i, value))}).FirstErr(); produceErr == nil {
			acked++
		}
	}
	if !errors.Is(produceErr, kerr.KafkaStorageError) {
		t.Fatalf("after %d acknowledged records the producer got %v, want KAFKA_STORAGE_ERROR", acked, produceErr)
	}
	if acked < 100 {
		t.Fatalf("only %d records fitted under the limit", acked)
	}
	cl.Close()
	child.Process.Kill()
	child.Wait()

	// Restart with room: every acknowledged record is there, in order, and writes work.
	b := brokertest.Start(t, &broker.Config{DataDir: filepath.Join(dir, "data")})
	cl2, err := kgo.NewClient(kgo.SeedBrokers(b.Addr), kgo.DefaultProduceTopic("full"),
		kgo.ConsumeTopics("full"), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl2.Close()
	if err := cl2.ProduceSync(ctx, &kgo.Record{Value: []byte("after")}).FirstErr(); err != nil {
		t.Fatalf("produce after freeing space: %v", err)
	}
	var got []string
	for len(got) < acked+1 {
		fs := cl2.PollFetches(ctx)
		if err := fs.Err0(); err != nil {
			t.Fatalf("consume after %d: %v", len(got), err)
		}
		fs.EachRecord(func(r *kgo.Record) { got = append(got, string(r.Value)) })
	}
	for i := 0; i < acked; i++ {
		if want := fmt.Sprintf("%06d", i); !strings.HasPrefix(got[i], want) {
			t.Fatalf("record %d is %.6s, want %s", i, got[i], want)
		}
	}
	if got[acked] != "after" {
		t.Fatalf("record after the restart is %.10q", got[acked])
	}
}
