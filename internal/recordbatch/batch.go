// Package recordbatch reads Kafka record batches (the v2 "magic 2" format of KIP-98) and
// checks them as Kafka's log validator does. The broker checks every batch a producer sends
// before it is written; the ETL checks every batch a broker serves before kafka-go decodes
// it, because kafka-go allocates whatever a damaged batch declares (records, headers) and a
// single such batch in a partition would otherwise take the consumer down.
package recordbatch

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
)

// Record batch v2 layout. Offsets into the header:
//
//	baseOffset int64 | batchLength int32 | partitionLeaderEpoch int32 | magic int8 | crc uint32 |
//	attributes int16 | lastOffsetDelta int32 | baseTimestamp int64 | maxTimestamp int64 |
//	producerId int64 | producerEpoch int16 | baseSequence int32 | recordCount int32 | records...
//
// The CRC-32C covers attributes to the end, so a broker may rewrite baseOffset and
// partitionLeaderEpoch without recomputing it.
const (
	HeaderSize         = 61
	LengthOverhead     = 12 // baseOffset + batchLength precede the length-counted bytes
	OffBatchLength     = 8
	OffLeaderEpoch     = 12
	OffMagic           = 16
	OffCRC             = 17
	OffAttributes      = 21
	OffLastOffsetDelta = 23
	OffBaseTimestamp   = 27
	OffMaxTimestamp    = 35
	OffProducerID      = 43
	OffProducerEpoch   = 51
	OffBaseSequence    = 53
	OffRecordCount     = 57
)

// Compression codecs of the attributes' low three bits.
const (
	CodecNone   = 0
	CodecGzip   = 1
	CodecSnappy = 2
	CodecLZ4    = 3
	CodecZstd   = 4
)

// Attribute bits besides the codec.
const (
	AttrLogAppendTime = 0x08
	AttrTransactional = 0x10
	AttrControl       = 0x20
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Checksum is the CRC-32C a batch stores: over b from the attributes to the end of the batch.
func Checksum(b []byte) uint32 { return crc32.Checksum(b[OffAttributes:], castagnoli) }

// Errors of batch parsing; a broker answers them with CORRUPT_MESSAGE and INVALID_RECORD.
var (
	ErrCorrupt          = errors.New("corrupt record batch")
	ErrUnsupportedMagic = errors.New("unsupported record format (magic)")
)

// Header is the decoded fixed part of a record batch.
type Header struct {
	BaseOffset      int64
	Length          int32 // batchLength: bytes after the length field
	Magic           int8
	CRC             uint32
	Attributes      int16
	LastOffsetDelta int32
	BaseTimestamp   int64
	MaxTimestamp    int64
	ProducerID      int64
	ProducerEpoch   int16
	BaseSequence    int32
	RecordCount     int32
}

// Size is the number of bytes the whole batch occupies.
func (h *Header) Size() int { return int(h.Length) + LengthOverhead }

// LastOffset is the offset of the batch's last record.
func (h *Header) LastOffset() int64 { return h.BaseOffset + int64(h.LastOffsetDelta) }

// Codec is the batch's compression codec (CodecNone ... CodecZstd, or an unknown value).
func (h *Header) Codec() int16 { return h.Attributes & 0x07 }

// IsTransactional and IsControl read the attribute bits 4 and 5.
func (h *Header) IsTransactional() bool { return h.Attributes&AttrTransactional != 0 }
func (h *Header) IsControl() bool       { return h.Attributes&AttrControl != 0 }

// ParseHeader decodes the fixed header at the start of b without checking the CRC. It
// fails with ErrCorrupt when b is shorter than the header or the header is inconsistent,
// and with ErrUnsupportedMagic for the older message formats.
func ParseHeader(b []byte) (Header, error) {
	var h Header
	if len(b) > OffMagic && b[OffMagic] != 2 {
		return h, fmt.Errorf("%w: magic %d", ErrUnsupportedMagic, b[OffMagic])
	}
	if len(b) < HeaderSize {
		return h, fmt.Errorf("%w: %d bytes is shorter than a batch header", ErrCorrupt, len(b))
	}
	h.BaseOffset = int64(binary.BigEndian.Uint64(b[0:]))
	h.Length = int32(binary.BigEndian.Uint32(b[OffBatchLength:]))
	h.Magic = int8(b[OffMagic])
	if h.Length < HeaderSize-LengthOverhead {
		return h, fmt.Errorf("%w: batch length %d", ErrCorrupt, h.Length)
	}
	h.CRC = binary.BigEndian.Uint32(b[OffCRC:])
	h.Attributes = int16(binary.BigEndian.Uint16(b[OffAttributes:]))
	h.LastOffsetDelta = int32(binary.BigEndian.Uint32(b[OffLastOffsetDelta:]))
	h.BaseTimestamp = int64(binary.BigEndian.Uint64(b[OffBaseTimestamp:]))
	h.MaxTimestamp = int64(binary.BigEndian.Uint64(b[OffMaxTimestamp:]))
	h.ProducerID = int64(binary.BigEndian.Uint64(b[OffProducerID:]))
	h.ProducerEpoch = int16(binary.BigEndian.Uint16(b[OffProducerEpoch:]))
	h.BaseSequence = int32(binary.BigEndian.Uint32(b[OffBaseSequence:]))
	h.RecordCount = int32(binary.BigEndian.Uint32(b[OffRecordCount:]))
	if h.LastOffsetDelta < 0 || h.RecordCount < 0 {
		return h, fmt.Errorf("%w: negative last offset delta %d or record count %d", ErrCorrupt, h.LastOffsetDelta, h.RecordCount)
	}
	return h, nil
}

// Split checks that b is a sequence of whole v2 record batches with good CRCs and returns
// their headers. A produce request normally carries exactly one batch.
func Split(b []byte) ([]Header, error) {
	var hs []Header
	for len(b) > 0 {
		h, err := ParseHeader(b)
		if err != nil {
			return nil, err
		}
		n := h.Size()
		if n > len(b) {
			return nil, fmt.Errorf("%w: batch of %d bytes but only %d present", ErrCorrupt, n, len(b))
		}
		if got := Checksum(b[:n]); got != h.CRC {
			return nil, fmt.Errorf("%w: crc %08x, want %08x", ErrCorrupt, got, h.CRC)
		}
		hs = append(hs, h)
		b = b[n:]
	}
	if len(hs) == 0 {
		return nil, fmt.Errorf("%w: no batch", ErrCorrupt)
	}
	return hs, nil
}
