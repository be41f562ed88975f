package broker_test

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
	"github.com/twmb/franz-go/pkg/sasl/scram"

	"github.com/starling-analytics/starling/broker"
	"github.com/starling-analytics/starling/broker/brokertest"
)

// produceAndRead produces n records to topic with franz-go and reads them back: the broker
// serves a normal client.
func produceAndRead(t *testing.T, addr, topic string, n int, opts ...kgo.Opt) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	opts = append(opts, kgo.SeedBrokers(addr), kgo.DefaultProduceTopic(topic), kgo.AllowAutoTopicCreation(),
		kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{topic: {0: kgo.NewOffset().AtStart()}}))
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	for i := range n {
		if err := cl.ProduceSync(ctx, &kgo.Record{Partition: 0, Value: fmt.Appendf(nil, "v%d", i)}).FirstErr(); err != nil {
			t.Fatalf("produce: %v", err)
		}
	}
	got := 0
	for got < n {
		fs := cl.PollFetches(ctx)
		if err := fs.Err0(); err != nil {
			t.Fatalf("consume after %d of %d: %v", got, n, err)
		}
		got += fs.NumRecords()
	}
}

// closedByPeer waits up to timeout for the broker to close c and reports whether it did
// (a read that ends in EOF or a reset, not in the deadline).
func closedByPeer(c net.Conn, timeout time.Duration) bool {
	c.SetReadDeadline(time.Now().Add(timeout))
	buf := make([]byte, 4096)
	for {
		_, err := c.Read(buf)
		if err == nil {
			continue
		}
		var ne net.Error
		return !(errors.As(err, &ne) && ne.Timeout())
	}
}

// TestHostileConnectionsCostLittle opens, against a broker in a child process, 400
// connections that each declare a 100 MiB request and send 8 bytes of it, 200 that send a
// request a byte a second, and 500 that send nothing: the broker's memory grows by a few
// megabytes (it grew by up to 100 MiB a connection when a request's buffer was sized by
// what it declared), a normal client is served meanwhile, and the broker closes the slow
// connections after its request timeout and the idle ones after its idle timeout.
func TestHostileConnectionsCostLittle(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	c := startBrokerChild(t, dir, "STARLING_BROKER_CHILD_IDLE=6s", "STARLING_BROKER_CHILD_REQUEST_TIMEOUT=3s",
		"STARLING_BROKER_CHILD_PER_IP=5000", "STARLING_BROKER_CHILD_METRICS=1")
	produceAndRead(t, c.Addr, "normal", 200)
	base, baseHeap := c.rss(t), c.heapBytes(t, dir)

	dial := func() net.Conn {
		conn, err := net.DialTimeout("tcp", c.Addr, 10*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { conn.Close() })
		return conn
	}
	var big, slow, idle []net.Conn
	for range 400 {
		conn := dial()
		frame := binary.BigEndian.AppendUint32(nil, 100<<20)
		frame = append(frame, 0, 18, 0, 0) // the start of an ApiVersions header
		if _, err := conn.Write(frame); err != nil {
			t.Fatal(err)
		}
		big = append(big, conn)
	}
	for range 500 {
		idle = append(idle, dial())
	}
	// Slowloris: a 64-byte request, one byte a second, until the broker hangs up.
	var wg sync.WaitGroup
	for range 200 {
		conn := dial()
		slow = append(slow, conn)
		wg.Go(func() {
			frame := binary.BigEndian.AppendUint32(nil, 60)
			frame = append(frame, make([]byte, 60)...)
			for _, by := range frame {
				if _, err := conn.Write([]byte{by}); err != nil {
					return
				}
				time.Sleep(time.Second) // the attack's own pace, not a wait for the broker
			}
		})
	}
	// Memory while all 1,100 are open and have sent what they send: resident memory, and
	// the Go heap (which counts a buffer allocated for a request's declared size even
	// while its pages are untouched, and which paces the garbage collector).
	var peak, peakHeap int64
	for range 10 {
		peak, peakHeap = max(peak, c.rss(t)), max(peakHeap, c.heapBytes(t, dir))
		produceAndRead(t, c.Addr, "normal-meanwhile", 20)
	}
	t.Logf("broker RSS %d MiB before, %d MiB at most with 1,100 hostile connections open; Go heap %d MiB, then %d MiB",
		base>>20, peak>>20, baseHeap>>20, peakHeap>>20)
	if grown := peak - base; grown > 64<<20 {
		t.Errorf("broker memory grew by %d MiB with 1,100 hostile connections; want under 64 MiB", grown>>20)
	}
	if grown := peakHeap - baseHeap; grown > 64<<20 {
		t.Errorf("broker heap grew by %d MiB with 1,100 hostile connections; want under 64 MiB", grown>>20)
	}

	var closed sync.WaitGroup
	var mu sync.Mutex
	held := map[string]int{}
	for name, conns := range map[string][]net.Conn{"declared 100 MiB": big, "slowloris": slow, "idle": idle} {
		for _, conn := range conns {
			closed.Go(func() {
				if !closedByPeer(conn, 45*time.Second) {
					mu.Lock()
					held[name]++
					mu.Unlock()
				}
			})
		}
	}
	closed.Wait()
	wg.Wait()
	for name, n := range held {
		t.Errorf("%d %s connections were still open after 45 s (request timeout 3 s, idle timeout 6 s)", n, name)
	}
	produceAndRead(t, c.Addr, "normal-after", 20)
}

// dialFrom connects to addr from a loopback address of its own (127.0.0.x).
func dialFrom(t *testing.T, local, addr string) net.Conn {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(local)}, Timeout: 5 * time.Second}
	conn, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

// served reports whether conn gets an answer to ApiVersions (false: the broker closed it).
func served(conn net.Conn) bool {
	req := kmsg.NewPtrApiVersionsRequest()
	if _, err := conn.Write(frame(req, 1, "limits")); err != nil {
		return false
	}
	conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	var size [4]byte
	_, err := conn.Read(size[:])
	return err == nil
}

// TestConnectionLimits: past the per-address limit a new connection is closed at once, other
// addresses are still served up to the total limit, and a closed connection makes room.
func TestConnectionLimits(t *testing.T) {
	t.Parallel()
	b := brokertest.Start(t, &broker.Config{MaxConnections: 30, MaxConnectionsPerIP: 12})
	var first []net.Conn
	for i := range 12 {
		conn := dialFrom(t, "127.0.0.1", b.Addr)
		if !served(conn) {
			t.Fatalf("connection %d from 127.0.0.1 refused under the limit of 12", i+1)
		}
		first = append(first, conn)
	}
	if served(dialFrom(t, "127.0.0.1", b.Addr)) {
		t.Fatal("13th connection from 127.0.0.1 served; want it closed")
	}
	for i := range 12 {
		if !served(dialFrom(t, "127.0.0.2", b.Addr)) {
			t.Fatalf("connection %d from 127.0.0.2 refused", i+1)
		}
	}
	for i := range 6 {
		if !served(dialFrom(t, "127.0.0.3", b.Addr)) {
			t.Fatalf("connection %d from 127.0.0.3 refused (total %d of 30)", i+1, 24+i+1)
		}
	}
	if served(dialFrom(t, "127.0.0.3", b.Addr)) {
		t.Fatal("31st connection served; want it closed")
	}
	first[0].Close()
	deadline := time.Now().Add(30 * time.Second)
	for !served(dialFrom(t, "127.0.0.3", b.Addr)) {
		if time.Now().After(deadline) {
			t.Fatal("no room made by a closed connection")
		}
		time.Sleep(20 * time.Millisecond) // poll: the broker notices the close on its own
	}
}

// TestUnauthenticatedRequestsAreCapped: with SASL on, a request declared larger than
// 512 KiB before authentication closes the connection at once; once authenticated, a
// client may send requests up to the usual limit.
func TestUnauthenticatedRequestsAreCapped(t *testing.T) {
	t.Parallel()
	b := brokertest.Start(t, &broker.Config{Users: map[string]string{"alice": "secret"}})
	conn := dialFrom(t, "127.0.0.1", b.Addr)
	if _, err := conn.Write(binary.BigEndian.AppendUint32(nil, 600<<10)); err != nil {
		t.Fatal(err)
	}
	if !closedByPeer(conn, 10*time.Second) {
		t.Fatal("a 600 KiB request declared before authentication did not close the connection")
	}
	auth := kgo.SASL(scram.Auth{User: "alice", Pass: "secret"}.AsSha256Mechanism())
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cl, err := kgo.NewClient(kgo.SeedBrokers(b.Addr), auth, kgo.ProducerBatchCompression(kgo.NoCompression()), kgo.AllowAutoTopicCreation())
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	value := []byte(strings.Repeat("x", 700<<10))
	if err := cl.ProduceSync(ctx, &kgo.Record{Topic: "big-after-auth", Value: value}).FirstErr(); err != nil {
		t.Fatalf("a 700 KiB record after authentication: %v", err)
	}
}
