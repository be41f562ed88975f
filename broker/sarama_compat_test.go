package broker_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/IBM/sarama"

	"github.com/starling-analytics/starling/broker/brokertest"
)

// saramaHandler collects the values a sarama consumer group reads.
type saramaHandler struct {
	mu   sync.Mutex
	seen map[string]int
}

func (h *saramaHandler) Setup(sarama.ConsumerGroupSession) error   { return nil }
func (h *saramaHandler) Cleanup(sarama.ConsumerGroupSession) error { return nil }
func (h *saramaHandler) ConsumeClaim(s sarama.ConsumerGroupSession, c sarama.ConsumerGroupClaim) error {
	for m := range c.Messages() {
		h.mu.Lock()
		h.seen[string(m.Value)]++
		h.mu.Unlock()
		s.MarkMessage(m, "")
	}
	return nil
}

func (h *saramaHandler) count() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.seen)
}

// TestSaramaProducerAndConsumerGroup produces with sarama's sync producer (acks=all) and
// reads everything back through a sarama consumer group, at the protocol versions of
// Kafka 2.8 (sarama's default) and 2.1.
func TestSaramaProducerAndConsumerGroup(t *testing.T) {
	t.Parallel()
	for _, version := range []sarama.KafkaVersion{sarama.V2_8_0_0, sarama.V2_1_0_0} {
		t.Run(version.String(), func(t *testing.T) {
			b := brokertest.Start(t, nil)
			cfg := sarama.NewConfig()
			cfg.Version = version
			cfg.Producer.RequiredAcks = sarama.WaitForAll
			cfg.Producer.Return.Successes = true
			cfg.Producer.Compression = sarama.CompressionSnappy
			cfg.Consumer.Offsets.Initial = sarama.OffsetOldest
			producer, err := sarama.NewSyncProducer([]string{b.Addr}, cfg)
			if err != nil {
				t.Fatal(err)
			}
			const n = 500
			var msgs []*sarama.ProducerMessage
			for i := range n {
				msgs = append(msgs, &sarama.ProducerMessage{Topic: "sarama", Key: sarama.StringEncoder(fmt.Sprint(i % 7)), Value: sarama.StringEncoder(fmt.Sprintf("v%d", i))})
			}
			if err := producer.SendMessages(msgs); err != nil {
				t.Fatalf("send: %v", err)
			}
			producer.Close()

			group, err := sarama.NewConsumerGroup([]string{b.Addr}, "sarama-group", cfg)
			if err != nil {
				t.Fatal(err)
			}
			defer group.Close()
			h := &saramaHandler{seen: map[string]int{}}
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			done := make(chan error, 1)
			go func() {
				for ctx.Err() == nil {
					if err := group.Consume(ctx, []string{"sarama"}, h); err != nil && ctx.Err() == nil {
						done <- err
						return
					}
				}
				done <- nil
			}()
			tick := time.NewTicker(20 * time.Millisecond)
			defer tick.Stop()
			for h.count() < n {
				select {
				case err := <-done:
					t.Fatalf("consume stopped after %d: %v", h.count(), err)
				case <-ctx.Done():
					t.Fatalf("consumed %d of %d", h.count(), n)
				case <-tick.C:
				}
			}
			cancel()
			<-done
			for v, c := range h.seen {
				if c != 1 {
					t.Errorf("%s consumed %d times", v, c)
				}
			}
		})
	}
}
