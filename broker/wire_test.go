package broker_test

import (
	"bytes"
	"encoding/binary"
	"io"
	"net"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/starling-analytics/starling/broker/brokertest"
)

// wireConn is a raw Kafka connection for tests that need to control each frame: the
// request's version, its client id, what else travels on the same connection.
type wireConn struct {
	t    testing.TB
	c    net.Conn
	corr int32
}

func dialWire(t testing.TB, addr string) *wireConn {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &wireConn{t: t, c: c}
}

// frame encodes req at its set version with the given client id.
func frame(req kmsg.Request, corr int32, clientID string) []byte {
	out := binary.BigEndian.AppendUint32(nil, 0)
	out = binary.BigEndian.AppendUint16(out, uint16(req.Key()))
	out = binary.BigEndian.AppendUint16(out, uint16(req.GetVersion()))
	out = binary.BigEndian.AppendUint32(out, uint32(corr))
	out = binary.BigEndian.AppendUint16(out, uint16(len(clientID)))
	out = append(out, clientID...)
	if req.IsFlexible() {
		out = append(out, 0)
	}
	out = req.AppendTo(out)
	binary.BigEndian.PutUint32(out, uint32(len(out)-4))
	return out
}

// roundTrip sends req (at the version set on it) and decodes the answer; it fails the test
// when the broker closes the connection instead.
func (w *wireConn) roundTrip(req kmsg.Request, clientID string) kmsg.Response {
	w.t.Helper()
	body, err := w.try(req, clientID)
	if err != nil {
		w.t.Fatalf("%T v%d: %v", req, req.GetVersion(), err)
	}
	resp := req.ResponseKind()
	resp.SetVersion(req.GetVersion())
	if err := resp.ReadFrom(body); err != nil {
		w.t.Fatalf("decode %T: %v", resp, err)
	}
	return resp
}

// try sends req and returns the response body after its header, or the connection's error.
func (w *wireConn) try(req kmsg.Request, clientID string) ([]byte, error) {
	w.corr++
	w.c.SetDeadline(time.Now().Add(30 * time.Second))
	if _, err := w.c.Write(frame(req, w.corr, clientID)); err != nil {
		return nil, err
	}
	var size [4]byte
	if _, err := io.ReadFull(w.c, size[:]); err != nil {
		return nil, err
	}
	body := make([]byte, binary.BigEndian.Uint32(size[:]))
	if _, err := io.ReadFull(w.c, body); err != nil {
		return nil, err
	}
	if got := int32(binary.BigEndian.Uint32(body)); got != w.corr {
		w.t.Fatalf("correlation id %d, want %d", got, w.corr)
	}
	body = body[4:]
	if req.IsFlexible() && req.Key() != 18 {
		body = body[1:] // no tagged fields in the header
	}
	return body, nil
}

// TestGroupStateOwnsItsBytes joins a group and syncs an assignment, then sends a request of
// the same size on the same connection, which the broker reads into the same buffer: the
// member's protocol metadata and assignment that DescribeGroups reports must not change.
func TestGroupStateOwnsItsBytes(t *testing.T) {
	t.Parallel()
	b := brokertest.Start(t, nil)
	w := dialWire(t, b.Addr)
	// A first large request makes the connection's buffer big enough for all that follow.
	meta := kmsg.NewPtrMetadataRequest()
	meta.SetVersion(1)
	w.roundTrip(meta, string(bytes.Repeat([]byte("Y"), 1000)))
	metadata := bytes.Repeat([]byte("M"), 200)
	assignment := bytes.Repeat([]byte("A"), 200)

	join := kmsg.NewPtrJoinGroupRequest()
	join.SetVersion(1)
	join.Group = "owned"
	join.SessionTimeoutMillis = 30000
	join.RebalanceTimeoutMillis = 30000
	join.ProtocolType = "consumer"
	p := kmsg.NewJoinGroupRequestProtocol()
	p.Name = "range"
	p.Metadata = metadata
	join.Protocols = append(join.Protocols, p)
	jr := w.roundTrip(join, "c").(*kmsg.JoinGroupResponse)
	if jr.ErrorCode != 0 {
		t.Fatalf("join: error %d", jr.ErrorCode)
	}

	sync := kmsg.NewPtrSyncGroupRequest()
	sync.SetVersion(0)
	sync.Group = "owned"
	sync.Generation = jr.Generation
	sync.MemberID = jr.MemberID
	a := kmsg.NewSyncGroupRequestGroupAssignment()
	a.MemberID = jr.MemberID
	a.MemberAssignment = assignment
	sync.GroupAssignment = append(sync.GroupAssignment, a)
	if sr := w.roundTrip(sync, "c").(*kmsg.SyncGroupResponse); sr.ErrorCode != 0 || !bytes.Equal(sr.MemberAssignment, assignment) {
		t.Fatalf("sync: error %d, assignment %q", sr.ErrorCode, sr.MemberAssignment)
	}

	// A request as long as the first, filled with Z, lands where the group's bytes were.
	w.roundTrip(meta, string(bytes.Repeat([]byte("Z"), 1000)))

	desc := kmsg.NewPtrDescribeGroupsRequest()
	desc.SetVersion(0)
	desc.Groups = []string{"owned"}
	dr := w.roundTrip(desc, "c").(*kmsg.DescribeGroupsResponse)
	if len(dr.Groups) != 1 || len(dr.Groups[0].Members) != 1 {
		t.Fatalf("describe: %+v", dr.Groups)
	}
	m := dr.Groups[0].Members[0]
	if !bytes.Equal(m.ProtocolMetadata, metadata) {
		t.Errorf("member metadata changed to %q", m.ProtocolMetadata)
	}
	if !bytes.Equal(m.MemberAssignment, assignment) {
		t.Errorf("member assignment changed to %q", m.MemberAssignment)
	}
}
