package broker

import (
	"context"
	"net"

	"github.com/twmb/franz-go/pkg/kmsg"
)

func init() { register(11, 0, 7, (*Broker).handleJoinGroup) }

// JoinGroup (key 11), versions 0-7. A member without an id is given one at once, at every
// version (MEMBER_ID_REQUIRED is never sent, so kafka-go's v1/v2 joins work); static
// membership (group.instance.id, v5+) is accepted and treated as dynamic. The request waits
// until the rebalance completes.

func (b *Broker) handleJoinGroup(ctx context.Context, r *request) (kmsg.Response, error) {
	req := r.kreq.(*kmsg.JoinGroupRequest)
	host, _, _ := net.SplitHostPort(r.conn.RemoteAddr().String())
	resp := b.groups.join(ctx, req, r.clientID, "/"+host)
	return resp, nil
}
