package broker

import (
	"context"
	"fmt"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func init() { register(37, 0, 3, (*Broker).handleCreatePartitions) }

// CreatePartitions (key 37), versions 0-3: grows a topic to Count partitions. Explicit
// replica assignments are refused (one node holds everything).

func (b *Broker) handleCreatePartitions(_ context.Context, r *request) (kmsg.Response, error) {
	req := r.kreq.(*kmsg.CreatePartitionsRequest)
	resp := req.ResponseKind().(*kmsg.CreatePartitionsResponse)
	for _, rt := range req.Topics {
		st := kmsg.NewCreatePartitionsResponseTopic()
		st.Topic = rt.Topic
		fail := func(e *kerr.Error, msg string) { st.ErrorCode, st.ErrorMessage = e.Code, kmsg.StringPtr(msg) }
		t := b.topic(rt.Topic)
		switch {
		case t == nil:
			fail(kerr.UnknownTopicOrPartition, "unknown topic")
		case len(rt.Assignment) > 0:
			fail(kerr.InvalidReplicaAssignment, "replica assignments are not supported")
		case int(rt.Count) <= len(t.partitions):
			fail(kerr.InvalidPartitions, fmt.Sprintf("topic has %d partitions; the count can only grow", len(t.partitions)))
		case rt.Count > 10000:
			fail(kerr.InvalidPartitions, "at most 10000 partitions")
		case req.ValidateOnly:
		default:
			if err := b.addPartitions(rt.Topic, rt.Count); err != nil {
				fail(kerr.KafkaStorageError, err.Error())
			}
		}
		resp.Topics = append(resp.Topics, st)
	}
	return resp, nil
}

// addPartitions grows a topic to count partitions.
func (b *Broker) addPartitions(name string, count int32) error {
	err := b.replaceTopic(name, func(t *topic) error {
		had := len(t.partitions)
		for i := int32(had); i < count; i++ {
			p, err := openPartitionLog(b.partitionDir(name, i), b.logger)
			if err != nil {
				for _, q := range t.partitions[had:] {
					q.close()
				}
				return err
			}
			t.partitions = append(t.partitions, p)
		}
		return nil
	})
	if err == nil {
		b.logger.Info("partitions added", "topic", name, "partitions", count)
	}
	return err
}
