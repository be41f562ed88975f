package broker

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
)

// Record batch v2 layout (Kafka's "magic 2" format, KIP-98). Offsets into the header:
//
//	baseOffset int64 | batchLength int32 | partitionLeaderEpoch int32 | magic int8 | crc uint32 |
//	attributes int16 | lastOffsetDelta int32 | baseTimestamp int64 | maxTimestamp int64 |
//	producerId int64 | producerEpoch int16 | baseSequence int32 | recordCount int32 | records...
//
// The CRC-32C covers attributes to the end, so the broker may rewrite baseOffset and
// partitionLeaderEpoch without recomputing it: batches are stored byte for byte as received.
const (
	batchHeaderSize     = 61
	batchLengthOverhead = 12 // baseOffset + batchLength precede the length-counted bytes
	offBatchLength      = 8
	offLeaderEpoch      = 12
	offMagic            = 16
	offCRC              = 17
	offAttributes       = 21
	offLastOffsetDelta  = 23
	offBaseTimestamp    = 27
	offMaxTimestamp     = 35
	offProducerID       = 43
	offProducerEpoch    = 51
	offBaseSequence     = 53
	offRecordCount      = 57
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Errors from batch validation; produce maps them to CORRUPT_MESSAGE or
// UNSUPPORTED_FOR_MESSAGE_FORMAT.
var (
	ErrCorruptBatch     = errors.New("corrupt record batch")
	ErrUnsupportedMagic = errors.New("unsupported record batch magic (only v2 is accepted)")
)

// batchHeader is the decoded fixed part of a record batch.
type batchHeader struct {
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

// size is the number of bytes the whole batch occupies.
func (h *batchHeader) size() int { return int(h.Length) + batchLengthOverhead }

// lastOffset is the offset of the batch's last record.
func (h *batchHeader) lastOffset() int64 { return h.BaseOffset + int64(h.LastOffsetDelta) }

// isTransactional and isControl mirror the attribute bits 4 and 5.
func (h *batchHeader) isTransactional() bool { return h.Attributes&0x10 != 0 }
func (h *batchHeader) isControl() bool       { return h.Attributes&0x20 != 0 }

// parseBatchHeader decodes the fixed header at the start of b without checking the CRC.
// It fails with ErrCorruptBatch when b is shorter than the header or the length field
// disagrees with what the header needs.
func parseBatchHeader(b []byte) (batchHeader, error) {
	var h batchHeader
	if len(b) < batchHeaderSize {
		return h, fmt.Errorf("%w: %d bytes is shorter than a batch header", ErrCorruptBatch, len(b))
	}
	h.BaseOffset = int64(binary.BigEndian.Uint64(b[0:]))
	h.Length = int32(binary.BigEndian.Uint32(b[offBatchLength:]))
	h.Magic = int8(b[offMagic])
	if h.Magic != 2 {
		return h, fmt.Errorf("%w: magic %d", ErrUnsupportedMagic, h.Magic)
	}
	if h.Length < batchHeaderSize-batchLengthOverhead {
		return h, fmt.Errorf("%w: batch length %d", ErrCorruptBatch, h.Length)
	}
	h.CRC = binary.BigEndian.Uint32(b[offCRC:])
	h.Attributes = int16(binary.BigEndian.Uint16(b[offAttributes:]))
	h.LastOffsetDelta = int32(binary.BigEndian.Uint32(b[offLastOffsetDelta:]))
	h.BaseTimestamp = int64(binary.BigEndian.Uint64(b[offBaseTimestamp:]))
	h.MaxTimestamp = int64(binary.BigEndian.Uint64(b[offMaxTimestamp:]))
	h.ProducerID = int64(binary.BigEndian.Uint64(b[offProducerID:]))
	h.ProducerEpoch = int16(binary.BigEndian.Uint16(b[offProducerEpoch:]))
	h.BaseSequence = int32(binary.BigEndian.Uint32(b[offBaseSequence:]))
	h.RecordCount = int32(binary.BigEndian.Uint32(b[offRecordCount:]))
	if h.LastOffsetDelta < 0 || h.RecordCount < 0 {
		return h, fmt.Errorf("%w: negative last offset delta %d or record count %d", ErrCorruptBatch, h.LastOffsetDelta, h.RecordCount)
	}
	return h, nil
}

// validateBatches checks that b is a sequence of whole v2 record batches with good CRCs,
// and returns their headers. A produce request normally carries exactly one batch.
func validateBatches(b []byte) ([]batchHeader, error) {
	var hs []batchHeader
	for len(b) > 0 {
		h, err := parseBatchHeader(b)
		if err != nil {
			return nil, err
		}
		n := h.size()
		if n > len(b) {
			return nil, fmt.Errorf("%w: batch of %d bytes but only %d present", ErrCorruptBatch, n, len(b))
		}
		if got := crc32.Checksum(b[offAttributes:n], castagnoli); got != h.CRC {
			return nil, fmt.Errorf("%w: crc %08x, want %08x", ErrCorruptBatch, got, h.CRC)
		}
		hs = append(hs, h)
		b = b[n:]
	}
	if len(hs) == 0 {
		return nil, fmt.Errorf("%w: no batch", ErrCorruptBatch)
	}
	return hs, nil
}

// setBaseOffset rewrites the baseOffset field of the batch at the start of b.
func setBaseOffset(b []byte, offset int64) {
	binary.BigEndian.PutUint64(b[0:], uint64(offset))
}
