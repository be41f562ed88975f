package kafkaclient

import (
	"encoding/binary"
	"fmt"
	"net"
	"strconv"
	"sync"

	"github.com/segmentio/kafka-go"
	"github.com/twmb/franz-go/pkg/kbin"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/starling-analytics/starling/internal/recordbatch"
)

// Fetch responses are checked before kafka-go reads them.
//
// kafka-go decodes record batches trusting what they declare: it allocates as many records
// and headers as a batch claims and decompresses without a bound. One damaged batch in a
// partition (2^31 records declared, a header count of 2^40, a decompression bomb) ends the
// consumer's process with "out of memory", and again after every restart, and no partition
// loads another record. Kafka checks what producers send, but a log can still hold such a
// batch: written by a broker that does not check, or changed on disk after the CRC was
// computed. So a consumer's connections check every Fetch response as it arrives, before
// kafka-go reads it: each v2 batch must have a good CRC and pass
// recordbatch.ValidateFetched. A batch that does not is replaced by a quarantine batch of
// one record, at the damaged batch's last offset, whose value is (the start of) the damaged
// batch's bytes and whose header QuarantineHeader says what is wrong; the consumer
// dead-letters it and reads on. A trailing batch cut short by the response's size limit
// is dropped, so kafka-go never reads part of a batch; it fetches that batch again from
// its first offset.

// QuarantineHeader names the header of a quarantine record: its value is why the batch
// at the record's place in the log could not be read.
const QuarantineHeader = "starling.quarantined"

// quarantineValueMax bounds how much of a damaged batch a quarantine record carries, so
// that it fits a dead-letter topic's max.message.bytes (1 MiB by default).
const quarantineValueMax = 256 << 10

// fetchChecker is a connection to a broker that checks the record batches of Fetch
// responses. It follows the requests written to learn which responses answer a Fetch
// (and in which version); other responses pass through unchanged, as they arrive.
type fetchChecker struct {
	net.Conn
	limit int64 // decompressed bytes a batch's records may take

	mu      sync.Mutex
	fetches map[int32]int16 // correlation id → version of Fetch requests not yet answered

	// Writing: the header of the request being written, and what is left of its body.
	whdr  [12]byte // size, api key, api version, correlation id
	wn    int
	wleft int64

	// Reading: the current response's size and correlation id, and then either what is
	// left of a response passed through, or a Fetch response read whole and checked.
	rhdr    [8]byte
	rn      int
	version int16  // the Fetch version of the response being read; -1 for other responses
	rleft   int64  // bytes of a passed-through response still to read from the connection
	frame   []byte // a Fetch response being read: its header, then its body
	out     []byte // bytes ready for the client
	alt     []byte // re-encoded responses
}

// CheckFetches wraps c, a connection to a Kafka broker, so that the record batches of
// Fetch responses are checked before they are read (see above); limit bounds what a
// batch's records may decompress to.
func CheckFetches(c net.Conn, limit int64) net.Conn {
	return &fetchChecker{Conn: c, limit: limit, fetches: map[int32]int16{}, version: -1}
}

// Write notes Fetch requests before they are sent: their answer may be read before Write
// returns.
func (c *fetchChecker) Write(p []byte) (int, error) {
	for b := p; len(b) > 0; {
		if c.wleft > 0 {
			n := int(min(c.wleft, int64(len(b))))
			c.wleft -= int64(n)
			b = b[n:]
			continue
		}
		n := copy(c.whdr[c.wn:], b)
		c.wn += n
		b = b[n:]
		if c.wn < len(c.whdr) {
			break
		}
		size := int32(binary.BigEndian.Uint32(c.whdr[0:]))
		key := int16(binary.BigEndian.Uint16(c.whdr[4:]))
		version := int16(binary.BigEndian.Uint16(c.whdr[6:]))
		corr := int32(binary.BigEndian.Uint32(c.whdr[8:]))
		if key == 1 && version >= 0 && version <= kmsg.NewPtrFetchRequest().MaxVersion() {
			c.mu.Lock()
			c.fetches[corr] = version
			c.mu.Unlock()
		}
		c.wn, c.wleft = 0, max(int64(size)-8, 0)
	}
	return c.Conn.Write(p)
}

func (c *fetchChecker) Read(p []byte) (int, error) {
	for len(c.out) == 0 {
		if c.rleft > 0 {
			n, err := c.Conn.Read(p[:min(int64(len(p)), c.rleft)])
			c.rleft -= int64(n)
			return n, err
		}
		if err := c.next(); err != nil {
			return 0, err
		}
	}
	n := copy(p, c.out)
	c.out = c.out[n:]
	return n, nil
}

// next reads the next response's header and, for a Fetch, the whole response, which it
// checks. Reads cut short by a deadline resume where they stopped.
func (c *fetchChecker) next() error {
	for c.rn < len(c.rhdr) {
		n, err := c.Conn.Read(c.rhdr[c.rn:])
		c.rn += n
		if err != nil && c.rn < len(c.rhdr) {
			return err
		}
	}
	size := int64(int32(binary.BigEndian.Uint32(c.rhdr[0:])))
	if c.version < 0 {
		corr := int32(binary.BigEndian.Uint32(c.rhdr[4:]))
		c.mu.Lock()
		v, ok := c.fetches[corr]
		delete(c.fetches, corr)
		c.mu.Unlock()
		if !ok || size < 4 {
			c.out, c.rleft, c.rn = c.rhdr[:], max(size-4, 0), 0
			return nil
		}
		c.version = v
		c.frame = append(c.frame[:0], c.rhdr[:]...)
	}
	// Read the response whole (after its header, in frame), growing the buffer as its
	// bytes arrive rather than by the size it declares.
	want := len(c.rhdr) + int(size-4)
	for len(c.frame) < want {
		if len(c.frame) == cap(c.frame) {
			c.frame = append(c.frame, make([]byte, min(want-len(c.frame), max(len(c.frame), 64<<10)))...)[:len(c.frame)]
		}
		n, err := c.Conn.Read(c.frame[len(c.frame):min(cap(c.frame), want)])
		c.frame = c.frame[:len(c.frame)+n]
		if err != nil && len(c.frame) < want {
			return err
		}
	}
	c.out = c.check(c.version, c.frame)
	c.version, c.rn = -1, 0
	return nil
}

// check returns the response to give the client for frame, a whole Fetch response of the
// given version: frame itself when every batch in it is whole and sound, else the
// response re-encoded with each damaged batch quarantined and a trailing partial batch
// left out. A response that does not decode as a Fetch response is passed on as it is,
// for the client to refuse.
func (c *fetchChecker) check(version int16, frame []byte) []byte {
	resp := kmsg.NewPtrFetchResponse()
	resp.SetVersion(version)
	body := frame[8:] // after the size and correlation id
	if resp.IsFlexible() {
		rd := kbin.Reader{Src: body}
		kmsg.SkipTags(&rd)
		if !rd.Ok() {
			return frame
		}
		body = rd.Src
	}
	if err := resp.ReadFrom(body); err != nil {
		return frame
	}
	changed := false
	for i := range resp.Topics {
		for j := range resp.Topics[i].Partitions {
			sp := &resp.Topics[i].Partitions[j]
			if checked, ok := checkBatches(sp.RecordBatches, c.limit); !ok {
				sp.RecordBatches, changed = checked, true
			}
		}
	}
	if !changed {
		return frame
	}
	out := append(c.alt[:0], 0, 0, 0, 0)
	out = append(out, frame[4:8]...) // the correlation id
	if resp.IsFlexible() {
		out = append(out, 0) // no tagged fields in the response header
	}
	out = resp.AppendTo(out)
	binary.BigEndian.PutUint32(out, uint32(len(out)-4))
	c.alt = out
	return out
}

// checkBatches checks the batches of one partition of a Fetch response. ok means they are
// all whole and sound; otherwise out holds them with each damaged batch quarantined and
// a trailing partial batch left out.
func checkBatches(data []byte, limit int64) (out []byte, ok bool) {
	rest := data
	keep := func(b []byte) { // keep b, a batch that stays as it is
		if !ok {
			out = append(out, b...)
		}
	}
	ok = true
	for len(rest) > 0 {
		if len(rest) < recordbatch.OffMagic+1 {
			break // a partial batch
		}
		size := int64(int32(binary.BigEndian.Uint32(rest[recordbatch.OffBatchLength:]))) + recordbatch.LengthOverhead
		if size > int64(len(rest)) {
			break // a partial batch
		}
		if rest[recordbatch.OffMagic] != 2 {
			// The older message formats, from a log written before Kafka 0.11 or
			// converted for an old client: kafka-go's own to read.
			keep(rest)
			return out, ok
		}
		if size < recordbatch.OffMagic+1 {
			size = int64(len(rest)) // no length to go by: the rest is damaged
		}
		batch := rest[:size]
		rest = rest[size:]
		if err := checkBatch(batch, limit); err != nil {
			if ok {
				out = append(make([]byte, 0, len(data)), data[:len(data)-len(rest)-len(batch)]...)
				ok = false
			}
			out = appendQuarantine(out, batch, err)
			continue
		}
		keep(batch)
	}
	if len(rest) > 0 && ok {
		out = append(make([]byte, 0, len(data)-len(rest)), data[:len(data)-len(rest)]...)
		ok = false
	}
	return out, ok
}

// checkBatch checks one whole v2 batch.
func checkBatch(b []byte, limit int64) error {
	h, err := recordbatch.ParseHeader(b)
	if err != nil {
		return err
	}
	if got := recordbatch.Checksum(b); got != h.CRC {
		return fmt.Errorf("%w: crc %08x, want %08x", recordbatch.ErrCorrupt, got, h.CRC)
	}
	return recordbatch.ValidateFetched(b, &h, limit)
}

// appendQuarantine appends to out the quarantine batch that stands for the damaged batch b.
func appendQuarantine(out, b []byte, why error) []byte {
	base := int64(binary.BigEndian.Uint64(b))
	var lastDelta int32
	var ts int64
	if len(b) >= recordbatch.HeaderSize {
		lastDelta = max(int32(binary.BigEndian.Uint32(b[recordbatch.OffLastOffsetDelta:])), 0)
		ts = int64(binary.BigEndian.Uint64(b[recordbatch.OffBaseTimestamp:]))
	}
	reason := fmt.Sprintf("unreadable record batch at offsets %d-%d (%d bytes): %v", base, base+int64(lastDelta), len(b), why)
	value := b
	if len(value) > quarantineValueMax {
		value = value[:quarantineValueMax]
		reason += "; the value holds its first " + strconv.Itoa(quarantineValueMax) + " bytes"
	}
	// The record: attributes, timestamp delta, offset delta, no key, the value, one header.
	var rec []byte
	rec = append(rec, 0)
	rec = binary.AppendVarint(rec, 0)
	rec = binary.AppendVarint(rec, int64(lastDelta))
	rec = binary.AppendVarint(rec, -1)
	rec = binary.AppendVarint(rec, int64(len(value)))
	rec = append(rec, value...)
	rec = binary.AppendVarint(rec, 1)
	rec = binary.AppendVarint(rec, int64(len(QuarantineHeader)))
	rec = append(rec, QuarantineHeader...)
	rec = binary.AppendVarint(rec, int64(len(reason)))
	rec = append(rec, reason...)

	start := len(out)
	out = binary.BigEndian.AppendUint64(out, uint64(base))
	out = binary.BigEndian.AppendUint32(out, 0) // length, below
	out = binary.BigEndian.AppendUint32(out, 0) // partition leader epoch
	out = append(out, 2)                        // magic
	out = binary.BigEndian.AppendUint32(out, 0) // crc, below
	out = binary.BigEndian.AppendUint16(out, 0) // attributes: uncompressed, create time
	out = binary.BigEndian.AppendUint32(out, uint32(lastDelta))
	out = binary.BigEndian.AppendUint64(out, uint64(ts))
	out = binary.BigEndian.AppendUint64(out, uint64(ts))
	out = binary.BigEndian.AppendUint64(out, ^uint64(0)) // producer id -1
	out = binary.BigEndian.AppendUint16(out, ^uint16(0)) // producer epoch -1
	out = binary.BigEndian.AppendUint32(out, ^uint32(0)) // base sequence -1
	out = binary.BigEndian.AppendUint32(out, 1)          // one record
	out = binary.AppendVarint(out, int64(len(rec)))
	out = append(out, rec...)
	batch := out[start:]
	binary.BigEndian.PutUint32(batch[recordbatch.OffBatchLength:], uint32(len(batch)-recordbatch.LengthOverhead))
	binary.BigEndian.PutUint32(batch[recordbatch.OffCRC:], recordbatch.Checksum(batch))
	return out
}

// Quarantined returns why a record could not be read, when it is a quarantine record
// (see CheckFetches), and "" for any other record.
func Quarantined(headers []kafka.Header) string {
	for _, h := range headers {
		if h.Key == QuarantineHeader {
			return string(h.Value)
		}
	}
	return ""
}
