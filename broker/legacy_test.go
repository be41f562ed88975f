package broker_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/starling-analytics/starling/broker/brokertest"
)

// legacyRecords are the keys and values an old client writes: message sets have no
// headers. One value is large (a quarter of max.message.bytes).
func legacyRecords(origin string) []string {
	var out []string
	for _, r := range matrixRecords(origin) {
		out = append(out, r.key+"\t"+r.value)
	}
	return out
}

// TestOldClientsProduceAndFetch produces message sets (magic 0 and 1) with clients speaking
// the protocol of Kafka 0.9 and 0.10 (kcat with librdkafka's version fallback, sarama at
// V0_10_2_0), in every codec they know, and reads them back with the same client (Fetch
// v1-v3, down-converted) and with franz-go (the stored v2 batches); records a current
// client produced, with headers and zstd, are read by the old clients too.
func TestOldClientsProduceAndFetch(t *testing.T) {
	t.Parallel()
	b := brokertest.Start(t, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	admin, err := kgo.NewClient(kgo.SeedBrokers(b.Addr))
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()

	kcatOld := func(version string) []string {
		return []string{"-X", "api.version.request=false", "-X", "broker.version.fallback=" + version}
	}
	type client struct {
		name    string
		produce func(t *testing.T, topic, codec string, recs []string)
		consume func(t *testing.T, topic string, n int) []string
	}
	kcatClient := func(version string) client {
		return client{
			name: "kcat-" + version,
			produce: func(t *testing.T, topic, codec string, recs []string) {
				args := append([]string{"-b", b.Addr, "-P", "-t", topic, "-p", "0", "-K", "\t", "-z", codec, "-X", "acks=all"}, kcatOld(version)...)
				kcat(t, ctx, strings.Join(recs, "\n")+"\n", args...)
			},
			consume: func(t *testing.T, topic string, n int) []string {
				args := append([]string{"-b", b.Addr, "-C", "-t", topic, "-p", "0", "-o", "beginning", "-e", "-f", "%k\t%s\n"}, kcatOld(version)...)
				out := strings.TrimSuffix(kcat(t, ctx, "", args...), "\n")
				if out == "" {
					return nil
				}
				return strings.Split(out, "\n")
			},
		}
	}
	saramaConfig := func() *sarama.Config {
		cfg := sarama.NewConfig()
		cfg.Version = sarama.V0_10_2_0
		cfg.Producer.RequiredAcks = sarama.WaitForAll
		cfg.Producer.Return.Successes = true
		cfg.Producer.Partitioner = sarama.NewManualPartitioner
		return cfg
	}
	saramaClient := client{
		name: "sarama-0.10.2",
		produce: func(t *testing.T, topic, codec string, recs []string) {
			cfg := saramaConfig()
			cfg.Producer.Compression = map[string]sarama.CompressionCodec{"none": sarama.CompressionNone, "gzip": sarama.CompressionGZIP,
				"snappy": sarama.CompressionSnappy, "lz4": sarama.CompressionLZ4}[codec]
			p, err := sarama.NewSyncProducer([]string{b.Addr}, cfg)
			if err != nil {
				t.Fatal(err)
			}
			defer p.Close()
			var msgs []*sarama.ProducerMessage
			for _, r := range recs {
				k, v, _ := strings.Cut(r, "\t")
				msgs = append(msgs, &sarama.ProducerMessage{Topic: topic, Partition: 0, Key: sarama.StringEncoder(k), Value: sarama.StringEncoder(v)})
			}
			if err := p.SendMessages(msgs); err != nil {
				t.Fatalf("sarama send: %v", err)
			}
		},
		consume: func(t *testing.T, topic string, n int) []string {
			c, err := sarama.NewConsumer([]string{b.Addr}, saramaConfig())
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			pc, err := c.ConsumePartition(topic, 0, sarama.OffsetOldest)
			if err != nil {
				t.Fatal(err)
			}
			defer pc.Close()
			var out []string
			for len(out) < n {
				select {
				case m := <-pc.Messages():
					out = append(out, string(m.Key)+"\t"+string(m.Value))
				case err := <-pc.Errors():
					t.Fatalf("sarama consume after %d: %v", len(out), err)
				case <-ctx.Done():
					t.Fatalf("sarama consumed %d of %d", len(out), n)
				}
			}
			return out
		},
	}
	franzRead := func(t *testing.T, topic string, n int) []string {
		cl, err := kgo.NewClient(kgo.SeedBrokers(b.Addr), kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{topic: {0: kgo.NewOffset().AtStart()}}))
		if err != nil {
			t.Fatal(err)
		}
		defer cl.Close()
		var out []string
		for len(out) < n {
			fs := cl.PollFetches(ctx)
			if err := fs.Err0(); err != nil {
				t.Fatalf("franz-go poll after %d: %v", len(out), err)
			}
			fs.EachRecord(func(r *kgo.Record) { out = append(out, string(r.Key)+"\t"+string(r.Value)) })
		}
		return out
	}

	clients := []client{kcatClient("0.9.0"), kcatClient("0.10.0"), saramaClient}
	codecs := []string{"none", "gzip", "snappy", "lz4"}
	var topics []string
	for _, c := range clients {
		for _, codec := range codecs {
			topics = append(topics, "old-"+c.name+"-"+codec)
		}
		topics = append(topics, "new-to-"+c.name)
	}
	if _, err := kadm.NewClient(admin).CreateTopics(ctx, 1, 1, nil, topics...); err != nil {
		t.Fatal(err)
	}
	for _, c := range clients {
		for _, codec := range codecs {
			t.Run(c.name+"/"+codec, func(t *testing.T) {
				topic := "old-" + c.name + "-" + codec
				want := legacyRecords(c.name)
				c.produce(t, topic, codec, want)
				stored := storedCodecs(t, ctx, admin, topic)
				wantCodec := int16(slices.Index(codecs, codec))
				// librdkafka sends a batch uncompressed when compressing would not shrink it.
				if !slices.Contains(stored, wantCodec) || len(stored) > 2 || len(stored) == 2 && !slices.Contains(stored, 0) {
					t.Errorf("stored batches carry codecs %v, want %d", stored, wantCodec)
				}
				if got := franzRead(t, topic, len(want)); !slices.Equal(got, want) {
					t.Errorf("franz-go read %d records that differ from the %d produced", len(got), len(want))
				}
				if got := c.consume(t, topic, len(want)); !slices.Equal(got, want) {
					t.Errorf("%s read back %d records that differ from the %d it produced; first %.60q", c.name, len(got), len(want), got[:min(1, len(got))])
				}
			})
		}
		t.Run("zstd-with-headers-to-"+c.name, func(t *testing.T) {
			topic := "new-to-" + c.name
			cl, err := kgo.NewClient(kgo.SeedBrokers(b.Addr), kgo.ProducerBatchCompression(kgo.ZstdCompression()), kgo.DefaultProduceTopic(topic))
			if err != nil {
				t.Fatal(err)
			}
			defer cl.Close()
			var want []string
			for i := range 300 {
				r := &kgo.Record{Key: fmt.Appendf(nil, "k%d", i), Value: fmt.Appendf(nil, "value %d", i), Headers: []kgo.RecordHeader{{Key: "h", Value: []byte("x")}}}
				if err := cl.ProduceSync(ctx, r).FirstErr(); err != nil {
					t.Fatal(err)
				}
				want = append(want, fmt.Sprintf("k%d\tvalue %d", i, i))
			}
			if got := c.consume(t, topic, len(want)); !slices.Equal(got, want) {
				t.Errorf("%s read %d records that differ from the %d produced", c.name, len(got), len(want))
			}
		})
	}
}
