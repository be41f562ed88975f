package broker

import (
	"context"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func init() { register(2, 0, 6, (*Broker).handleListOffsets) }

// ListOffsets (key 2), versions 0-6: timestamp -1 is the latest offset (the high
// watermark), -2 the earliest still kept, any other timestamp the first batch whose newest
// record is at or after it. Version 0 answers in its old list form.

func (b *Broker) handleListOffsets(_ context.Context, r *request) (kmsg.Response, error) {
	req := r.kreq.(*kmsg.ListOffsetsRequest)
	resp := req.ResponseKind().(*kmsg.ListOffsetsResponse)
	for _, rt := range req.Topics {
		st := kmsg.NewListOffsetsResponseTopic()
		st.Topic = rt.Topic
		for _, rp := range rt.Partitions {
			sp := kmsg.NewListOffsetsResponseTopicPartition()
			sp.Partition = rp.Partition
			p := b.partition(rt.Topic, rp.Partition)
			if p == nil {
				sp.ErrorCode = kerr.UnknownTopicOrPartition.Code
				st.Partitions = append(st.Partitions, sp)
				continue
			}
			start, end := p.offsets()
			var off int64
			switch rp.Timestamp {
			case -1:
				off = end
			case -2:
				off = start
			default:
				off = p.offsetForTime(rp.Timestamp)
				sp.Timestamp = rp.Timestamp
			}
			if rp.Timestamp < 0 {
				sp.Timestamp = -1
			}
			sp.Offset = off
			if req.Version == 0 {
				sp.OldStyleOffsets = []int64{off}
			}
			st.Partitions = append(st.Partitions, sp)
		}
		resp.Topics = append(resp.Topics, st)
	}
	return resp, nil
}
