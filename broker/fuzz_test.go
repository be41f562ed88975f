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

// TestUnsupportedVersionAnswers: a request of a version the broker does not support is
// answered with UNSUPPORTED_VERSION where the response has a top-level error code, and
// closes the connection (as Kafka does) where it has none.
func TestUnsupportedVersionAnswers(t *testing.T) {
	t.Parallel()
	b, err := New(Config{DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	frame := func(req kmsg.Request) []byte {
		body := binary.BigEndian.AppendUint16(nil, uint16(req.Key()))
		body = binary.BigEndian.AppendUint16(body, uint16(req.GetVersion()))
		body = binary.BigEndian.AppendUint32(body, 9)
		body = append(body, 0xff, 0xff)
		if req.IsFlexible() {
			body = append(body, 0)
		}
		return req.AppendTo(body)
	}
	client, server := net.Pipe()
	defer client.Close()
	defer server.Close()

	lg := kmsg.NewPtrListGroupsRequest()
	lg.SetVersion(apis[16].max + 1)
	resp, corr, err := b.decodeAndHandle(context.Background(), server, &saslState{}, frame(lg))
	if err != nil || corr != 9 {
		t.Fatalf("ListGroups v%d: %v (correlation %d)", lg.Version, err, corr)
	}
	back := kmsg.NewPtrListGroupsResponse()
	back.SetVersion(lg.Version)
	if err := back.ReadFrom(resp.AppendTo(nil)); err != nil || back.ErrorCode != 35 {
		t.Fatalf("ListGroups v%d answered %v, error code %d; want UNSUPPORTED_VERSION", lg.Version, err, back.ErrorCode)
	}

	dg := kmsg.NewPtrDescribeGroupsRequest()
	dg.SetVersion(apis[15].max + 1)
	if _, _, err := b.decodeAndHandle(context.Background(), server, &saslState{}, frame(dg)); err == nil {
		t.Fatalf("DescribeGroups v%d (no top-level error code) was answered; want the connection closed", dg.Version)
	}
}
