package broker_test

import (
	"context"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/starling-analytics/starling/broker/brokertest"
)

// TestAdminWithKadm drives topic administration with franz-go's admin client: create with
// configs, describe and alter configs (both APIs), grow partitions, describe the cluster,
// leader epochs, and delete a group.
func TestAdminWithKadm(t *testing.T) {
	t.Parallel()
	b := brokertest.Start(t, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cl, err := kgo.NewClient(kgo.SeedBrokers(b.Addr))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)

	week := "604800000"
	created, err := adm.CreateTopics(ctx, 2, 1, map[string]*string{"retention.bytes": kadm.StringPtr("1048576")}, "orders")
	if err != nil || created.Error() != nil {
		t.Fatalf("create: %v %v", err, created.Error())
	}
	if dup, _ := adm.CreateTopics(ctx, 2, 1, nil, "orders"); dup.Error() == nil {
		t.Error("creating an existing topic succeeded")
	}
	if bad, _ := adm.CreateTopics(ctx, 2, 3, nil, "replicated"); bad.Error() == nil {
		t.Error("replication factor 3 on one broker succeeded")
	}

	value := func(name string) (string, bool) {
		t.Helper()
		rcs, err := adm.DescribeTopicConfigs(ctx, "orders")
		if err != nil {
			t.Fatal(err)
		}
		rc, err := rcs.On("orders", nil)
		if err != nil || rc.Err != nil {
			t.Fatalf("describe: %v %v", err, rc.Err)
		}
		for _, c := range rc.Configs {
			if c.Key == name {
				return c.MaybeValue(), c.Source == 1 // DYNAMIC_TOPIC_CONFIG
			}
		}
		t.Fatalf("config %s not described", name)
		return "", false
	}
	if v, explicit := value("retention.bytes"); v != "1048576" || !explicit {
		t.Errorf("retention.bytes = %s (explicit %v), want 1048576 set on the topic", v, explicit)
	}
	if v, explicit := value("retention.ms"); v != week || explicit {
		t.Errorf("retention.ms = %s (explicit %v), want the default %s", v, explicit, week)
	}

	resps, err := adm.AlterTopicConfigs(ctx, []kadm.AlterConfig{{Name: "retention.ms", Value: kadm.StringPtr("3600000")}}, "orders")
	if err != nil || resps[0].Err != nil {
		t.Fatalf("incremental alter: %v %v", err, resps)
	}
	if v, _ := value("retention.ms"); v != "3600000" {
		t.Errorf("retention.ms after incremental alter = %s", v)
	}
	if v, _ := value("retention.bytes"); v != "1048576" {
		t.Errorf("incremental alter lost retention.bytes: %s", v)
	}
	// The non-incremental API replaces every explicit config.
	resps, err = adm.AlterTopicConfigsState(ctx, []kadm.AlterConfig{{Name: "retention.ms", Value: kadm.StringPtr("7200000")}}, "orders")
	if err != nil || resps[0].Err != nil {
		t.Fatalf("alter: %v %v", err, resps)
	}
	if v, _ := value("retention.ms"); v != "7200000" {
		t.Errorf("retention.ms after alter = %s", v)
	}
	if v, explicit := value("retention.bytes"); v != "-1" || explicit {
		t.Errorf("retention.bytes after replacing alter = %s (explicit %v), want the default -1", v, explicit)
	}
	if resps, _ := adm.AlterTopicConfigs(ctx, []kadm.AlterConfig{{Name: "no.such.config", Value: kadm.StringPtr("1")}}, "orders"); resps[0].Err == nil {
		t.Error("an unknown config was accepted")
	}

	if _, err := adm.CreatePartitions(ctx, 3, "orders"); err != nil {
		t.Fatalf("create partitions: %v", err)
	}
	md, err := adm.Metadata(ctx, "orders")
	if err != nil {
		t.Fatal(err)
	}
	if n := len(md.Topics["orders"].Partitions); n != 5 {
		t.Errorf("orders has %d partitions after adding 3 to 2, want 5", n)
	}
	if len(md.Brokers) != 1 || md.Cluster != "starling" {
		t.Errorf("metadata brokers %v cluster %q", md.Brokers, md.Cluster)
	}

	// Produce one record, then ask where leader epoch 0 ends in every partition.
	if err := cl.ProduceSync(ctx, &kgo.Record{Topic: "orders", Value: []byte("x")}).FirstErr(); err != nil {
		t.Fatal(err)
	}
	epochs, err := adm.OffsetForLeaderEpoch(ctx, map[string]map[int32]int32{"orders": {0: 0, 1: 0, 2: 0, 3: 0, 4: 0}})
	if err != nil {
		t.Fatal(err)
	}
	var ends int64
	for _, o := range epochs["orders"] {
		if o.Err != nil || o.LeaderEpoch != 0 {
			t.Errorf("leader epoch of orders/%d = %+v", o.Partition, o)
		}
		ends += o.EndOffset
	}
	if ends != 1 || len(epochs["orders"]) != 5 {
		t.Errorf("leader epoch 0 ends sum to %d over %d partitions, want 1 over 5", ends, len(epochs["orders"]))
	}

	// The log directory: every partition's size on disk, the volume's space.
	dirs, err := adm.DescribeAllLogDirs(ctx, nil)
	if err != nil {
		t.Fatalf("describe log dirs: %v", err)
	}
	var ordersBytes int64
	parts := 0
	dirs.Each(func(d kadm.DescribedLogDir) {
		if d.Err != nil || d.Dir == "" || d.TotalBytes <= 0 || d.UsableBytes <= 0 || d.UsableBytes > d.TotalBytes {
			t.Errorf("log dir %+v", d)
		}
		d.Topics.Each(func(p kadm.DescribedLogDirPartition) {
			if p.Topic == "orders" {
				ordersBytes += p.Size
				parts++
			}
		})
	})
	if parts != 5 || ordersBytes <= 0 {
		t.Errorf("orders in the log dir: %d partitions, %d bytes; want 5 and the record's batch", parts, ordersBytes)
	}
	one, err := adm.DescribeAllLogDirs(ctx, kadm.TopicsSet{"orders": {0: {}}})
	if err != nil {
		t.Fatalf("describe log dirs of a partition: %v", err)
	}
	parts = 0
	one.Each(func(d kadm.DescribedLogDir) { d.Topics.Each(func(kadm.DescribedLogDirPartition) { parts++ }) })
	if parts != 1 {
		t.Errorf("log dirs of orders/0: %d partitions, want 1", parts)
	}

	// Commit as an empty group, then delete it.
	offsets := kadm.Offsets{}
	offsets.AddOffset("orders", 0, 1, -1)
	if _, err := adm.CommitOffsets(ctx, "audit", offsets); err != nil {
		t.Fatalf("commit: %v", err)
	}
	// Offsets and no members: Empty, as Kafka describes such a group.
	if described, err := adm.DescribeGroups(ctx, "audit"); err != nil || described["audit"].State != "Empty" {
		t.Errorf("describe group audit: %v %+v", err, described["audit"])
	}
	if fetched, err := adm.FetchOffsets(ctx, "audit"); err != nil || fetched["orders"][0].At != 1 {
		t.Fatalf("fetch offsets: %v %+v", err, fetched)
	}
	deleted, err := adm.DeleteGroups(ctx, "audit")
	if err != nil || deleted["audit"].Err != nil {
		t.Fatalf("delete group: %v %+v", err, deleted)
	}
	if fetched, _ := adm.FetchOffsets(ctx, "audit"); len(fetched["orders"]) != 0 && fetched["orders"][0].At != -1 {
		t.Errorf("offsets survive the group's deletion: %+v", fetched)
	}
}
