package broker

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"log/slog"
	"net"
	"slices"
	"testing"
	"time"

	"github.com/starling-analytics/starling/internal/recordbatch"
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

// FuzzBatches feeds arbitrary bytes to record-batch validation, as a produce request's
// records: what validation refuses is never stored, and what it accepts is appended and
// read back byte for byte (with the base offsets the log assigned).
func FuzzBatches(f *testing.F) {
	one := makeBatch(3, 1700000000000, 40)
	f.Add(one)
	f.Add(append(slices.Clone(one), makeBatch(1, 1700000000001, 0)...))
	f.Add(one[:len(one)-1])
	f.Add(idempotentBatch(2, 7, 0, 0))
	p, err := openPartitionLog(f.TempDir(), quiet)
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { p.close() })
	f.Fuzz(func(t *testing.T, data []byte) {
		hs, err := recordbatch.Split(data)
		if err != nil {
			if !errors.Is(err, recordbatch.ErrCorrupt) && !errors.Is(err, recordbatch.ErrUnsupportedMagic) {
				t.Fatalf("validation error of an unexpected kind: %v", err)
			}
			return
		}
		total := 0
		for _, h := range hs {
			total += h.Size()
		}
		if total != len(data) {
			t.Fatalf("accepted batches cover %d of %d bytes", total, len(data))
		}
		stored := slices.Clone(data)
		_, endBefore := p.offsets()
		base, err := p.append(stored, hs, appendOpts{segmentBytes: 1 << 20, segmentAge: time.Hour, now: time.Now()})
		if errors.Is(err, ErrOutOfOrderSequence) {
			return // an idempotent producer's sequence the log refuses
		}
		if err != nil {
			t.Fatalf("append: %v", err)
		}
		_, end := p.offsets()
		if end == endBefore {
			// An idempotent producer's retry: answered with the original batch's offset.
			if hs[0].ProducerID < 0 || base >= end {
				t.Fatalf("nothing appended, yet answered with offset %d (log ends at %d)", base, end)
			}
			return
		}
		want := endBefore
		for _, h := range hs {
			want += int64(h.LastOffsetDelta) + 1
		}
		if base != endBefore || end != want {
			t.Fatalf("appended at %d, log went from %d to %d", base, endBefore, end)
		}
		got, err := p.read(base, len(stored))
		if err != nil {
			t.Fatalf("read back at %d: %v", base, err)
		}
		if !bytes.Equal(got, stored) {
			t.Fatalf("read back %d bytes that differ from the %d appended", len(got), len(stored))
		}
	})
}
