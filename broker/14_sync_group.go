package broker

import (
	"context"

	"github.com/twmb/franz-go/pkg/kmsg"
)

func init() { register(14, 0, 5, (*Broker).handleSyncGroup) }

// SyncGroup (key 14), versions 0-5: the leader sends every member's assignment; followers
// wait for it.

func (b *Broker) handleSyncGroup(ctx context.Context, r *request) (kmsg.Response, error) {
	req := r.kreq.(*kmsg.SyncGroupRequest)
	resp := req.ResponseKind().(*kmsg.SyncGroupResponse)
	reply := b.groups.sync(ctx, req)
	resp.ErrorCode = reply.code
	resp.MemberAssignment = reply.assignment
	resp.ProtocolType, resp.Protocol = req.ProtocolType, req.Protocol
	return resp, nil
}
