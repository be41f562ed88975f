package broker

import (
	"context"
	"sort"

	"github.com/twmb/franz-go/pkg/kmsg"
)

func init() { register(9, 0, 7, (*Broker).handleOffsetFetch) }

// OffsetFetch (key 9), versions 0-7: the requested partitions, or (v2+, topics null) every
// partition the group has committed. A partition without a commit answers offset -1.

func (b *Broker) handleOffsetFetch(_ context.Context, r *request) (kmsg.Response, error) {
	req := r.kreq.(*kmsg.OffsetFetchRequest)
	resp := req.ResponseKind().(*kmsg.OffsetFetchResponse)
	committed := b.groups.offsets.fetch(req.Group)
	add := func(topic string, partitions []int32) {
		st := kmsg.NewOffsetFetchResponseTopic()
		st.Topic = topic
		for _, p := range partitions {
			sp := kmsg.NewOffsetFetchResponseTopicPartition()
			sp.Partition = p
			sp.Offset, sp.LeaderEpoch = -1, -1
			if o, ok := committed[topic][p]; ok {
				sp.Offset, sp.LeaderEpoch = o.Offset, o.LeaderEpoch
				sp.Metadata = kmsg.StringPtr(o.Metadata)
			}
			st.Partitions = append(st.Partitions, sp)
		}
		resp.Topics = append(resp.Topics, st)
	}
	if req.Topics == nil {
		topics := make([]string, 0, len(committed))
		for t := range committed {
			topics = append(topics, t)
		}
		sort.Strings(topics)
		for _, t := range topics {
			var ps []int32
			for p := range committed[t] {
				ps = append(ps, p)
			}
			sort.Slice(ps, func(i, j int) bool { return ps[i] < ps[j] })
			add(t, ps)
		}
		return resp, nil
	}
	for _, t := range req.Topics {
		add(t.Topic, t.Partitions)
	}
	return resp, nil
}
