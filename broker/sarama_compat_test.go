package broker_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

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

// TestSaramaGroupsJoinStaggered runs sarama consumer groups of three members that join one
// at a time while records flow, at the protocol versions of Kafka 0.10.2, 2.8 and 3.6,
// with the sticky assignor and (from 2.4, where sarama has it) cooperative-sticky: no
// member reports an error (a member that cannot decode its assignment says "insufficient
// data to decode packet"), every record is consumed, and the group ends with the six
// partitions split among the three members, as DescribeGroups shows them.
func TestSaramaGroupsJoinStaggered(t *testing.T) {
	t.Parallel()
	type combo struct {
		version  sarama.KafkaVersion
		strategy func() sarama.BalanceStrategy
	}
	var combos []combo
	for _, v := range []sarama.KafkaVersion{sarama.V0_10_2_0, sarama.V2_8_0_0, sarama.V3_6_0_0} {
		combos = append(combos, combo{v, sarama.NewBalanceStrategySticky})
		if v.IsAtLeast(sarama.V2_4_0_0) {
			combos = append(combos, combo{v, sarama.NewBalanceStrategyCooperativeSticky})
		}
	}
	for _, c := range combos {
		t.Run(c.version.String()+"/"+c.strategy().Name(), func(t *testing.T) {
			t.Parallel()
			b := brokertest.Start(t, nil)
			if err := b.CreateTopic("staggered", 6, nil); err != nil {
				t.Fatal(err)
			}
			config := func() *sarama.Config {
				cfg := sarama.NewConfig()
				cfg.Version = c.version
				cfg.Producer.RequiredAcks = sarama.WaitForAll
				cfg.Producer.Return.Successes = true
				cfg.Consumer.Offsets.Initial = sarama.OffsetOldest
				cfg.Consumer.Return.Errors = true
				cfg.Consumer.Group.Rebalance.GroupStrategies = []sarama.BalanceStrategy{c.strategy()}
				cfg.Consumer.Group.Heartbeat.Interval = 300 * time.Millisecond
				cfg.Consumer.Offsets.AutoCommit.Interval = 100 * time.Millisecond
				return cfg
			}
			producer, err := sarama.NewSyncProducer([]string{b.Addr}, config())
			if err != nil {
				t.Fatal(err)
			}
			defer producer.Close()
			produced := 0
			produce := func(n int) {
				var msgs []*sarama.ProducerMessage
				for range n {
					msgs = append(msgs, &sarama.ProducerMessage{Topic: "staggered", Key: sarama.StringEncoder(fmt.Sprint(produced)), Value: sarama.StringEncoder(fmt.Sprintf("v%d", produced))})
					produced++
				}
				if err := producer.SendMessages(msgs); err != nil {
					t.Fatalf("send: %v", err)
				}
			}

			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
			defer cancel()
			h := &saramaHandler{seen: map[string]int{}}
			errs := make(chan error, 16)
			var members sync.WaitGroup
			join := func() {
				group, err := sarama.NewConsumerGroup([]string{b.Addr}, "staggered-group", config())
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { group.Close() })
				members.Go(func() {
					for ctx.Err() == nil {
						if err := group.Consume(ctx, []string{"staggered"}, h); err != nil && ctx.Err() == nil {
							errs <- err
							return
						}
					}
				})
				members.Go(func() {
					for {
						select {
						case err, ok := <-group.Errors():
							if !ok {
								return
							}
							errs <- err
						case <-ctx.Done():
							return
						}
					}
				})
			}
			waitConsumed := func() {
				tick := time.NewTicker(20 * time.Millisecond)
				defer tick.Stop()
				for h.count() < produced {
					select {
					case err := <-errs:
						t.Fatalf("group member failed after %d of %d records: %v", h.count(), produced, err)
					case <-ctx.Done():
						t.Fatalf("consumed %d of %d", h.count(), produced)
					case <-tick.C:
					}
				}
			}
			for range 3 {
				join()
				produce(600)
				waitConsumed()
			}
			// The group settles with every partition owned by exactly one member.
			adm, err := kgo.NewClient(kgo.SeedBrokers(b.Addr))
			if err != nil {
				t.Fatal(err)
			}
			defer adm.Close()
			var last string
			deadline := time.Now().Add(time.Minute)
			for {
				dg, err := kadm.NewClient(adm).DescribeGroups(ctx, "staggered-group")
				if err != nil {
					t.Fatal(err)
				}
				g := dg["staggered-group"]
				owned := map[int32]int{}
				owners := 0
				for _, m := range g.Members {
					ca, ok := m.Assigned.AsConsumer()
					if !ok {
						t.Fatalf("member %s: assignment does not decode as a consumer assignment", m.MemberID)
					}
					n := 0
					for _, tp := range ca.Topics {
						for _, p := range tp.Partitions {
							owned[p]++
							n++
						}
					}
					if n > 0 {
						owners++
					}
				}
				last = fmt.Sprintf("state %s, %d members, %d owning, partitions owned %v", g.State, len(g.Members), owners, owned)
				ok := g.State == "Stable" && len(g.Members) == 3 && owners == 3 && len(owned) == 6
				for _, n := range owned {
					ok = ok && n == 1
				}
				if ok {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("group did not settle: %s", last)
				}
				time.Sleep(100 * time.Millisecond) // poll the group's state
			}
			select {
			case err := <-errs:
				t.Fatalf("group member failed: %v", err)
			default:
			}
			cancel()
			members.Wait()
		})
	}
}
