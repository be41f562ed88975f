package broker

import (
	"context"

	"github.com/twmb/franz-go/pkg/kmsg"
)

func init() { register(13, 0, 4, (*Broker).handleLeaveGroup) }

// LeaveGroup (key 13), versions 0-4: one member before v3, a list of members from v3.

func (b *Broker) handleLeaveGroup(_ context.Context, r *request) (kmsg.Response, error) {
	req := r.kreq.(*kmsg.LeaveGroupRequest)
	resp := req.ResponseKind().(*kmsg.LeaveGroupResponse)
	if req.Version < 3 {
		resp.ErrorCode = b.groups.leave(req.Group, req.MemberID)
		return resp, nil
	}
	for _, m := range req.Members {
		rm := kmsg.NewLeaveGroupResponseMember()
		rm.MemberID, rm.InstanceID = m.MemberID, m.InstanceID
		rm.ErrorCode = b.groups.leave(req.Group, m.MemberID)
		resp.Members = append(resp.Members, rm)
	}
	return resp, nil
}
