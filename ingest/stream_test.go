package ingest

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/starling-analytics/starling/broker/brokertest"
	"github.com/starling-analytics/starling/internal/tweet"
)

// fakeStream is a local stand-in for stream.twitter.com: each connection gets the next
// script entry: lines to send then hang up, an HTTP status to refuse with, or lines to send
// and then stay open.
type fakeStream struct {
	mu      sync.Mutex
	scripts []streamScript
	conns   int
	auth    []string
	queries []string
}

type streamScript struct {
	status int
	lines  []string
	stay   bool
}

func (f *fakeStream) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	n := f.conns
	f.conns++
	f.auth = append(f.auth, r.Header.Get("Authorization"))
	f.queries = append(f.queries, r.Method+" "+r.URL.Path+"?"+r.URL.RawQuery)
	f.mu.Unlock()
	if n >= len(f.scripts) {
		http.Error(w, "no more", http.StatusServiceUnavailable)
		return
	}
	sc := f.scripts[n]
	if sc.status != 0 {
		http.Error(w, "refused", sc.status)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	for _, l := range sc.lines {
		fmt.Fprintf(w, "%s\r\n", l)
	}
	w.(http.Flusher).Flush()
	if sc.stay {
		<-r.Context().Done()
	}
}

// TestLiveStreamAgainstFakeServer reads the v1.1 filter stream through go-twitter from a
// local fake server that drops the connection, then refuses one, then streams on: the
// ingester reconnects, signs every request with OAuth 1.0a, produces every tweet, and
// counts the stream's other events as rejected lines.
func TestLiveStreamAgainstFakeServer(t *testing.T) {
	t.Parallel()
	b := brokertest.Start(t, nil)
	lines := strings.Split(strings.TrimSpace(string(generatedLines(t, 21, 5))), "\n")
	want := map[string]bool{}
	for _, l := range lines {
		rec, err := parseOne([]byte(l))
		if err != nil {
			t.Fatal(err)
		}
		want[rec.ID] = true
	}
	want["1"] = true // the deletion notice's tombstone
	fake := &fakeStream{scripts: []streamScript{
		{lines: []string{lines[0], lines[1], `{"delete":{"status":{"id":1,"id_str":"1","user_id":3,"user_id_str":"3"}}}`, lines[2]}},
		{status: http.StatusUnauthorized},
		{lines: []string{`{"limit":{"track":12}}`, lines[3], lines[4]}, stay: true},
	}}
	srv := httptest.NewServer(fake)
	defer srv.Close()

	clock := &fakeClock{now: time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)}
	in, err := New(Config{Brokers: []string{b.Addr}, Clock: clock, Stream: &StreamConfig{
		Track: []string{"golang", "kafka"}, BaseURL: srv.URL,
		Credentials: Credentials{ConsumerKey: "ck", ConsumerSecret: "cs", AccessToken: "at", AccessSecret: "as"},
	}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- in.Run(runCtx) }()
	for in.Stats().Produced < uint64(len(want)) {
		select {
		case err := <-done:
			t.Fatalf("the stream ended early: %v (stats %+v)", err, in.Stats())
		case <-ctx.Done():
			t.Fatalf("produced %d of %d tweets (stats %+v)", in.Stats().Produced, len(want), in.Stats())
		case <-time.After(5 * time.Millisecond):
		}
	}
	stop()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	s := in.Stats()
	fake.mu.Lock()
	// go-twitter reconnects by itself after a clean hang-up; the refusal ends its stream
	// and the ingester reconnects.
	if fake.conns != 3 || s.Reconnects != 1 || s.Rejected["not a tweet"] != 1 || s.Tombstones != 1 {
		t.Errorf("%d connections, stats %+v; want 3 connections, 1 reconnection by the ingester, 1 tombstone and 1 non-tweet event", fake.conns, s)
	}
	for i, a := range fake.auth {
		if !strings.HasPrefix(a, "OAuth ") || !strings.Contains(a, `oauth_consumer_key="ck"`) || !strings.Contains(a, `oauth_token="at"`) {
			t.Errorf("connection %d: authorization %q is not OAuth 1.0a with the credentials", i, a)
		}
	}
	if q := fake.queries[0]; !strings.HasPrefix(q, "POST /1.1/statuses/filter.json?") || !strings.Contains(q, "track=golang%2Ckafka") {
		t.Errorf("first request %q", q)
	}
	fake.mu.Unlock()

	r := kafka.NewReader(kafka.ReaderConfig{Brokers: []string{b.Addr}, Topic: tweet.TopicTweets, GroupID: "check", StartOffset: kafka.FirstOffset, MaxWait: 100 * time.Millisecond})
	defer r.Close()
	for got := 0; got < len(want); got++ {
		m, err := r.ReadMessage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if !want[string(m.Key)] {
			t.Fatalf("unexpected record %s", m.Key)
		}
		rec, err := tweet.Decode(m.Value)
		if err != nil || rec.IsTombstone() != (string(m.Key) == "1") {
			t.Fatalf("record %s: %+v (%v)", m.Key, rec, err)
		}
	}
	var dlq bytes.Buffer
	dr := kafka.NewReader(kafka.ReaderConfig{Brokers: []string{b.Addr}, Topic: tweet.TopicDLQ, GroupID: "check", StartOffset: kafka.FirstOffset, MaxWait: 100 * time.Millisecond})
	defer dr.Close()
	for i := 0; i < 1; i++ {
		m, err := dr.ReadMessage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		dlq.Write(m.Value)
		dlq.WriteByte('\n')
	}
	sc := bufio.NewScanner(&dlq)
	var kinds []string
	for sc.Scan() {
		kinds = append(kinds, strings.SplitN(strings.TrimPrefix(sc.Text(), `{"`), `"`, 2)[0])
	}
	slices.Sort(kinds)
	if strings.Join(kinds, ",") != "limit" {
		t.Errorf("dead-lettered stream events %v, want the limit notice", kinds)
	}
}
