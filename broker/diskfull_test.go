package broker_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/starling-analytics/starling/broker"
	"github.com/starling-analytics/starling/broker/brokertest"
)

// TestDiskFull fills the broker's disk (a file size limit on its process): producers get
// KAFKA_STORAGE_ERROR, acknowledged records stay readable, and after a restart with room
// the log is whole and takes writes again.
func TestDiskFull(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	child := startBrokerChild(t, dir, "STARLING_BROKER_CHILD_FSIZE=262144")
	addr := child.Addr

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	// Two retries of a KAFKA_STORAGE_ERROR (kgo backs off and refreshes metadata between
	// them) take a few seconds, more on a loaded machine: the delivery timeout leaves them
	// room, so that the error the producer ends with is the broker's, not its own timeout.
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.AllowAutoTopicCreation(), kgo.DefaultProduceTopic("full"),
		kgo.ProducerBatchCompression(kgo.NoCompression()), kgo.RecordRetries(2), kgo.RecordDeliveryTimeout(45*time.Second))
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
	child.kill()

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
