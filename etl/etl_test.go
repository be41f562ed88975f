package etl_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/starling-analytics/starling/broker/brokertest"
	"github.com/starling-analytics/starling/etl"
	"github.com/starling-analytics/starling/internal/tweet"
	"github.com/starling-analytics/starling/warehouse"
	"github.com/starling-analytics/starling/warehouse/warehousetest"
)

func produce(t *testing.T, addr string, msgs []kafka.Message) {
	t.Helper()
	w := &kafka.Writer{Addr: kafka.TCP(addr), Topic: tweet.TopicTweets, Balancer: &kafka.Hash{}, RequiredAcks: kafka.RequireAll, BatchTimeout: time.Millisecond, AllowAutoTopicCreation: true}
	defer w.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for {
		err := w.WriteMessages(ctx, msgs...)
		if err == nil {
			return
		}
		if ctx.Err() != nil {
			t.Fatalf("produce: %v", err)
		}
	}
}

func canonical(t *testing.T, id int, at time.Time, tags ...string) kafka.Message {
	t.Helper()
	v, err := tweet.Encode(tweet.Record{ID: strconv.Itoa(id), CreatedAt: at, Text: fmt.Sprintf("tweet %d is great", id), Lang: "en", Hashtags: tags, SourceFormat: tweet.FormatGenerator})
	if err != nil {
		t.Fatal(err)
	}
	return kafka.Message{Key: []byte(strconv.Itoa(id)), Value: v}
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, what string, timeout time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		<-tick.C
	}
}

func count(t *testing.T, db *warehouse.DB, q string, args ...any) uint64 {
	t.Helper()
	var n uint64
	if err := db.Conn().QueryRow(context.Background(), q, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return n
}

func startETL(t *testing.T, cfg etl.Config) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- etl.Run(ctx, cfg) }()
	return func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("etl: %v", err)
		}
	}
}

// TestLoadsEveryTweetOnceAcrossRestarts loads a stream with poison records, stops the ETL,
// produces more, restarts it, and checks every tweet is loaded exactly once and counted once
// in the hashtag aggregate, and that poison records reach the dead-letter topic.
func TestLoadsEveryTweetOnceAcrossRestarts(t *testing.T) {
	t.Parallel()
	b := brokertest.Start(t, nil)
	whCfg := warehousetest.Start(t)
	db, err := warehouse.Open(context.Background(), whCfg)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	cfg := etl.Config{Brokers: []string{b.Addr}, Warehouse: whCfg, BatchSize: 100, FlushInterval: 50 * time.Millisecond, Logger: logger}

	base := time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)
	var first []kafka.Message
	for i := 1; i <= 500; i++ {
		first = append(first, canonical(t, i, base.Add(time.Duration(i)*time.Second), "Go", "tag"+strconv.Itoa(i%3)))
	}
	first = append(first,
		kafka.Message{Key: []byte("bad1"), Value: []byte("{not json")},
		kafka.Message{Key: []byte("bad2"), Value: []byte(`{"schema":1,"id":"abc","created_at":"2026-05-01T10:00:00Z"}`)})
	produce(t, b.Addr, first)

	stop := startETL(t, cfg)
	waitFor(t, "500 tweets loaded", 60*time.Second, func() bool { return count(t, db, "SELECT count() FROM tweets") >= 500 })
	stop()

	var second []kafka.Message
	for i := 501; i <= 800; i++ {
		second = append(second, canonical(t, i, base.Add(time.Duration(i)*time.Second), "go"))
	}
	produce(t, b.Addr, second)
	stop = startETL(t, cfg)
	waitFor(t, "800 tweets loaded", 60*time.Second, func() bool { return count(t, db, "SELECT count() FROM tweets") >= 800 })
	stop()

	if n := count(t, db, "SELECT count() FROM tweets"); n != 800 {
		t.Errorf("tweets rows = %d, want 800", n)
	}
	if n := count(t, db, "SELECT uniqExact(id) FROM tweets"); n != 800 {
		t.Errorf("distinct tweet ids = %d, want 800", n)
	}
	if n := count(t, db, "SELECT sum(tweets) FROM hashtag_minute WHERE hashtag = 'go'"); n != 800 {
		t.Errorf("hashtag_minute count of #go = %d, want 800 (hashtags are lower-cased, each tweet counted once)", n)
	}

	// The two poison records are on the dead-letter topic with reason and origin.
	r := kafka.NewReader(kafka.ReaderConfig{Brokers: []string{b.Addr}, Topic: tweet.TopicDLQ, GroupID: "dlq-check", StartOffset: kafka.FirstOffset, MaxBytes: 1 << 20})
	defer r.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	reasons := map[string]string{}
	for len(reasons) < 2 {
		m, err := r.ReadMessage(ctx)
		if err != nil {
			t.Fatalf("read dlq: %v", err)
		}
		h := map[string]string{}
		for _, x := range m.Headers {
			h[x.Key] = string(x.Value)
		}
		if h[tweet.HeaderTopic] != tweet.TopicTweets || h[tweet.HeaderOffset] == "" {
			t.Errorf("dlq record %s lacks origin headers: %v", m.Key, h)
		}
		reasons[string(m.Key)] = h[tweet.HeaderReason]
	}
	if reasons["bad1"] == "" || reasons["bad2"] == "" {
		t.Errorf("dlq reasons = %v", reasons)
	}
}
