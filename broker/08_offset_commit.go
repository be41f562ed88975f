package broker

import (
	"context"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func init() { register(8, 0, 8, (*Broker).handleOffsetCommit) }

// OffsetCommit (key 8), versions 0-8. Members commit with their generation; an empty group
// accepts commits without one (generation -1), as Kafka does for admin tools. Offsets are
// on disk before the answer.

func (b *Broker) handleOffsetCommit(_ context.Context, r *request) (kmsg.Response, error) {
	req := r.kreq.(*kmsg.OffsetCommitRequest)
	resp := req.ResponseKind().(*kmsg.OffsetCommitResponse)
	code := int16(0)
	if req.Version >= 1 {
		code = b.groups.checkCommit(req.Group, req.MemberID, req.Generation)
	}
	commit := make(map[string]map[int32]committedOffset)
	if code == 0 {
		for _, t := range req.Topics {
			ps := make(map[int32]committedOffset, len(t.Partitions))
			for _, p := range t.Partitions {
				md := ""
				if p.Metadata != nil {
					md = *p.Metadata
				}
				ps[p.Partition] = committedOffset{Offset: p.Offset, LeaderEpoch: p.LeaderEpoch, Metadata: md}
			}
			commit[t.Topic] = ps
		}
		if err := b.groups.offsets.commit(req.Group, commit); err != nil {
			b.logger.Error("offset commit failed", "group", req.Group, "err", err)
			code = kerr.KafkaStorageError.Code
		}
	}
	for _, t := range req.Topics {
		st := kmsg.NewOffsetCommitResponseTopic()
		st.Topic = t.Topic
		for _, p := range t.Partitions {
			sp := kmsg.NewOffsetCommitResponseTopicPartition()
			sp.Partition = p.Partition
			sp.ErrorCode = code
			st.Partitions = append(st.Partitions, sp)
		}
		resp.Topics = append(resp.Topics, st)
	}
	return resp, nil
}
