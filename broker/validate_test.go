package broker_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/starling-analytics/starling/broker/brokertest"
	"github.com/starling-analytics/starling/internal/recordbatch"
	"github.com/starling-analytics/starling/internal/recordbatch/batchtest"
)

// produceRaw sends one batch to partition 0 of topic with Produce v8 and returns the
// partition's error code and message.
func produceRaw(t testing.TB, w *wireConn, topic string, batch []byte) (int16, string) {
	t.Helper()
	return produceRawVersion(t, w, topic, batch, 8)
}

// produceRawVersion is produceRaw with the given Produce version.
func produceRawVersion(t testing.TB, w *wireConn, topic string, batch []byte, version int16) (int16, string) {
	t.Helper()
	req := kmsg.NewPtrProduceRequest()
	req.SetVersion(version)
	req.Acks = -1
	req.TimeoutMillis = 10000
	rt := kmsg.NewProduceRequestTopic()
	rt.Topic = topic
	rp := kmsg.NewProduceRequestTopicPartition()
	rp.Records = batch
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	resp := w.roundTrip(req, "raw").(*kmsg.ProduceResponse)
	p := resp.Topics[0].Partitions[0]
	msg := ""
	if p.ErrorMessage != nil {
		msg = *p.ErrorMessage
	}
	return p.ErrorCode, msg
}

// createTopic creates a one-partition topic.
func createTopic(t testing.TB, addr, topic string) {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	req := kmsg.NewPtrCreateTopicsRequest()
	rt := kmsg.NewCreateTopicsRequestTopic()
	rt.Topic, rt.NumPartitions, rt.ReplicationFactor = topic, 1, 1
	req.Topics = append(req.Topics, rt)
	resp, err := req.RequestWith(context.Background(), cl)
	if err != nil || resp.Topics[0].ErrorCode != 0 {
		t.Fatalf("create topic %s: %v %+v", topic, err, resp)
	}
}

// TestMalformedBatchesAreRefused produces, on one connection, batches that a CRC check alone
// lets through: each is answered with Kafka's error code for it and nothing is stored, and a
// good batch after them is read by kafka-go, franz-go and kcat.
func TestMalformedBatchesAreRefused(t *testing.T) {
	t.Parallel()
	b := brokertest.Start(t, nil)
	createTopic(t, b.Addr, "bad")
	w := dialWire(t, b.Addr)

	records := batchtest.Records("r", 3)
	cases := append(batchtest.AllDamaged(t),
		batchtest.Damaged{Name: "no records", Batch: batchtest.Batch(0, 0, -1, 0, nil), Code: kerr.CorruptMessage.Code},
		batchtest.Damaged{Name: "last offset delta disagrees", Batch: batchtest.Batch(0, 3, 5, 0, records), Code: kerr.InvalidRecord.Code},
		batchtest.Damaged{Name: "control batch", Batch: batchtest.Batch(0x20, 3, 2, 0, records), Code: kerr.InvalidRecord.Code},
	)
	for _, c := range cases {
		code, msg := produceRaw(t, w, "bad", c.Batch)
		if code != c.Code {
			t.Errorf("%s: error %d (%s), want %d", c.Name, code, msg, c.Code)
		} else if msg == "" {
			t.Errorf("%s: error %d without a message", c.Name, code)
		}
	}
	// A batch whose maxTimestamp is not its records' is stored with the right one.
	if code, msg := produceRaw(t, w, "bad", batchtest.Batch(0, 3, 2, 5, records)); code != 0 {
		t.Fatalf("batch with a wrong maxTimestamp: error %d (%s), want it stored", code, msg)
	}
	for codec := range int16(5) {
		if code, msg := produceRaw(t, w, "bad", batchtest.Good(t, codec, fmt.Sprintf("good%d", codec), 4)); code != 0 {
			t.Fatalf("good batch, codec %d: error %d (%s)", codec, code, msg)
		}
	}
	want := 3 + 5*4
	for client, n := range readToEnd(t, b.Addr, "bad") {
		if n != want {
			t.Errorf("%s read %d records, want %d", client, n, want)
		}
	}
	// The stored maxTimestamp is the records' own.
	cl, err := kgo.NewClient(kgo.SeedBrokers(b.Addr))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	fetch := kmsg.NewPtrFetchRequest()
	fetch.SetVersion(11)
	fetch.MaxBytes = 1 << 20
	ft := kmsg.NewFetchRequestTopic()
	ft.Topic = "bad"
	fp := kmsg.NewFetchRequestTopicPartition()
	fp.PartitionMaxBytes = 1 << 20
	ft.Partitions = append(ft.Partitions, fp)
	fetch.Topics = append(fetch.Topics, ft)
	fr, err := fetch.RequestWith(context.Background(), cl)
	if err != nil {
		t.Fatal(err)
	}
	var rb kmsg.RecordBatch
	if err := rb.ReadFrom(fr.Topics[0].Partitions[0].RecordBatches); err != nil {
		t.Fatal(err)
	}
	if rb.MaxTimestamp != 1700000000002 || uint32(rb.CRC) != recordbatch.Checksum(fr.Topics[0].Partitions[0].RecordBatches[:12+rb.Length]) {
		t.Errorf("stored batch has maxTimestamp %d and CRC %08x; want 1700000000002 and a CRC that matches", rb.MaxTimestamp, uint32(rb.CRC))
	}
}

// readToEnd reads partition 0 of topic from the start to its end with kafka-go, franz-go and
// kcat, and returns how many records each read.
func readToEnd(t *testing.T, addr, topic string) map[string]int {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	got := map[string]int{}

	conn, err := kafka.DialLeader(ctx, "tcp", addr, topic, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	end, err := conn.ReadLastOffset()
	if err != nil {
		t.Fatal(err)
	}
	r := kafka.NewReader(kafka.ReaderConfig{Brokers: []string{addr}, Topic: topic, Partition: 0, MaxWait: 100 * time.Millisecond})
	defer r.Close()
	for off := int64(0); off < end; {
		m, err := r.ReadMessage(ctx)
		if err != nil {
			t.Fatalf("kafka-go read at %d of %d: %v", off, end, err)
		}
		off = m.Offset + 1
		got["kafka-go"]++
	}

	cl, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{topic: {0: kgo.NewOffset().AtStart()}}))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	for off := int64(0); off < end; {
		fs := cl.PollFetches(ctx)
		if err := fs.Err(); err != nil {
			t.Fatalf("franz-go read at %d of %d: %v", off, end, err)
		}
		fs.EachRecord(func(r *kgo.Record) { off = r.Offset + 1; got["franz-go"]++ })
	}

	out := kcat(t, ctx, "", "-b", addr, "-C", "-t", topic, "-p", "0", "-o", "beginning", "-e", "-f", "%o\n")
	got["kcat"] = len(strings.Fields(out))
	return got
}

// TestMutatedBatchesConsumersReadToEnd produces valid batches of every codec with random
// damage (bytes flipped, counts and lengths changed) and their CRC recomputed, so that only
// record validation stands between them and the log: whatever the broker accepts, kafka-go,
// franz-go and kcat read to the end, and they read exactly the records of accepted batches.
func TestMutatedBatchesConsumersReadToEnd(t *testing.T) {
	t.Parallel()
	b := brokertest.Start(t, nil)
	createTopic(t, b.Addr, "mutated")
	w := dialWire(t, b.Addr)
	rng := rand.New(rand.NewPCG(13, 2))
	accepted, refused := 0, 0
	for i := range 600 {
		codec := int16(i % 5)
		n := 1 + rng.IntN(5)
		records := batchtest.Records(fmt.Sprintf("m%d", i), n)
		count, last := int32(n), int32(n-1)
		switch rng.IntN(4) {
		case 0: // damage the records before compression
			for range 1 + rng.IntN(3) {
				records[rng.IntN(len(records))] = byte(rng.Uint32())
			}
		case 1: // change the declared count
			count += int32(rng.IntN(3)) - 1
			last = count - 1
		case 2: // cut the records short or add bytes
			if rng.IntN(2) == 0 {
				records = records[:rng.IntN(len(records))]
			} else {
				records = append(records, byte(rng.Uint32()))
			}
		}
		body := batchtest.Compress(t, codec, records)
		if codec != 0 && rng.IntN(4) == 0 { // damage the compressed bytes
			body = bytes.Clone(body)
			body[rng.IntN(len(body))] ^= byte(1 + rng.IntN(255))
		}
		batch := batchtest.Batch(codec, count, last, batchtest.BaseTimestamp+int64(n-1), body)
		code, _ := produceRaw(t, w, "mutated", batch)
		switch code {
		case 0:
			accepted += int(count)
		case kerr.InvalidRecord.Code, kerr.CorruptMessage.Code:
			refused++
		default:
			t.Fatalf("batch %d: unexpected error %d", i, code)
		}
	}
	if refused == 0 || accepted == 0 {
		t.Fatalf("accepted %d records and refused %d batches: the mutations do not exercise both", accepted, refused)
	}
	for client, n := range readToEnd(t, b.Addr, "mutated") {
		if n != accepted {
			t.Errorf("%s read %d records, want the %d accepted", client, n, accepted)
		}
	}
}

// TestProduceVersionsCarryTheirFormat: Produce v0-2 carry message sets, which are checked
// and converted; v3 and later carry v2 batches only, as Kafka requires.
func TestProduceVersionsCarryTheirFormat(t *testing.T) {
	t.Parallel()
	b := brokertest.Start(t, nil)
	createTopic(t, b.Addr, "formats")
	w := dialWire(t, b.Addr)
	message := func(magic byte, value string) []byte {
		body := []byte{0, 0, 0, 0, magic, 0}
		if magic == 1 {
			body = binary.BigEndian.AppendUint64(body, 1700000000000)
		}
		body = binary.BigEndian.AppendUint32(body, ^uint32(0)) // null key
		body = binary.BigEndian.AppendUint32(body, uint32(len(value)))
		body = append(body, value...)
		binary.BigEndian.PutUint32(body, crc32.ChecksumIEEE(body[4:]))
		out := binary.BigEndian.AppendUint64(nil, 0)
		out = binary.BigEndian.AppendUint32(out, uint32(len(body)))
		return append(out, body...)
	}
	badCRC := message(1, "v")
	badCRC[len(badCRC)-1] ^= 1
	cases := []struct {
		name    string
		version int16
		records []byte
		code    int16
	}{
		{"magic 0 in v0", 0, message(0, "a"), 0},
		{"magic 1 in v2", 2, message(1, "b"), 0},
		{"bad crc in v2", 2, badCRC, kerr.CorruptMessage.Code},
		{"truncated in v1", 1, message(0, "c")[:20], kerr.CorruptMessage.Code},
		{"a v2 batch in v2", 2, batchtest.Good(t, 0, "x", 1), kerr.InvalidRecord.Code},
		{"a message set in v3", 3, message(1, "d"), kerr.InvalidRecord.Code},
	}
	stored := 0
	for _, c := range cases {
		code, msg := produceRawVersion(t, w, "formats", c.records, c.version)
		if code != c.code {
			t.Errorf("%s: error %d (%s), want %d", c.name, code, msg, c.code)
		}
		if code == 0 {
			stored++
		}
	}
	for client, n := range readToEnd(t, b.Addr, "formats") {
		if n != stored {
			t.Errorf("%s read %d records, want %d", client, n, stored)
		}
	}
}
