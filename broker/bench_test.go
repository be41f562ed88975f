package broker_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/starling-analytics/starling/broker/brokertest"
)

// BenchmarkProduce produces with franz-go, the same way, into the built-in broker (writing
// to disk) and into franz-go's in-memory kfake cluster, for side-by-side figures:
//
//	go test -run ^$ -bench Produce -benchtime 500000x ./broker/
func BenchmarkProduce(b *testing.B) {
	for _, size := range []int{100, 1000} {
		b.Run(fmt.Sprintf("starling/%dB", size), func(b *testing.B) {
			br := brokertest.Start(b, nil)
			benchProduce(b, br.Addr, size)
		})
		b.Run(fmt.Sprintf("kfake/%dB", size), func(b *testing.B) {
			c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(3, "bench"))
			if err != nil {
				b.Fatal(err)
			}
			defer c.Close()
			benchProduce(b, c.ListenAddrs()[0], size)
		})
	}
}

func benchProduce(b *testing.B, addr string, size int) {
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.DefaultProduceTopic("bench"), kgo.AllowAutoTopicCreation(),
		kgo.ProducerLinger(0), kgo.MaxBufferedRecords(1<<20), kgo.ProducerBatchMaxBytes(1<<20),
		kgo.ProducerBatchCompression(kgo.NoCompression()))
	if err != nil {
		b.Fatal(err)
	}
	defer cl.Close()
	ctx := context.Background()
	// Warm up: create the topic and connections.
	if err := cl.ProduceSync(ctx, &kgo.Record{Value: make([]byte, size)}).FirstErr(); err != nil {
		b.Fatal(err)
	}
	value := make([]byte, size) // random, so nothing gains from compressing zeros
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range value {
		value[i] = byte(rng.Uint32())
	}
	b.ReportAllocs()
	b.SetBytes(int64(size))
	b.ResetTimer()
	errs := make(chan error, 1)
	for i := 0; i < b.N; i++ {
		cl.Produce(ctx, &kgo.Record{Value: value}, func(_ *kgo.Record, err error) {
			if err != nil {
				select {
				case errs <- err:
				default:
				}
			}
		})
	}
	if err := cl.Flush(ctx); err != nil {
		b.Fatal(err)
	}
	b.StopTimer()
	select {
	case err := <-errs:
		b.Fatal(err)
	default:
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
}
