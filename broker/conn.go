package broker

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"reflect"
	"runtime/debug"
	"slices"
	"time"

	"github.com/twmb/franz-go/pkg/kbin"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// request is one decoded client request and what a handler needs to know about its sender.
type request struct {
	kreq     kmsg.Request
	clientID string
	conn     net.Conn
	sasl     *saslState // the connection's authentication progress
}

// serveConn reads requests from one client connection and answers them in order, one at a
// time, as Kafka does. It returns when the client goes away, sends a frame that cannot be
// parsed, stays idle past Config.IdleTimeout, takes longer than Config.RequestTimeout to
// send a request or read a response, or the broker shuts down.
//
// What a connection costs is what its client really sends: a request's buffer grows as its
// bytes arrive, whatever size the request declares, and a connection that has not
// authenticated (when SASL is on) may declare no more than
// Config.MaxUnauthenticatedRequestBytes. An idle connection holds no read buffer.
func (b *Broker) serveConn(ctx context.Context, c net.Conn) {
	defer c.Close()
	log := b.logger.With("client", c.RemoteAddr().String())
	var (
		size [4]byte
		body []byte
		out  []byte
		sasl saslState
	)
	for {
		c.SetReadDeadline(time.Now().Add(b.cfg.IdleTimeout))
		got, err := c.Read(size[:])
		if got == 0 {
			if errors.Is(err, os.ErrDeadlineExceeded) {
				log.Debug("closing idle connection", "idle", b.cfg.IdleTimeout)
			} else if err != nil && !errors.Is(err, io.EOF) && ctx.Err() == nil {
				log.Debug("connection closed", "err", err)
			}
			if err != nil {
				return
			}
			continue
		}
		// The request has begun: the rest of it must arrive within RequestTimeout.
		c.SetReadDeadline(time.Now().Add(b.cfg.RequestTimeout))
		if _, err := io.ReadFull(c, size[got:]); err != nil {
			log.Debug("connection closed mid-request", "err", err)
			return
		}
		n := int32(binary.BigEndian.Uint32(size[:]))
		limit := b.cfg.MaxRequestBytes
		if b.auth != nil && !sasl.authenticated {
			limit = b.cfg.MaxUnauthenticatedRequestBytes
		}
		if n < 8 || n > limit {
			log.Warn("closing connection: bad request size", "size", n, "limit", limit, "authenticated", b.auth == nil || sasl.authenticated)
			return
		}
		if body, err = readGrowing(c, body[:0], int(n)); err != nil {
			log.Debug("connection closed mid-request", "err", err)
			return
		}
		resp, corr, err := b.decodeAndHandle(ctx, c, &sasl, body)
		if err != nil {
			log.Warn("closing connection", "err", err)
			return
		}
		if cap(body) > maxRetainedRequest {
			body = nil // do not pin a large produce buffer to a connection
		}
		if resp == nil {
			continue // acks=0 produce: Kafka sends nothing back
		}
		out = append(out[:0], 0, 0, 0, 0)
		out = binary.BigEndian.AppendUint32(out, uint32(corr))
		// ApiVersions always answers with response header v0, even for flexible versions,
		// so that a client can parse it before it knows what the broker supports.
		if resp.IsFlexible() && resp.Key() != 18 {
			out = append(out, 0) // no tagged fields
		}
		out = slices.Grow(out, responseSizeHint(resp)) // a fetch's records in one allocation, not regrown
		out = resp.AppendTo(out)
		binary.BigEndian.PutUint32(out, uint32(len(out)-4))
		c.SetWriteDeadline(time.Now().Add(b.cfg.RequestTimeout))
		if _, err := c.Write(out); err != nil {
			log.Debug("write failed", "err", err)
			return
		}
		if cap(out) > 16<<20 {
			out = nil // do not pin a huge fetch buffer to an idle connection
		}
	}
}

// responseSizeHint is about the encoded size of a fetch response (its record batches, and
// a little for each partition's header), and 0 for the other responses, which are small.
func responseSizeHint(resp kmsg.Response) int {
	f, ok := resp.(*kmsg.FetchResponse)
	if !ok {
		return 0
	}
	n := 64
	for _, t := range f.Topics {
		n += 32 + len(t.Topic)
		for _, p := range t.Partitions {
			n += 64 + len(p.RecordBatches) + 16*len(p.AbortedTransactions)
		}
	}
	return n
}

// maxRetainedRequest is the largest request buffer a connection keeps for its next
// request: producers send up to about a megabyte at a time, and reusing their buffer saves
// an allocation per request.
const maxRetainedRequest = 8 << 20

// readGrowing reads n bytes from r into buf (from its length 0), growing buf as the bytes
// arrive: by doubling from 16 KiB, never past n, so a request that declares more than it
// sends costs no more than what was sent.
func readGrowing(r io.Reader, buf []byte, n int) ([]byte, error) {
	for len(buf) < n {
		if len(buf) == cap(buf) {
			grown := make([]byte, len(buf), min(n, max(2*cap(buf), 16<<10)))
			copy(grown, buf)
			buf = grown
		}
		k, err := r.Read(buf[len(buf):min(n, cap(buf))])
		buf = buf[:len(buf)+k]
		if err != nil && len(buf) < n {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return buf, err
		}
	}
	return buf, nil
}

// unsupportedVersion answers a request of a version outside the broker's range with
// UNSUPPORTED_VERSION, in the request's own version, when that response has a top-level error
// code (most APIs); nil means the connection must be closed instead, as Kafka does.
func unsupportedVersion(kreq kmsg.Request, version int16) kmsg.Response {
	if version < 0 || version > kreq.MaxVersion() {
		return nil // kmsg cannot encode a version it does not know
	}
	resp := kreq.ResponseKind()
	resp.SetVersion(version)
	code := reflect.ValueOf(resp).Elem().FieldByName("ErrorCode")
	if !code.IsValid() || code.Kind() != reflect.Int16 {
		return nil
	}
	code.SetInt(int64(kerr.UnsupportedVersion.Code))
	// Some versions do not carry the field (FindCoordinator v4+): check that it reaches
	// the wire.
	back := kreq.ResponseKind()
	back.SetVersion(version)
	if back.ReadFrom(resp.AppendTo(nil)) != nil || reflect.ValueOf(back).Elem().FieldByName("ErrorCode").Int() != int64(kerr.UnsupportedVersion.Code) {
		return nil
	}
	return versioned{resp}
}

// versioned keeps a response's version when decodeAndHandle sets it from the request.
type versioned struct{ kmsg.Response }

func (versioned) SetVersion(int16) {}

// decodeAndHandle parses the request header and body and runs the handler. An error means
// the connection must be closed (as Kafka does for unparseable or unsupported requests).
func (b *Broker) decodeAndHandle(ctx context.Context, c net.Conn, sasl *saslState, body []byte) (resp kmsg.Response, corr int32, err error) {
	rd := kbin.Reader{Src: body}
	key := rd.Int16()
	version := rd.Int16()
	corr = rd.Int32()
	clientID := rd.NullableString()
	if !rd.Ok() {
		return nil, corr, errors.New("truncated request header")
	}
	kreq := kmsg.RequestForKey(key)
	api, known := apis[key]
	if kreq == nil || !known {
		return nil, corr, fmt.Errorf("unsupported api key %d", key)
	}
	if b.auth != nil && !sasl.authenticated && key != 18 && key != 17 && key != 36 {
		return nil, corr, fmt.Errorf("%s request before authentication", apiName(key))
	}
	if key == 18 && version > api.max {
		// A client newer than us: answer in the v0 format that every client can read,
		// with UNSUPPORTED_VERSION and our ranges, and it retries with a version we know.
		return apiVersionsUnsupported(), corr, nil
	}
	if version < api.min || version > api.max {
		if resp := unsupportedVersion(kreq, version); resp != nil {
			b.logger.Warn("unsupported request version", "api", apiName(key), "version", version, "supported", fmt.Sprintf("%d-%d", api.min, api.max))
			return resp, corr, nil
		}
		return nil, corr, fmt.Errorf("unsupported version %d of api key %d (supported %d-%d)", version, key, api.min, api.max)
	}
	kreq.SetVersion(version)
	if kreq.IsFlexible() {
		kmsg.SkipTags(&rd)
		if !rd.Ok() {
			return nil, corr, errors.New("truncated request header tags")
		}
	}
	if err := kreq.ReadFrom(rd.Src); err != nil {
		return nil, corr, fmt.Errorf("decode api key %d v%d: %w", key, version, err)
	}
	req := &request{kreq: kreq, conn: c, sasl: sasl}
	if clientID != nil {
		req.clientID = *clientID
	}
	start := time.Now()
	defer func() {
		if p := recover(); p != nil {
			b.logger.Error("request handler panicked", "api_key", key, "version", version, "panic", p, "stack", string(debug.Stack()))
			resp, err = nil, fmt.Errorf("internal error handling api key %d", key)
		}
		b.metrics.observe(key, start, err != nil)
	}()
	resp, err = api.handle(b, ctx, req)
	if err != nil {
		return nil, corr, err
	}
	if resp != nil {
		resp.SetVersion(version)
	}
	return resp, corr, nil
}
