package broker_test

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/starling-analytics/starling/broker/brokertest"
)

// groupMember is one franz-go consumer of a rebalance test, with what it owns and read.
type groupMember struct {
	cl   *kgo.Client
	mu   sync.Mutex
	owns map[int32]bool
	read int
	done chan struct{}
}

func (m *groupMember) owned() []int32 {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Sorted(maps.Keys(m.owns))
}

// TestRebalanceWhenMembersJoinAndLeave runs a franz-go group, with the eager range
// protocol and with cooperative-sticky, while a producer keeps writing: a second member
// joining takes over some of the partitions, the first leaving hands it all of them, and
// every record produced is consumed.
func TestRebalanceWhenMembersJoinAndLeave(t *testing.T) {
	t.Parallel()
	for name, balancer := range map[string]kgo.GroupBalancer{"eager-range": kgo.RangeBalancer(), "cooperative-sticky": kgo.CooperativeStickyBalancer()} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			b := brokertest.Start(t, nil)
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			const partitions = 6
			admin, err := kgo.NewClient(kgo.SeedBrokers(b.Addr))
			if err != nil {
				t.Fatal(err)
			}
			defer admin.Close()
			if _, err := kadm.NewClient(admin).CreateTopic(ctx, partitions, 1, nil, "rebalance"); err != nil {
				t.Fatal(err)
			}

			// The producer writes record i every millisecond until told to stop.
			var produced sync.Map
			stopProducing := make(chan struct{})
			producerDone := make(chan int)
			go func() {
				n := 0
				defer func() { producerDone <- n }()
				for ; ; n++ {
					select {
					case <-stopProducing:
						return
					case <-time.After(time.Millisecond):
					}
					v := fmt.Sprintf("r%06d", n)
					if err := admin.ProduceSync(ctx, &kgo.Record{Topic: "rebalance", Key: []byte(v), Value: []byte(v)}).FirstErr(); err != nil {
						t.Errorf("produce %s: %v", v, err)
						return
					}
					produced.Store(v, true)
				}
			}()

			var seenMu sync.Mutex
			seen := map[string]int{}
			join := func() *groupMember {
				m := &groupMember{owns: map[int32]bool{}, done: make(chan struct{})}
				assigned := func(_ context.Context, _ *kgo.Client, ps map[string][]int32) {
					m.mu.Lock()
					defer m.mu.Unlock()
					for _, p := range ps["rebalance"] {
						m.owns[p] = true
					}
				}
				revoked := func(ctx context.Context, cl *kgo.Client, ps map[string][]int32) {
					m.mu.Lock()
					for _, p := range ps["rebalance"] {
						delete(m.owns, p)
					}
					m.mu.Unlock()
					if err := cl.CommitUncommittedOffsets(ctx); err != nil && ctx.Err() == nil {
						t.Errorf("commit on revoke: %v", err)
					}
				}
				cl, err := kgo.NewClient(kgo.SeedBrokers(b.Addr), kgo.ConsumerGroup("rebalancers-"+name), kgo.ConsumeTopics("rebalance"),
					kgo.Balancers(balancer), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
					kgo.HeartbeatInterval(200*time.Millisecond), kgo.SessionTimeout(6*time.Second),
					kgo.OnPartitionsAssigned(assigned), kgo.OnPartitionsRevoked(revoked), kgo.OnPartitionsLost(revoked))
				if err != nil {
					t.Fatal(err)
				}
				m.cl = cl
				go func() {
					defer close(m.done)
					for {
						fs := cl.PollFetches(ctx)
						if fs.IsClientClosed() || ctx.Err() != nil {
							return
						}
						fs.EachError(func(topic string, p int32, err error) { t.Errorf("%s[%d]: %v", topic, p, err) })
						seenMu.Lock()
						fs.EachRecord(func(r *kgo.Record) { seen[string(r.Value)]++ })
						seenMu.Unlock()
						m.mu.Lock()
						m.read += fs.NumRecords()
						m.mu.Unlock()
					}
				}()
				return m
			}
			waitFor := func(what string, cond func() bool) {
				t.Helper()
				for !cond() {
					if ctx.Err() != nil {
						t.Fatalf("timed out waiting until %s", what)
					}
					time.Sleep(20 * time.Millisecond)
				}
			}

			a := join()
			waitFor("the first member owns every partition", func() bool { return len(a.owned()) == partitions })
			waitFor("the first member has read", func() bool { a.mu.Lock(); defer a.mu.Unlock(); return a.read > 100 })

			bm := join()
			waitFor("the partitions are split between two members", func() bool {
				oa, ob := a.owned(), bm.owned()
				if len(oa) == 0 || len(ob) == 0 || len(oa)+len(ob) != partitions {
					return false
				}
				return !slices.ContainsFunc(oa, func(p int32) bool { return slices.Contains(ob, p) })
			})
			t.Logf("after the join: first owns %v, second owns %v", a.owned(), bm.owned())
			waitFor("the second member has read", func() bool { bm.mu.Lock(); defer bm.mu.Unlock(); return bm.read > 100 })

			a.cl.Close() // commits and leaves the group
			<-a.done
			waitFor("the second member owns every partition", func() bool { return len(bm.owned()) == partitions })

			close(stopProducing)
			n := <-producerDone
			waitFor("every produced record is consumed", func() bool {
				seenMu.Lock()
				defer seenMu.Unlock()
				missing := 0
				produced.Range(func(k, _ any) bool {
					if seen[k.(string)] == 0 {
						missing++
					}
					return true
				})
				return missing == 0
			})
			seenMu.Lock()
			dup := 0
			for _, c := range seen {
				dup += c - 1
			}
			seenMu.Unlock()
			t.Logf("%d records produced, all consumed; %d redelivered around the rebalances", n, dup)
			bm.cl.Close()
			<-bm.done
		})
	}
}

// TestCommittedOffsetsSurviveRestart commits offsets through a kafka-go group reader (as
// the ETL does), restarts the broker on the same data directory, and checks that the
// offsets read back and that the group resumes exactly after what it committed.
func TestCommittedOffsetsSurviveRestart(t *testing.T) {
	t.Parallel()
	b := brokertest.Start(t, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()

	w := &kafka.Writer{Addr: kafka.TCP(b.Addr), Topic: "durable", Balancer: &kafka.Hash{}, RequiredAcks: kafka.RequireAll,
		BatchTimeout: time.Millisecond, AllowAutoTopicCreation: true}
	var msgs []kafka.Message
	for i := range 300 {
		msgs = append(msgs, kafka.Message{Key: []byte(fmt.Sprint(i)), Value: []byte(fmt.Sprintf("v%03d", i))})
	}
	if err := writeWithRetry(ctx, w, msgs); err != nil {
		t.Fatal(err)
	}
	w.Close()

	read := func(n int) []string {
		r := kafka.NewReader(kafka.ReaderConfig{Brokers: []string{b.Addr}, GroupID: "keeper", Topic: "durable",
			MaxWait: 50 * time.Millisecond, StartOffset: kafka.FirstOffset})
		defer r.Close()
		var got []string
		for len(got) < n {
			m, err := r.FetchMessage(ctx)
			if err != nil {
				t.Fatalf("fetch after %d: %v", len(got), err)
			}
			got = append(got, string(m.Value))
			if err := r.CommitMessages(ctx, m); err != nil {
				t.Fatalf("commit: %v", err)
			}
		}
		return got
	}
	committed := func() map[int32]int64 {
		cl, err := kgo.NewClient(kgo.SeedBrokers(b.Addr))
		if err != nil {
			t.Fatal(err)
		}
		defer cl.Close()
		os, err := kadm.NewClient(cl).FetchOffsets(ctx, "keeper")
		if err != nil {
			t.Fatal(err)
		}
		out := map[int32]int64{}
		os.Each(func(o kadm.OffsetResponse) { out[o.Partition] = o.At })
		return out
	}

	first := read(180)
	before := committed()
	var sum int64
	for _, at := range before {
		sum += at
	}
	if sum != 180 {
		t.Fatalf("committed offsets %v add up to %d, want 180", before, sum)
	}

	b.Restart(t)

	if after := committed(); !maps.Equal(before, after) {
		t.Fatalf("committed offsets changed across the restart: %v, then %v", before, after)
	}
	rest := read(120)
	all := append(slices.Clone(first), rest...)
	slices.Sort(all)
	if len(slices.Compact(all)) != 300 {
		t.Fatalf("the group read %d distinct records across the restart, want 300", len(slices.Compact(all)))
	}
}
