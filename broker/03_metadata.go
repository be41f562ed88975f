package broker

import (
	"context"
	"errors"
	"sort"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func init() { register(3, 0, 11, (*Broker).handleMetadata) }

// Metadata (key 3), versions 0-11: this node is every partition's leader and only replica.
// Unknown topics are created with the default partition count when auto-creation is on and
// the client allows it (always before v4, AllowAutoTopicCreation from v4). Topic ids are
// returned from v10.

// clusterID is reported in Metadata and DescribeCluster.
const clusterID = "starling"

func (b *Broker) handleMetadata(_ context.Context, r *request) (kmsg.Response, error) {
	req := r.kreq.(*kmsg.MetadataRequest)
	resp := req.ResponseKind().(*kmsg.MetadataResponse)
	broker := kmsg.NewMetadataResponseBroker()
	broker.NodeID, broker.Host, broker.Port = b.cfg.NodeID, b.advHost, b.advPort
	resp.Brokers = []kmsg.MetadataResponseBroker{broker}
	cid := clusterID
	resp.ClusterID = &cid
	resp.ControllerID = b.cfg.NodeID

	var names []string
	all := req.Topics == nil || (req.Version == 0 && len(req.Topics) == 0)
	if all {
		b.mu.RLock()
		for name := range b.topics {
			names = append(names, name)
		}
		b.mu.RUnlock()
		sort.Strings(names)
	} else {
		for _, rt := range req.Topics {
			if rt.Topic != nil {
				names = append(names, *rt.Topic)
			}
		}
	}
	autoCreate := !b.cfg.DisableAutoCreate && (req.Version < 4 || req.AllowAutoTopicCreation)
	for _, name := range names {
		st := kmsg.NewMetadataResponseTopic()
		st.Topic = kmsg.StringPtr(name)
		t := b.topic(name)
		if t == nil && autoCreate {
			var err error
			t, err = b.createTopic(name, 0, nil, true)
			if errors.Is(err, ErrInvalidTopic) {
				st.ErrorCode = kerr.InvalidTopicException.Code
				resp.Topics = append(resp.Topics, st)
				continue
			} else if err != nil {
				b.logger.Error("auto-create topic failed", "topic", name, "err", err)
			}
		}
		if t == nil {
			st.ErrorCode = kerr.UnknownTopicOrPartition.Code
			resp.Topics = append(resp.Topics, st)
			continue
		}
		st.TopicID = t.id
		for i := range t.partitions {
			sp := kmsg.NewMetadataResponseTopicPartition()
			sp.Partition = int32(i)
			sp.Leader = b.cfg.NodeID
			sp.LeaderEpoch = 0
			sp.Replicas = []int32{b.cfg.NodeID}
			sp.ISR = []int32{b.cfg.NodeID}
			st.Partitions = append(st.Partitions, sp)
		}
		resp.Topics = append(resp.Topics, st)
	}
	return resp, nil
}
