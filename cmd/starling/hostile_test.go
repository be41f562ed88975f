package main

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/starling-analytics/starling/internal/tweet"
	"github.com/starling-analytics/starling/warehouse"
)

// TestHostileInputThroughEveryEntryPoint sends a corpus of hostile input through each way
// into the pipeline (the broker's port, the ingester's files, records written straight to
// topic tweets by another producer) while it runs: every piece is refused or dead-lettered
// with a reason, nothing stops, and the good tweets sent after it are all loaded.
func TestHostileInputThroughEveryEntryPoint(t *testing.T) {
	s := testStack(t)
	m := newModel()
	etl, err := s.StartETL("etl")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()

	// 1. The broker's port: frames of random bytes, a frame that lies about its length, a
	// frame claiming 2 GiB, a valid header with a garbage body, a request for an API
	// version no broker has.
	rng := rand.New(rand.NewPCG(7, 8))
	frames := [][]byte{
		frame(randomBytes(rng, 64)),
		append(binary.BigEndian.AppendUint32(nil, 1000), randomBytes(rng, 10)...),
		binary.BigEndian.AppendUint32(nil, 1<<31),
		frame(append(requestHeader(3, 12, 1), randomBytes(rng, 40)...)),
		frame(requestHeader(18, 999, 2)),
		frame(append(requestHeader(0, 9, 3), bytes.Repeat([]byte{0xff}, 300)...)), // Produce with a garbage body
	}
	for i, f := range frames {
		c, err := net.DialTimeout("tcp", s.BrokerAddr, 5*time.Second)
		if err != nil {
			t.Fatalf("frame %d: %v", i, err)
		}
		c.SetDeadline(time.Now().Add(5 * time.Second))
		c.Write(f)
		var buf [512]byte
		c.Read(buf[:]) // an error answer, or the broker closing the connection
		c.Close()
		// The broker still serves everyone else.
		client := &kafka.Client{Addr: kafka.TCP(s.BrokerAddr), Timeout: 10 * time.Second}
		if _, err := client.Metadata(ctx, &kafka.MetadataRequest{}); err != nil {
			t.Fatalf("after hostile frame %d the broker does not answer: %v", i, err)
		}
	}

	// 2. The ingester's input: invalid UTF-8, deeply nested and huge JSON, truncated and
	// binary lines, control characters, a tweet whose text is markup (a good tweet: it is
	// loaded, as text), then good tweets.
	var bad bytes.Buffer
	markup := `{"id_str":"1999000000000000001","created_at":"Sat Mar 14 10:00:00 +0000 2026","text":"<script>alert(1)</script> <img src=x onerror=alert(2)> \u0007\u001b[31m #xss","entities":{"hashtags":[{"text":"xss"}]},"user":{"id_str":"9","screen_name":"<b>evil</b>"},"lang":"en"}`
	for _, line := range [][]byte{
		[]byte("{\"id_str\":\"5\",\"text\":\"\xff\xfe\xfd\",\"created_at\":\"Sat Mar 14 10:00:00 +0000 2026\"}"),
		append(append(bytes.Repeat([]byte(`{"a":`), 100000), '1'), bytes.Repeat([]byte("}"), 100000)...),
		append(append([]byte(`{"id_str":"6","created_at":"Sat Mar 14 10:00:00 +0000 2026","text":"`), bytes.Repeat([]byte("x"), 5<<20)...), `"}`...),
		[]byte(`{"id_str":"7","created_at":"Sat Mar 14 10:0`),
		randomBytes(rng, 300),
		[]byte("\x00\x01\x02{}\x1b"),
		[]byte(markup),
	} {
		bad.Write(bytes.ReplaceAll(line, []byte("\n"), []byte(" ")))
		bad.WriteByte('\n')
	}
	hostileFile := filepath.Join(s.Dir(), "hostile.jsonl")
	if err := os.WriteFile(hostileFile, bad.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	in, err := s.StartIngest("ingest-hostile", "--input", hostileFile, "--speed", "0")
	if err != nil {
		t.Fatal(err)
	}
	waitIngest(t, in, time.Minute)
	m.addLine(t, etlScorer(t), []byte(markup)) // the markup tweet is a tweet
	log, _ := os.ReadFile(filepath.Join(s.Dir(), "ingest-hostile.log"))
	for _, want := range []string{"line too long", "invalid json", `"ingest finished"`} {
		if !bytes.Contains(log, []byte(want)) {
			t.Errorf("the ingester's log does not report %q:\n%s", want, log)
		}
	}

	// 3. Records written straight to the topic by another producer: not JSON, invalid
	// UTF-8, nested deeper than any tweet, wrong types, empty, and one larger than the
	// broker takes (the producer is told).
	w := &kafka.Writer{Addr: kafka.TCP(s.BrokerAddr), Topic: tweet.TopicTweets, RequiredAcks: kafka.RequireAll, BatchTimeout: time.Millisecond,
		AllowAutoTopicCreation: true, BatchBytes: 8 << 20}
	defer w.Close()
	direct := []kafka.Message{
		{Key: []byte("a"), Value: []byte("not json at all")},
		{Key: []byte("b"), Value: []byte("{\"schema\":2,\"id\":\"8\",\"created_at\":\"2026-03-14T10:00:00Z\",\"text\":\"\xc3\x28\"}")},
		{Key: []byte("c"), Value: append(append([]byte(`{"schema":2,"id":"9","created_at":"2026-03-14T10:00:00Z","user":`), bytes.Repeat([]byte(`{"x":`), 20000)...), bytes.Repeat([]byte("}"), 20001)...)},
		{Key: []byte("d"), Value: []byte(`{"schema":"two","id":10,"created_at":5}`)},
		{Key: []byte("e"), Value: nil},
	}
	if err := w.WriteMessages(ctx, direct...); err != nil {
		t.Fatal(err)
	}
	huge := kafka.Message{Key: []byte("f"), Value: bytes.Repeat([]byte("y"), 3<<20)}
	var tooLarge kafka.Error
	if err := w.WriteMessages(ctx, huge); !errors.As(err, &tooLarge) && !strings.Contains(strings.ToLower(errString(err)), "too large") {
		t.Errorf("a 3 MiB record was taken (%v); want MESSAGE_TOO_LARGE", err)
	}

	// 4. Good tweets after all that: they load, and the pipeline is whole.
	feed := m.writeFeed(t, s.Dir(), 21, 5000)
	good, err := s.StartIngest("ingest", "--input", feed, "--speed", "0")
	if err != nil {
		t.Fatal(err)
	}
	waitIngest(t, good, time.Minute)
	checkWarehouse(t, s, m, 2*time.Minute)
	if done, err := etl.Exited(); done {
		t.Fatalf("the ETL exited: %v", err)
	}
	if done, err := s.Broker().Exited(); done {
		t.Fatalf("the broker exited: %v", err)
	}

	// Each refused record is in the dead-letter topic with its reason.
	r := kafka.NewReader(kafka.ReaderConfig{Brokers: []string{s.BrokerAddr}, Topic: tweet.TopicDLQ, GroupID: "check", StartOffset: kafka.FirstOffset,
		MaxWait: 100 * time.Millisecond, CommitInterval: time.Second, MaxBytes: 16 << 20})
	defer r.Close()
	var reasons []string
	want := len(direct) + 5 // the ingester's bad lines, but for the one too long to keep
	for len(reasons) < want {
		rctx, rcancel := context.WithTimeout(ctx, time.Minute)
		msg, err := r.ReadMessage(rctx)
		rcancel()
		if err != nil {
			t.Fatalf("the dead-letter topic holds %d records, want %d: %v (%q)", len(reasons), want, err, reasons)
		}
		var why string
		for _, h := range msg.Headers {
			if h.Key == tweet.HeaderReason {
				why = string(h.Value)
			}
		}
		if why == "" {
			t.Errorf("dead letter at offset %d has no reason", msg.Offset)
		}
		reasons = append(reasons, why)
	}
	t.Logf("dead-lettered with reasons: %q", reasons)
	db, err := warehouse.Open(ctx, s.Warehouse)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var text, user string
	if err := db.Conn().QueryRow(ctx, "SELECT text, user_screen_name FROM tweets WHERE id = 1999000000000000001").Scan(&text, &user); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(text, "<script>alert(1)</script>") || user != "<b>evil</b>" {
		t.Errorf("the markup tweet was stored as %q by %q, want its text as it was", text, user)
	}
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// frame prefixes a Kafka request with its length.
func frame(b []byte) []byte {
	return append(binary.BigEndian.AppendUint32(nil, uint32(len(b))), b...)
}

// requestHeader is a v1 Kafka request header: api key, version, correlation id, client id.
func requestHeader(key, version int16, correlation int32) []byte {
	b := binary.BigEndian.AppendUint16(nil, uint16(key))
	b = binary.BigEndian.AppendUint16(b, uint16(version))
	b = binary.BigEndian.AppendUint32(b, uint32(correlation))
	return append(binary.BigEndian.AppendUint16(b, 7), "hostile"...)
}

func randomBytes(rng *rand.Rand, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(rng.Uint32())
	}
	return b
}
