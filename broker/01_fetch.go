package broker

import (
	"context"
	"errors"
	"reflect"
	"time"

	"github.com/starling-analytics/starling/internal/recordbatch"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func init() { register(1, 0, 12, (*Broker).handleFetch) }

// Fetch (key 1), versions 0-12. Versions 0-3, from clients written for Kafka before 0.11,
// get message sets: the stored v2 batches converted down to uncompressed messages of
// magic 0 (v0-1) or 1 (v2-3), from the fetch offset on, without headers, within the
// partition's byte limit but at least one message, as Kafka converts them. Long polling: the answer waits up to MaxWaitMillis for
// MinBytes to be available. Each partition returns whole batches starting with the one
// that holds the fetch offset (the client drops the records before it), up to the
// partition's and the request's byte limits, but at least one batch so that a batch larger
// than the limits cannot stall a consumer. Fetch sessions (v7+) are not kept: SessionID 0
// tells clients to send full requests. Isolation levels are equal: there are no
// transactions, so the last stable offset is the high watermark.

func (b *Broker) handleFetch(ctx context.Context, r *request) (kmsg.Response, error) {
	req := r.kreq.(*kmsg.FetchRequest)
	maxWait := time.Duration(req.MaxWaitMillis) * time.Millisecond
	deadline := time.Now().Add(maxWait)
	for {
		// Take the wake-up channels before reading, so an append that lands between the
		// read and the wait is not missed.
		waits := b.fetchWaits(req)
		resp, n := b.fetchOnce(req)
		remaining := time.Until(deadline)
		if n >= int(req.MinBytes) || n > 0 && req.MinBytes <= 0 || remaining <= 0 || len(waits) == 0 {
			return resp, nil
		}
		if !waitAny(ctx, waits, remaining) {
			return resp, nil // deadline or shutdown: answer what there is
		}
	}
}

// fetchWaits returns the append notification channels of the requested partitions that exist.
func (b *Broker) fetchWaits(req *kmsg.FetchRequest) []<-chan struct{} {
	var waits []<-chan struct{}
	for _, rt := range req.Topics {
		for _, rp := range rt.Partitions {
			if p := b.partition(rt.Topic, rp.Partition); p != nil {
				ch, _ := p.waitChan()
				waits = append(waits, ch)
			}
		}
	}
	return waits
}

// waitAny blocks until one of chans is closed (true), or the timeout passes or ctx is done
// (false).
func waitAny(ctx context.Context, chans []<-chan struct{}, timeout time.Duration) bool {
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	if len(chans) == 1 {
		select {
		case <-chans[0]:
			return true
		case <-timer.C:
		case <-ctx.Done():
		}
		return false
	}
	cases := make([]reflect.SelectCase, 0, len(chans)+2)
	cases = append(cases,
		reflect.SelectCase{Dir: reflect.SelectRecv, Chan: reflect.ValueOf(timer.C)},
		reflect.SelectCase{Dir: reflect.SelectRecv, Chan: reflect.ValueOf(ctx.Done())})
	for _, ch := range chans {
		cases = append(cases, reflect.SelectCase{Dir: reflect.SelectRecv, Chan: reflect.ValueOf(ch)})
	}
	chosen, _, _ := reflect.Select(cases)
	return chosen >= 2
}

// fetchOnce builds a fetch response from what the logs hold now and returns it with the
// number of record bytes it carries.
func (b *Broker) fetchOnce(req *kmsg.FetchRequest) (*kmsg.FetchResponse, int) {
	resp := req.ResponseKind().(*kmsg.FetchResponse)
	budget := int(req.MaxBytes)
	if req.Version < 3 || budget <= 0 {
		budget = 52428800 // fetch.max.bytes default
	}
	total := 0
	for _, rt := range req.Topics {
		st := kmsg.NewFetchResponseTopic()
		st.Topic = rt.Topic
		st.TopicID = rt.TopicID
		t := b.topic(rt.Topic)
		for _, rp := range rt.Partitions {
			sp := kmsg.NewFetchResponseTopicPartition()
			sp.Partition = rp.Partition
			sp.HighWatermark, sp.LastStableOffset, sp.LogStartOffset = -1, -1, -1
			sp.RecordBatches = []byte{} // librdkafka rejects a null record set
			if t == nil || rp.Partition < 0 || int(rp.Partition) >= len(t.partitions) {
				sp.ErrorCode = kerr.UnknownTopicOrPartition.Code
				st.Partitions = append(st.Partitions, sp)
				continue
			}
			p := t.partitions[rp.Partition]
			limit := min(int(rp.PartitionMaxBytes), budget)
			if total == 0 {
				limit = max(limit, 1) // first data always gets at least one whole batch
			}
			var data []byte
			var err error
			if limit > 0 {
				data, err = p.read(rp.FetchOffset, limit)
			}
			if err == nil && len(data) > 0 && req.Version < 4 {
				magic := int8(1)
				if req.Version < 2 {
					magic = 0
				}
				data, err = recordbatch.AppendMessageSet(nil, data, magic, rp.FetchOffset, limit, decompressedLimit(t.configs.maxMessageBytes))
			}
			start, end := p.offsets()
			sp.HighWatermark, sp.LastStableOffset, sp.LogStartOffset = end, end, start
			switch {
			case errors.Is(err, ErrOffsetOutOfRange):
				sp.ErrorCode = kerr.OffsetOutOfRange.Code
			case err != nil:
				b.logger.Error("fetch read failed", "topic", rt.Topic, "partition", rp.Partition, "err", err)
				sp.ErrorCode = kerr.KafkaStorageError.Code
			default:
				if data != nil {
					sp.RecordBatches = data
				}
				total += len(data)
				if len(data) > 0 {
					b.metrics.bytesOut.WithLabelValues(rt.Topic).Add(float64(len(data)))
				}
				budget -= len(data)
			}
			st.Partitions = append(st.Partitions, sp)
		}
		resp.Topics = append(resp.Topics, st)
	}
	return resp, total
}
