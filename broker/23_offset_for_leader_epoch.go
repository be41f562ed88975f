package broker

import (
	"context"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func init() { register(23, 0, 3, (*Broker).handleOffsetForLeaderEpoch) }

// OffsetForLeaderEpoch (key 23), versions 0-3: a single node never changes leader, so every
// partition has leader epoch 0, which ends at the high watermark. Clients (franz-go,
// librdkafka) use this to check for log truncation after a reconnect.

func (b *Broker) handleOffsetForLeaderEpoch(_ context.Context, r *request) (kmsg.Response, error) {
	req := r.kreq.(*kmsg.OffsetForLeaderEpochRequest)
	resp := req.ResponseKind().(*kmsg.OffsetForLeaderEpochResponse)
	for _, rt := range req.Topics {
		st := kmsg.NewOffsetForLeaderEpochResponseTopic()
		st.Topic = rt.Topic
		for _, rp := range rt.Partitions {
			sp := kmsg.NewOffsetForLeaderEpochResponseTopicPartition()
			sp.Partition = rp.Partition
			p := b.partition(rt.Topic, rp.Partition)
			switch {
			case p == nil:
				sp.ErrorCode = kerr.UnknownTopicOrPartition.Code
				sp.LeaderEpoch, sp.EndOffset = -1, -1
			case rp.CurrentLeaderEpoch > 0:
				sp.ErrorCode = kerr.UnknownLeaderEpoch.Code
				sp.LeaderEpoch, sp.EndOffset = -1, -1
			default:
				_, end := p.offsets()
				sp.LeaderEpoch, sp.EndOffset = 0, end
			}
			st.Partitions = append(st.Partitions, sp)
		}
		resp.Topics = append(resp.Topics, st)
	}
	return resp, nil
}
