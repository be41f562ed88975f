package broker

import "github.com/starling-analytics/starling/internal/recordbatch"

// Idempotent producers: for each producer id, a partition remembers the sequence numbers of
// the last five batches it appended (as Kafka does), so a batch retried after a lost
// acknowledgement is answered with its original offset instead of being written twice, and
// a gap in the sequence is refused with OUT_OF_ORDER_SEQUENCE_NUMBER. The state is rebuilt
// from the batch headers when a partition is opened.

const producerBatchesKept = 5

// producerBatch is one appended batch of an idempotent producer.
type producerBatch struct {
	firstSeq, lastSeq int32
	baseOffset        int64
}

// producerState is what a partition remembers of one producer.
type producerState struct {
	epoch   int16
	batches []producerBatch // oldest first, at most producerBatchesKept
}

// seqResult is the outcome of checking a batch's sequence.
type seqResult int

const (
	seqAppend     seqResult = iota // new batch, in order: append it
	seqDuplicate                   // already appended: answer with its offset
	seqOutOfOrder                  // a gap or a stale epoch: refuse
)

// lastSeqOf is the sequence number of a batch's last record (sequences wrap at 2^31).
func lastSeqOf(h *recordbatch.Header) int32 {
	return int32((int64(h.BaseSequence) + int64(h.LastOffsetDelta)) % (1 << 31))
}

// check decides what to do with batch h of its producer; a duplicate's original base
// offset is returned with seqDuplicate.
func (s *producerState) check(h *recordbatch.Header) (seqResult, int64) {
	switch {
	case s == nil:
		return seqAppend, 0
	case h.ProducerEpoch > s.epoch:
		return seqAppend, 0 // a new epoch starts its sequences afresh
	case h.ProducerEpoch < s.epoch:
		return seqOutOfOrder, 0
	}
	for _, b := range s.batches {
		if b.firstSeq == h.BaseSequence && b.lastSeq == lastSeqOf(h) {
			return seqDuplicate, b.baseOffset
		}
	}
	if n := len(s.batches); n > 0 {
		want := int32((int64(s.batches[n-1].lastSeq) + 1) % (1 << 31))
		if h.BaseSequence != want {
			return seqOutOfOrder, 0
		}
	}
	return seqAppend, 0
}

// record notes an appended batch of producer id in states.
func recordProducerBatch(states map[int64]*producerState, h *recordbatch.Header, baseOffset int64) {
	if h.ProducerID < 0 {
		return
	}
	s := states[h.ProducerID]
	if s == nil || h.ProducerEpoch > s.epoch {
		s = &producerState{epoch: h.ProducerEpoch}
		states[h.ProducerID] = s
	}
	s.batches = append(s.batches, producerBatch{firstSeq: h.BaseSequence, lastSeq: lastSeqOf(h), baseOffset: baseOffset})
	if len(s.batches) > producerBatchesKept {
		s.batches = s.batches[len(s.batches)-producerBatchesKept:]
	}
}
