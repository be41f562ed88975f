package broker_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"io"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/snappy"
	"github.com/klauspost/compress/zstd"
	"github.com/pierrec/lz4/v4"
	"github.com/segmentio/kafka-go"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/starling-analytics/starling/broker/brokertest"
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// encodeRecords encodes n records with keys and values "<prefix>-<i>", timestamps base+i.
func encodeRecords(prefix string, n int) []byte {
	var out []byte
	for i := range n {
		r := kmsg.NewRecord()
		r.TimestampDelta64 = int64(i)
		r.OffsetDelta = int32(i)
		r.Key = fmt.Appendf(nil, "%s-%d", prefix, i)
		r.Value = r.Key
		body := r.AppendTo(nil) // Length 0 is encoded first: replace it
		body = body[1:]
		out = binary.AppendVarint(out, int64(len(body)))
		out = append(out, body...)
	}
	return out
}

// compress compresses records with a Kafka codec (1 gzip, 2 snappy, 3 lz4, 4 zstd).
func compress(t testing.TB, codec int16, records []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	var w io.WriteCloser
	switch codec {
	case 0:
		return records
	case 1:
		w = gzip.NewWriter(&buf)
	case 2:
		return snappy.Encode(nil, records)
	case 3:
		w = lz4.NewWriter(&buf)
	case 4:
		zw, err := zstd.NewWriter(&buf)
		if err != nil {
			t.Fatal(err)
		}
		w = zw
	}
	if _, err := w.Write(records); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// rawBatch frames records (already compressed as attrs says) as a v2 batch with the given
// record count and last offset delta, and a correct length and CRC.
func rawBatch(attrs int16, count, lastDelta int32, maxTS int64, records []byte) []byte {
	rb := kmsg.NewRecordBatch()
	rb.Magic = 2
	rb.Attributes = attrs
	rb.LastOffsetDelta = lastDelta
	rb.FirstTimestamp = 1700000000000
	rb.MaxTimestamp = maxTS
	rb.ProducerID = -1
	rb.ProducerEpoch = -1
	rb.FirstSequence = -1
	rb.NumRecords = count
	rb.Records = records
	b := rb.AppendTo(nil)
	return fixBatch(b)
}

// fixBatch recomputes a batch's length and CRC after its bytes were changed.
func fixBatch(b []byte) []byte {
	binary.BigEndian.PutUint32(b[8:], uint32(len(b)-12))
	binary.BigEndian.PutUint32(b[17:], crc32.Checksum(b[21:], castagnoli))
	return b
}

// goodBatch is a valid batch of n records.
func goodBatch(t testing.TB, codec int16, prefix string, n int) []byte {
	return rawBatch(codec, int32(n), int32(n-1), 1700000000000+int64(n-1), compress(t, codec, encodeRecords(prefix, n)))
}

// produceRaw sends one batch to partition 0 of topic with Produce v8 and returns the
// partition's error code and message.
func produceRaw(t testing.TB, w *wireConn, topic string, batch []byte) (int16, string) {
	t.Helper()
	req := kmsg.NewPtrProduceRequest()
	req.SetVersion(8)
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

	records := encodeRecords("r", 3)
	// A record declaring a huge header count (kafka-go allocates what a record declares).
	hugeHeaders := func() []byte {
		r := kmsg.NewRecord()
		r.Value = []byte("v")
		body := r.AppendTo(nil)[1:]
		body = append(body[:len(body)-1], binary.AppendVarint(nil, 1<<40)...) // header count
		return append(binary.AppendVarint(nil, int64(len(body))), body...)
	}()
	random := make([]byte, 4096)
	for i := range random {
		random[i] = byte(rand.Uint32())
	}
	// A gzip bomb: one record whose value is 200 MiB of zeros, in 200 KB.
	bomb := func() []byte {
		r := kmsg.NewRecord()
		r.Value = make([]byte, 200<<20)
		body := r.AppendTo(nil)[1:]
		return compress(t, 1, append(binary.AppendVarint(nil, int64(len(body))), body...))
	}()

	cases := []struct {
		name  string
		batch []byte
		code  int16
	}{
		{"count 2^31-1, no records", rawBatch(0, 1<<31-1, 1<<31-2, 0, nil), kerr.InvalidRecord.Code},
		{"count 1,000,000, no records", rawBatch(0, 1000000, 999999, 0, nil), kerr.InvalidRecord.Code},
		{"count larger than records", rawBatch(0, 4, 3, 0, records), kerr.InvalidRecord.Code},
		{"count smaller than records", rawBatch(0, 2, 1, 0, records), kerr.InvalidRecord.Code},
		{"no records", rawBatch(0, 0, -1, 0, nil), kerr.CorruptMessage.Code},
		{"last offset delta disagrees", rawBatch(0, 3, 5, 0, records), kerr.InvalidRecord.Code},
		{"impossible record length", rawBatch(0, 1, 0, 0, append(binary.AppendVarint(nil, 1<<40), records...)), kerr.InvalidRecord.Code},
		{"negative record length", rawBatch(0, 1, 0, 0, append(binary.AppendVarint(nil, -5), records...)), kerr.InvalidRecord.Code},
		{"huge header count", rawBatch(0, 1, 0, 0, hugeHeaders), kerr.InvalidRecord.Code},
		{"offset deltas out of order", rawBatch(0, 3, 2, 0, append(encodeRecords("a", 1), encodeRecords("b", 2)...)), kerr.InvalidRecord.Code},
		{"random bytes as gzip", rawBatch(1, 3, 2, 0, random), kerr.CorruptMessage.Code},
		{"random bytes as snappy", rawBatch(2, 3, 2, 0, random), kerr.CorruptMessage.Code},
		{"random bytes as lz4", rawBatch(3, 3, 2, 0, random), kerr.CorruptMessage.Code},
		{"random bytes as zstd", rawBatch(4, 3, 2, 0, random), kerr.CorruptMessage.Code},
		{"codec 7", rawBatch(7, 3, 2, 0, records), kerr.UnsupportedCompressionType.Code},
		{"codec 5", rawBatch(5, 3, 2, 0, records), kerr.UnsupportedCompressionType.Code},
		{"gzip bomb", rawBatch(1, 1, 0, 0, bomb), kerr.CorruptMessage.Code},
		{"truncated gzip", rawBatch(1, 3, 2, 0, compress(t, 1, records)[:30]), kerr.CorruptMessage.Code},
		{"gzip with a trailing record", rawBatch(1, 2, 1, 0, compress(t, 1, records)), kerr.InvalidRecord.Code},
		{"control batch", rawBatch(0x20, 3, 2, 0, records), kerr.InvalidRecord.Code},
	}
	for _, c := range cases {
		code, msg := produceRaw(t, w, "bad", c.batch)
		if code != c.code {
			t.Errorf("%s: error %d (%s), want %d", c.name, code, msg, c.code)
		} else if msg == "" {
			t.Errorf("%s: error %d without a message", c.name, code)
		}
	}
	// A batch whose maxTimestamp is not its records' is stored with the right one.
	if code, msg := produceRaw(t, w, "bad", rawBatch(0, 3, 2, 5, records)); code != 0 {
		t.Fatalf("batch with a wrong maxTimestamp: error %d (%s), want it stored", code, msg)
	}
	for codec := range int16(5) {
		if code, msg := produceRaw(t, w, "bad", goodBatch(t, codec, fmt.Sprintf("good%d", codec), 4)); code != 0 {
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
	if rb.MaxTimestamp != 1700000000002 || uint32(rb.CRC) != crc32.Checksum(fr.Topics[0].Partitions[0].RecordBatches[21:12+rb.Length], castagnoli) {
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
		records := encodeRecords(fmt.Sprintf("m%d", i), n)
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
		body := compress(t, codec, records)
		if codec != 0 && rng.IntN(4) == 0 { // damage the compressed bytes
			body = bytes.Clone(body)
			body[rng.IntN(len(body))] ^= byte(1 + rng.IntN(255))
		}
		batch := rawBatch(codec, count, last, 1700000000000+int64(n-1), body)
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
