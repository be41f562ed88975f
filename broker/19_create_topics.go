package broker

import (
	"context"
	"errors"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func init() { register(19, 0, 7, (*Broker).handleCreateTopics) }

// CreateTopics (key 19), versions 0-7. A single node holds one replica of everything, so a
// replication factor above 1 is refused; -1 (the broker default, v4+) and 1 are accepted.
// Explicit replica assignments are refused. Configs: retention.ms, retention.bytes.

func (b *Broker) handleCreateTopics(_ context.Context, r *request) (kmsg.Response, error) {
	req := r.kreq.(*kmsg.CreateTopicsRequest)
	resp := req.ResponseKind().(*kmsg.CreateTopicsResponse)
	for _, rt := range req.Topics {
		st := kmsg.NewCreateTopicsResponseTopic()
		st.Topic = rt.Topic
		st.NumPartitions, st.ReplicationFactor = -1, -1
		fail := func(e *kerr.Error, msg string) {
			st.ErrorCode = e.Code
			st.ErrorMessage = kmsg.StringPtr(msg)
		}
		configs := make(map[string]*string, len(rt.Configs))
		for _, c := range rt.Configs {
			configs[c.Name] = c.Value
		}
		switch {
		case rt.ReplicationFactor > 1:
			fail(kerr.InvalidReplicationFactor, "a single broker keeps one replica; use replication factor 1 or -1")
		case len(rt.ReplicaAssignment) > 0:
			fail(kerr.InvalidReplicaAssignment, "replica assignments are not supported")
		case rt.NumPartitions == 0 || rt.NumPartitions < -1:
			fail(kerr.InvalidPartitions, "partition count must be positive")
		case b.topic(rt.Topic) != nil:
			fail(kerr.TopicAlreadyExists, "topic already exists")
		case req.ValidateOnly:
			if err := validTopicName(rt.Topic); err != nil {
				fail(kerr.InvalidTopicException, err.Error())
			} else if _, err := b.defaultTopicConfigs().with(configs); err != nil {
				fail(kerr.InvalidConfig, err.Error())
			}
		default:
			t, err := b.createTopic(rt.Topic, rt.NumPartitions, configs, false)
			switch {
			case errors.Is(err, ErrInvalidTopic):
				fail(kerr.InvalidTopicException, err.Error())
			case errors.Is(err, ErrTopicExists):
				fail(kerr.TopicAlreadyExists, err.Error())
			case errors.Is(err, ErrInvalidPartition):
				fail(kerr.InvalidPartitions, err.Error())
			case errors.Is(err, ErrStorage):
				fail(kerr.KafkaStorageError, err.Error())
			case err != nil:
				fail(kerr.InvalidConfig, err.Error())
			default:
				st.TopicID = t.id
				st.NumPartitions = int32(len(t.partitions))
				st.ReplicationFactor = 1
			}
		}
		resp.Topics = append(resp.Topics, st)
	}
	return resp, nil
}
