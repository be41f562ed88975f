package broker

import (
	"context"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func init() { register(20, 0, 6, (*Broker).handleDeleteTopics) }

// DeleteTopics (key 20), versions 0-6: by name, and from v6 by name or topic id.

func (b *Broker) handleDeleteTopics(_ context.Context, r *request) (kmsg.Response, error) {
	req := r.kreq.(*kmsg.DeleteTopicsRequest)
	resp := req.ResponseKind().(*kmsg.DeleteTopicsResponse)
	var names []*string
	var ids [][16]byte
	if req.Version >= 6 {
		for _, t := range req.Topics {
			names = append(names, t.Topic)
			ids = append(ids, t.TopicID)
		}
	} else {
		for _, n := range req.TopicNames {
			names = append(names, kmsg.StringPtr(n))
			ids = append(ids, [16]byte{})
		}
	}
	for i, name := range names {
		st := kmsg.NewDeleteTopicsResponseTopic()
		st.TopicID = ids[i]
		if name == nil {
			name = b.topicNameByID(ids[i])
		}
		st.Topic = name
		if name == nil || b.DeleteTopic(*name) != nil {
			st.ErrorCode = kerr.UnknownTopicOrPartition.Code
		}
		resp.Topics = append(resp.Topics, st)
	}
	return resp, nil
}

// topicNameByID finds a topic's name from its id, or nil.
func (b *Broker) topicNameByID(id [16]byte) *string {
	b.mu.RLock()
	defer b.mu.RUnlock()
	for name, t := range b.topics {
		if t.id == id {
			return kmsg.StringPtr(name)
		}
	}
	return nil
}
