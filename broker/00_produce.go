package broker

import (
	"context"
	"errors"

	"github.com/starling-analytics/starling/internal/recordbatch"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func init() { register(0, 0, 9, (*Broker).handleProduce) }

// Produce (key 0), versions 0-9. Versions 3-9 carry record batches v2 (magic 2), as Kafka
// requires from them; versions 0-2, from clients written for Kafka before 0.11, carry
// message sets (magic 0 and 1), which are converted to one v2 batch each, compressed with
// the set's codec, as Kafka converts them (messages of magic 0 get log append time). Each
// batch's CRC and records are validated as Kafka's log
// validator does (records.go): a corrupt batch gets CORRUPT_MESSAGE, records that do not
// match their batch INVALID_RECORD, an unknown codec (or zstd before v7)
// UNSUPPORTED_COMPRESSION_TYPE, with the reason from v8, and nothing of the request's
// partition is written. A valid batch is stored byte for byte with its base offset
// assigned. acks=0 gets no response; acks=1 and acks=all are acknowledged once the batch
// is written (and fsynced, with Config.SyncWrites); on one node they mean the same.
// Idempotent producers (InitProducerId) get Kafka's sequence checks: a retried batch is
// answered with its original offset, a gap is refused. A batch larger than the topic's
// max.message.bytes gets MESSAGE_TOO_LARGE.

func (b *Broker) handleProduce(_ context.Context, r *request) (kmsg.Response, error) {
	req := r.kreq.(*kmsg.ProduceRequest)
	resp := req.ResponseKind().(*kmsg.ProduceResponse)
	opts := appendOpts{
		segmentBytes: b.cfg.SegmentBytes,
		segmentAge:   b.cfg.SegmentAge,
		sync:         b.cfg.SyncWrites && req.Acks != 0,
		now:          b.cfg.Now(),
	}
	for _, rt := range req.Topics {
		st := kmsg.NewProduceResponseTopic()
		st.Topic = rt.Topic
		t := b.topic(rt.Topic)
		for _, rp := range rt.Partitions {
			sp := kmsg.NewProduceResponseTopicPartition()
			sp.Partition = rp.Partition
			sp.BaseOffset = -1
			sp.ErrorCode = b.produceOne(t, rp, req.Version, opts, &sp)
			st.Partitions = append(st.Partitions, sp)
		}
		resp.Topics = append(resp.Topics, st)
	}
	if req.Acks == 0 {
		return nil, nil
	}
	return resp, nil
}

func (b *Broker) produceOne(t *topic, rp kmsg.ProduceRequestTopicPartition, version int16, opts appendOpts, sp *kmsg.ProduceResponseTopicPartition) int16 {
	if t == nil || rp.Partition < 0 || int(rp.Partition) >= len(t.partitions) {
		return kerr.UnknownTopicOrPartition.Code
	}
	p := t.partitions[rp.Partition]
	limit := decompressedLimit(t.configs.maxMessageBytes)
	if version < 3 {
		if len(rp.Records) > int(t.configs.maxMessageBytes) {
			return kerr.MessageTooLarge.Code
		}
		batch, err := recordbatch.FromMessageSet(rp.Records, limit, opts.now.UnixMilli())
		if err != nil {
			b.logger.Warn("rejected message set", "topic", t.name, "partition", rp.Partition, "err", err)
			return reject(sp, produceErrorCode(err), err.Error())
		}
		rp.Records = batch
	}
	hs, err := recordbatch.Split(rp.Records)
	if err != nil {
		b.logger.Warn("rejected corrupt batch", "topic", t.name, "partition", rp.Partition, "err", err)
		return reject(sp, produceErrorCode(err), err.Error())
	}
	rest := rp.Records
	for i := range hs {
		h := &hs[i]
		batch := rest[:h.Size()]
		rest = rest[h.Size():]
		if version >= 3 && h.Size() > int(t.configs.maxMessageBytes) {
			return kerr.MessageTooLarge.Code // a converted message set was checked before
		}
		if h.IsTransactional() {
			return kerr.TransactionalIDAuthorizationFailed.Code // transactions are not supported
		}
		if h.Codec() == recordbatch.CodecZstd && version < 7 {
			return reject(sp, kerr.UnsupportedCompressionType.Code, "zstd needs Produce v7 or later")
		}
		if err := recordbatch.Validate(batch, h, limit); err != nil {
			b.logger.Warn("rejected invalid batch", "topic", t.name, "partition", rp.Partition, "err", err)
			return reject(sp, produceErrorCode(err), err.Error())
		}
	}
	base, err := p.append(rp.Records, hs, opts)
	if errors.Is(err, ErrOutOfOrderSequence) {
		b.logger.Warn("refused batch", "topic", t.name, "partition", rp.Partition, "err", err)
		return kerr.OutOfOrderSequenceNumber.Code
	}
	if err != nil {
		b.logger.Error("append failed", "topic", t.name, "partition", rp.Partition, "err", err)
		return kerr.KafkaStorageError.Code
	}
	sp.BaseOffset = base
	var records int
	for _, h := range hs {
		records += int(h.RecordCount)
	}
	b.metrics.bytesIn.WithLabelValues(t.name).Add(float64(len(rp.Records)))
	b.metrics.recordsIn.WithLabelValues(t.name).Add(float64(records))
	sp.LogAppendTime = -1
	sp.LogStartOffset, _ = p.offsets()
	return 0
}

// produceErrorCode is the Kafka error code of a batch that validation refused.
func produceErrorCode(err error) int16 {
	switch {
	case errors.Is(err, recordbatch.ErrUnsupportedCompression):
		return kerr.UnsupportedCompressionType.Code
	case errors.Is(err, recordbatch.ErrInvalidRecord), errors.Is(err, recordbatch.ErrUnsupportedMagic):
		// Kafka's answer to a record format the request version does not carry.
		return kerr.InvalidRecord.Code
	default:
		return kerr.CorruptMessage.Code
	}
}

// decompressedLimit is how many bytes a batch's records may decompress to: a factor of the
// topic's max.message.bytes (which bounds the compressed batch), so that producers that cap
// their batches before compression (kafka-go, franz-go, librdkafka) and the Java producer,
// which caps them after, all fit, and a decompression bomb does not.
func decompressedLimit(maxMessageBytes int32) int64 { return 32 * int64(maxMessageBytes) }

// reject answers a partition's batch with an error code and, from Produce v8, the reason.
func reject(sp *kmsg.ProduceResponseTopicPartition, code int16, why string) int16 {
	sp.ErrorMessage = &why
	return code
}
