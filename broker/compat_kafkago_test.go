package broker_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/starling-analytics/starling/broker/brokertest"
)

// TestKafkaGoWriterAndGroupReader produces with kafka-go's Writer the way the ingester does
// (acks=all, hashed keys) and reads everything back through a consumer group.
func TestKafkaGoWriterAndGroupReader(t *testing.T) {
	t.Parallel()
	b := brokertest.Start(t, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	w := &kafka.Writer{
		Addr:                   kafka.TCP(b.Addr),
		Topic:                  "events",
		Balancer:               &kafka.Hash{},
		RequiredAcks:           kafka.RequireAll,
		BatchTimeout:           5 * time.Millisecond,
		AllowAutoTopicCreation: true,
		Compression:            kafka.Snappy,
	}
	defer w.Close()
	const n = 2000
	msgs := make([]kafka.Message, n)
	for i := range msgs {
		msgs[i] = kafka.Message{
			Key:     []byte(fmt.Sprintf("key-%d", i%97)),
			Value:   []byte(fmt.Sprintf("value-%d", i)),
			Headers: []kafka.Header{{Key: "h", Value: []byte("v")}},
		}
	}
	if err := writeWithRetry(ctx, w, msgs); err != nil {
		t.Fatalf("write: %v", err)
	}

	r := kafka.NewReader(kafka.ReaderConfig{
		Brokers:        []string{b.Addr},
		GroupID:        "readers",
		Topic:          "events",
		MinBytes:       1,
		MaxBytes:       1 << 20,
		MaxWait:        100 * time.Millisecond,
		StartOffset:    kafka.FirstOffset,
		CommitInterval: 0,
	})
	defer r.Close()
	seen := make(map[string]int)
	perPartition := make(map[int]int64)
	for len(seen) < n {
		m, err := r.FetchMessage(ctx)
		if err != nil {
			t.Fatalf("fetch after %d messages: %v", len(seen), err)
		}
		if last, ok := perPartition[m.Partition]; ok && m.Offset != last+1 {
			t.Fatalf("partition %d: offset %d after %d", m.Partition, m.Offset, last)
		}
		perPartition[m.Partition] = m.Offset
		seen[string(m.Value)]++
		if len(m.Headers) != 1 || string(m.Headers[0].Value) != "v" {
			t.Fatalf("headers lost: %+v", m.Headers)
		}
		if err := r.CommitMessages(ctx, m); err != nil {
			t.Fatalf("commit: %v", err)
		}
	}
	for v, c := range seen {
		if c != 1 {
			t.Errorf("%s read %d times", v, c)
		}
	}
	if len(perPartition) < 2 {
		t.Errorf("hashed keys landed in %d partitions, want several", len(perPartition))
	}
}

// writeWithRetry retries the first write, which may race the topic's auto-creation.
func writeWithRetry(ctx context.Context, w *kafka.Writer, msgs []kafka.Message) error {
	var err error
	for attempt := 0; attempt < 20; attempt++ {
		if err = w.WriteMessages(ctx, msgs...); err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(100 * time.Millisecond):
		}
	}
	return err
}
