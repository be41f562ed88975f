package broker

import (
	"bytes"
	"context"
	"encoding/binary"
	"log/slog"
	"net"
	"testing"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// FuzzRequest feeds arbitrary request frames to the broker's decoder and handlers: whatever
// arrives, the broker answers or closes that connection, and never panics.
func FuzzRequest(f *testing.F) {
	for _, req := range []kmsg.Request{
		kmsg.NewPtrApiVersionsRequest(), kmsg.NewPtrMetadataRequest(), kmsg.NewPtrProduceRequest(),
		kmsg.NewPtrFetchRequest(), kmsg.NewPtrJoinGroupRequest(), kmsg.NewPtrOffsetCommitRequest(),
		kmsg.NewPtrListOffsetsRequest(), kmsg.NewPtrCreateTopicsRequest(),
	} {
		spec := apis[req.Key()]
		req.SetVersion(spec.max)
		body := binary.BigEndian.AppendUint16(nil, uint16(req.Key()))
		body = binary.BigEndian.AppendUint16(body, uint16(spec.max))
		body = binary.BigEndian.AppendUint32(body, 7)
		body = append(body, 0xff, 0xff) // null client id
		if req.IsFlexible() {
			body = append(body, 0)
		}
		f.Add(req.AppendTo(body))
	}
	// The connection loop turns a handler panic into a log line and a closed connection;
	// here it must fail the fuzz run.
	var logs bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelError}))
	b, err := New(Config{DataDir: f.TempDir(), MaxRequestBytes: 1 << 20, Logger: logger})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { b.Close() })
	b.advHost, b.advPort = "127.0.0.1", 9092
	client, server := net.Pipe()
	f.Cleanup(func() { client.Close(); server.Close() })
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // handlers that wait (fetch, join) return at once
	f.Fuzz(func(t *testing.T, body []byte) {
		resp, _, err := b.decodeAndHandle(ctx, server, &saslState{}, body)
		if err == nil && resp != nil {
			resp.AppendTo(nil)
		}
		if bytes.Contains(logs.Bytes(), []byte("panicked")) {
			t.Fatalf("handler panicked on %x:\n%s", body, logs.String())
		}
	})
}
