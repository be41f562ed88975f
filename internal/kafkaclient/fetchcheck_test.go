package kafkaclient

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/starling-analytics/starling/broker/brokertest"
	"github.com/starling-analytics/starling/internal/recordbatch"
	"github.com/starling-analytics/starling/internal/recordbatch/batchtest"
)

// TestCheckBatchesKeepsSoundBatches: what a log may rightly hold passes unchanged, the
// same bytes, whatever the codec: control batches, compacted batches with gaps in their
// offsets or no records left, batches in the older message formats.
func TestCheckBatchesKeepsSoundBatches(t *testing.T) {
	t.Parallel()
	var log []byte
	for codec := range int16(5) {
		log = append(log, batchtest.Good(t, codec, fmt.Sprint("c", codec), 5)...)
	}
	control := batchtest.Batch(recordbatch.AttrControl|recordbatch.AttrTransactional, 1, 0, 0,
		batchtest.Record(0, 0, []byte{0, 0, 0, 1}, []byte{0, 0, 0, 0, 0, 0}))
	compacted := batchtest.Batch(0, 2, 9, 0, append(batchtest.Record(0, 0, []byte("a"), nil), batchtest.Record(7, 0, []byte("b"), []byte("x"))...))
	compactedLZ4 := batchtest.Batch(recordbatch.CodecLZ4, 2, 9, 0, batchtest.Compress(t, recordbatch.CodecLZ4,
		append(batchtest.Record(3, 0, []byte("a"), nil), batchtest.Record(9, 0, []byte("b"), []byte("x"))...)))
	emptied := batchtest.Batch(0, 0, 4, 0, nil)
	log = append(log, control...)
	log = append(log, compacted...)
	log = append(log, compactedLZ4...)
	log = append(log, emptied...)
	if out, ok := checkBatches(log, 1<<20); !ok {
		t.Fatalf("sound batches were changed: %d bytes → %d", len(log), len(out))
	}
	// A message set v1 (magic 1) after them is the client's to read.
	v1 := make([]byte, 40)
	binary.BigEndian.PutUint32(v1[8:], 28)
	v1[16] = 1
	if _, ok := checkBatches(append(append([]byte(nil), log...), v1...), 1<<20); !ok {
		t.Fatal("a message set of the older format was changed")
	}
}

// TestCheckBatchesQuarantinesDamage: each damaged batch becomes one quarantine record at
// its last offset that says why, the sound batches around it are kept byte for byte, and
// a partial batch at the end is left out.
func TestCheckBatchesQuarantinesDamage(t *testing.T) {
	t.Parallel()
	badCRC := batchtest.Good(t, recordbatch.CodecNone, "crc", 3)
	badCRC[len(badCRC)-1] ^= 0xff
	damaged := append(batchtest.AllDamaged(t), batchtest.Damaged{Name: "bad crc", Batch: badCRC})
	for _, d := range damaged {
		t.Run(d.Name, func(t *testing.T) {
			t.Parallel()
			before := batchtest.Good(t, recordbatch.CodecLZ4, "before", 3)
			after := batchtest.Good(t, recordbatch.CodecNone, "after", 2)
			bad := bytes.Clone(d.Batch)
			batchtest.SetBaseOffset(bad, 3)
			batchtest.SetBaseOffset(after, 4+int64(binary.BigEndian.Uint32(bad[recordbatch.OffLastOffsetDelta:])))
			partial := batchtest.Good(t, recordbatch.CodecNone, "partial", 4)
			data := append(append(append(bytes.Clone(before), bad...), after...), partial[:len(partial)-3]...)
			out, ok := checkBatches(data, 32<<20)
			if ok {
				t.Fatal("damaged batch passed")
			}
			hs, err := recordbatch.Split(out)
			if err != nil || len(hs) != 3 {
				t.Fatalf("checked batches: %d, %v; want before, quarantine, after", len(hs), err)
			}
			if !bytes.Equal(out[:len(before)], before) || !bytes.HasSuffix(out, after) {
				t.Fatal("the sound batches around the damaged one changed")
			}
			q := hs[1]
			last := 3 + int64(binary.BigEndian.Uint32(bad[recordbatch.OffLastOffsetDelta:]))
			if q.BaseOffset != 3 || q.LastOffset() != last || q.RecordCount != 1 {
				t.Fatalf("quarantine batch covers %d-%d with %d records; want 3-%d with 1", q.BaseOffset, q.LastOffset(), q.RecordCount, last)
			}
			var rb kmsg.RecordBatch
			if err := rb.ReadFrom(out[len(before) : len(before)+hs[1].Size()]); err != nil {
				t.Fatal(err)
			}
			var rec kmsg.Record
			if err := rec.ReadFrom(rb.Records); err != nil {
				t.Fatal(err)
			}
			if int64(rec.OffsetDelta) != last-3 || len(rec.Headers) != 1 || rec.Headers[0].Key != QuarantineHeader ||
				!strings.HasPrefix(string(rec.Headers[0].Value), fmt.Sprintf("unreadable record batch at offsets 3-%d", last)) {
				t.Fatalf("quarantine record: offset delta %d, headers %q", rec.OffsetDelta, rec.Headers)
			}
			if n := min(len(bad), quarantineValueMax); !bytes.Equal(rec.Value, bad[:n]) {
				t.Fatalf("quarantine value is not the damaged batch's first %d bytes", n)
			}
		})
	}
}

// TestKafkaGoReadsPastDamagedBatches writes damaged batches straight into a partition's log
// between sound ones and reads the partition with kafka-go through ConsumerDialer: every
// sound record arrives in order, each damaged batch as one quarantine record, and the
// reader reaches the end of the log.
func TestKafkaGoReadsPastDamagedBatches(t *testing.T) {
	t.Parallel()
	b := brokertest.Start(t, nil)
	if err := b.CreateTopic("t", 1, nil); err != nil {
		t.Fatal(err)
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(b.Addr), kgo.DefaultProduceTopic("t"), kgo.ProducerBatchCompression(kgo.Lz4Compression()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	produced := 0
	produceSome := func() {
		for i := range 50 {
			if err := cl.ProduceSync(ctx, &kgo.Record{Value: fmt.Appendf(nil, "good-%d-%d", produced, i)}).FirstErr(); err != nil {
				t.Fatal(err)
			}
		}
		produced++
	}
	produceSome()
	damaged := batchtest.AllDamaged(t)
	var batches [][]byte
	for _, d := range damaged {
		batches = append(batches, d.Batch)
	}
	b.WriteToLog(t, "t", 0, batches...)
	produceSome()

	d, err := Config{}.ConsumerDialer(32 << 20)
	if err != nil {
		t.Fatal(err)
	}
	conn, err := kafka.DialLeader(ctx, "tcp", b.Addr, "t", 0)
	if err != nil {
		t.Fatal(err)
	}
	end, err := conn.ReadLastOffset()
	conn.Close()
	if err != nil {
		t.Fatal(err)
	}
	r := kafka.NewReader(kafka.ReaderConfig{Brokers: []string{b.Addr}, Topic: "t", Dialer: d, MaxWait: 100 * time.Millisecond})
	defer r.Close()
	var good, quarantined int
	for off := int64(0); off < end; {
		m, err := r.ReadMessage(ctx)
		if err != nil {
			t.Fatalf("read at %d of %d: %v", off, end, err)
		}
		if why := Quarantined(m.Headers); why != "" {
			quarantined++
		} else if !strings.HasPrefix(string(m.Value), "good-") {
			t.Fatalf("offset %d: unexpected record %q", m.Offset, m.Value)
		} else {
			good++
		}
		off = m.Offset + 1
	}
	if good != 100 || quarantined != len(damaged) {
		t.Fatalf("read %d sound records and %d quarantined; want 100 and %d", good, quarantined, len(damaged))
	}
}

// BenchmarkCheckFetch checks a Fetch response of 8 MiB of LZ4 batches of tweet-sized
// records, as the ETL's readers receive them: the cost the check adds to every record.
func BenchmarkCheckFetch(b *testing.B) {
	var data []byte
	records := 0
	value := bytes.Repeat([]byte(`{"schema":1,"id":"1234567890123456789","text":"a tweet of ordinary length #tag"}`), 8)
	for base := int64(0); len(data) < 8<<20; {
		var recs []byte
		for i := range 1000 {
			recs = append(recs, batchtest.Record(int32(i), int64(i), []byte("1234567890123456789"), value)...)
		}
		batch := batchtest.Batch(recordbatch.CodecLZ4, 1000, 999, batchtest.BaseTimestamp+999, batchtest.Compress(b, recordbatch.CodecLZ4, recs))
		batchtest.SetBaseOffset(batch, base)
		data = append(data, batch...)
		base += 1000
		records += 1000
	}
	resp := kmsg.NewPtrFetchResponse()
	resp.SetVersion(10)
	st := kmsg.NewFetchResponseTopic()
	st.Topic = "tweets"
	sp := kmsg.NewFetchResponseTopicPartition()
	sp.RecordBatches = data
	st.Partitions = append(st.Partitions, sp)
	resp.Topics = append(resp.Topics, st)
	frame := resp.AppendTo(make([]byte, 8))
	binary.BigEndian.PutUint32(frame, uint32(len(frame)-4))
	c := CheckFetches(nil, 32<<20).(*fetchChecker)
	b.SetBytes(int64(len(frame)))
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		if out := c.check(10, frame); len(out) != len(frame) {
			b.Fatal("sound response changed")
		}
	}
	b.ReportMetric(float64(records)*float64(b.N)/b.Elapsed().Seconds(), "records/s")
}
