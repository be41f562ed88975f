package broker_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/starling-analytics/starling/broker"
	"github.com/starling-analytics/starling/broker/brokertest"
)

// TestSIGKILLDuringAcksAllProduction kills a broker process with SIGKILL while an idempotent
// franz-go producer writes with acks=all, restarts it on the same data, and checks that every
// acknowledged record is there once, at the offset it was acknowledged with, in order, and
// that the log reads to its end: with the default durability (a process crash keeps what
// the page cache holds) and with fsync before every acknowledgement.
func TestSIGKILLDuringAcksAllProduction(t *testing.T) {
	t.Parallel()
	for name, env := range map[string][]string{"interval-flush": nil, "sync-writes": {"STARLING_BROKER_CHILD_SYNC=1"}} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			child := startBrokerChild(t, dir, env...)
			// Bounds the production only: fsyncing every acknowledgement on a loaded machine
			// can take most of it, and the log is then read under contexts of its own.
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
			defer cancel()
			cl, err := kgo.NewClient(kgo.SeedBrokers(child.Addr), kgo.DefaultProduceTopic("crash"), kgo.AllowAutoTopicCreation(),
				kgo.RequiredAcks(kgo.AllISRAcks()), kgo.RecordDeliveryTimeout(5*time.Second), kgo.ProducerLinger(time.Millisecond))
			if err != nil {
				t.Fatal(err)
			}
			var mu sync.Mutex
			acked := map[string]int64{} // value → offset
			var inflight sync.WaitGroup
			stop := make(chan struct{})
			producing := make(chan struct{})
			go func() {
				defer close(producing)
				for i := 0; ; i++ {
					select {
					case <-stop:
						return
					default:
					}
					v := fmt.Sprintf("record-%08d", i)
					inflight.Add(1)
					cl.Produce(ctx, &kgo.Record{Value: []byte(v)}, func(r *kgo.Record, err error) {
						defer inflight.Done()
						if err == nil {
							mu.Lock()
							acked[v] = r.Offset
							mu.Unlock()
						}
					})
				}
			}()
			// Kill the broker mid-stream, once a good number of records are acknowledged.
			tick := time.NewTicker(5 * time.Millisecond)
			for n := 0; n < 20000; {
				select {
				case <-ctx.Done():
					t.Fatalf("only %d records acknowledged", n)
				case <-tick.C:
				}
				mu.Lock()
				n = len(acked)
				mu.Unlock()
			}
			tick.Stop()
			child.kill()
			close(stop)
			<-producing
			cl.Close() // fails whatever was still in flight
			inflight.Wait()

			b := brokertest.Start(t, &broker.Config{DataDir: filepath.Join(dir, "data")})
			consumer, err := kgo.NewClient(kgo.SeedBrokers(b.Addr), kgo.ConsumeTopics("crash"), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
			if err != nil {
				t.Fatal(err)
			}
			defer consumer.Close()
			seen := map[string]int64{}
			next := int64(0)
			for {
				fctx, fcancel := context.WithTimeout(context.Background(), 5*time.Second)
				fs := consumer.PollFetches(fctx)
				fcancel()
				for _, fe := range fs.Errors() {
					if !errors.Is(fe.Err, context.DeadlineExceeded) {
						t.Fatalf("fetch %s/%d: %v", fe.Topic, fe.Partition, fe.Err)
					}
				}
				if fs.NumRecords() == 0 {
					break // nothing more within the wait: the log is read to its end
				}
				fs.EachRecord(func(r *kgo.Record) {
					if r.Offset != next {
						t.Fatalf("offset %d follows %d: the log has a gap or repeats", r.Offset, next-1)
					}
					next++
					if _, dup := seen[string(r.Value)]; dup {
						t.Fatalf("%s is in the log twice", r.Value)
					}
					seen[string(r.Value)] = r.Offset
				})
			}
			missing := 0
			for v, off := range acked {
				got, ok := seen[v]
				if !ok {
					missing++
					continue
				}
				if got != off {
					t.Errorf("%s acknowledged at offset %d, found at %d", v, off, got)
				}
			}
			if missing > 0 {
				t.Fatalf("%d of %d acknowledged records are missing after the crash", missing, len(acked))
			}
			t.Logf("%d acknowledged, %d in the log after SIGKILL and restart", len(acked), len(seen))
		})
	}
}
