package broker

import (
	"context"

	"github.com/twmb/franz-go/pkg/kmsg"
)

func init() { register(60, 0, 1, (*Broker).handleDescribeCluster) }

// DescribeCluster (key 60), versions 0-1: one broker, which is also the controller.

func (b *Broker) handleDescribeCluster(_ context.Context, r *request) (kmsg.Response, error) {
	req := r.kreq.(*kmsg.DescribeClusterRequest)
	resp := req.ResponseKind().(*kmsg.DescribeClusterResponse)
	resp.ClusterID = clusterID
	resp.ControllerID = b.cfg.NodeID
	br := kmsg.NewDescribeClusterResponseBroker()
	br.NodeID, br.Host, br.Port = b.cfg.NodeID, b.advHost, b.advPort
	resp.Brokers = []kmsg.DescribeClusterResponseBroker{br}
	return resp, nil
}
