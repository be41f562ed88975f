package broker

import (
	"context"

	"github.com/twmb/franz-go/pkg/kmsg"
)

func init() { register(12, 0, 4, (*Broker).handleHeartbeat) }

// Heartbeat (key 12), versions 0-4: keeps a member's session alive and tells it, with
// REBALANCE_IN_PROGRESS, when to rejoin.

func (b *Broker) handleHeartbeat(_ context.Context, r *request) (kmsg.Response, error) {
	req := r.kreq.(*kmsg.HeartbeatRequest)
	resp := req.ResponseKind().(*kmsg.HeartbeatResponse)
	resp.ErrorCode = b.groups.heartbeat(req.Group, req.MemberID, req.Generation)
	return resp, nil
}
