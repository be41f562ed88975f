package broker_test

import (
	"bytes"
	"context"
	"errors"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/starling-analytics/starling/broker/brokertest"
)

// TestMaxMessageBytes refuses a batch larger than the topic's max.message.bytes with
// MESSAGE_TOO_LARGE, keeps the log intact, and accepts it once the config is raised.
func TestMaxMessageBytes(t *testing.T) {
	t.Parallel()
	b := brokertest.Start(t, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cl, err := kgo.NewClient(kgo.SeedBrokers(b.Addr), kgo.ProducerBatchMaxBytes(8<<20), kgo.BrokerMaxWriteBytes(16<<20),
		kgo.RecordRetries(1), kgo.ProducerBatchCompression(kgo.NoCompression()), kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{"big": {0: kgo.NewOffset().AtStart()}}),
		kgo.FetchMaxBytes(16<<20), kgo.FetchMaxPartitionBytes(16<<20))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	if _, err := adm.CreateTopic(ctx, 1, 1, nil, "big"); err != nil {
		t.Fatal(err)
	}
	small := &kgo.Record{Topic: "big", Value: []byte("small")}
	if err := cl.ProduceSync(ctx, small).FirstErr(); err != nil {
		t.Fatal(err)
	}
	large := bytes.Repeat([]byte{'x'}, 2<<20)
	err = cl.ProduceSync(ctx, &kgo.Record{Topic: "big", Value: large}).FirstErr()
	if !errors.Is(err, kerr.MessageTooLarge) {
		t.Fatalf("2 MiB record: err = %v, want MESSAGE_TOO_LARGE", err)
	}

	rs, err := adm.AlterTopicConfigs(ctx, []kadm.AlterConfig{{Op: kadm.SetConfig, Name: "max.message.bytes", Value: kadm.StringPtr("4194304")}}, "big")
	if err == nil {
		_, err = rs.On("big", nil)
	}
	if err != nil {
		t.Fatalf("alter max.message.bytes: %v", err)
	}
	described, err := adm.DescribeTopicConfigs(ctx, "big")
	if err != nil {
		t.Fatal(err)
	}
	rc, err := described.On("big", nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range rc.Configs {
		if c.Key == "max.message.bytes" && (c.Value == nil || *c.Value != "4194304") {
			t.Fatalf("described max.message.bytes = %v", c.MaybeValue())
		}
	}
	if err := cl.ProduceSync(ctx, &kgo.Record{Topic: "big", Value: large}).FirstErr(); err != nil {
		t.Fatalf("2 MiB record under a 4 MiB limit: %v", err)
	}

	var got [][]byte
	for len(got) < 2 {
		fs := cl.PollFetches(ctx)
		if err := fs.Err0(); err != nil {
			t.Fatal(err)
		}
		fs.EachRecord(func(r *kgo.Record) { got = append(got, r.Value) })
	}
	if string(got[0]) != "small" || !bytes.Equal(got[1], large) || got[1] == nil {
		t.Fatalf("log holds %d records, first %q", len(got), got[0])
	}
}
