package broker

import (
	"context"

	"github.com/twmb/franz-go/pkg/kmsg"
)

func init() { register(10, 0, 3, (*Broker).handleFindCoordinator) }

// FindCoordinator (key 10), versions 0-3: this node coordinates every group.

func (b *Broker) handleFindCoordinator(_ context.Context, r *request) (kmsg.Response, error) {
	req := r.kreq.(*kmsg.FindCoordinatorRequest)
	resp := req.ResponseKind().(*kmsg.FindCoordinatorResponse)
	resp.NodeID, resp.Host, resp.Port = b.cfg.NodeID, b.advHost, b.advPort
	return resp, nil
}
