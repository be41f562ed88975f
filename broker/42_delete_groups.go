package broker

import (
	"context"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func init() { register(42, 0, 2, (*Broker).handleDeleteGroups) }

// DeleteGroups (key 42), versions 0-2: removes groups that have no members, with their
// committed offsets.

func (b *Broker) handleDeleteGroups(_ context.Context, r *request) (kmsg.Response, error) {
	req := r.kreq.(*kmsg.DeleteGroupsRequest)
	resp := req.ResponseKind().(*kmsg.DeleteGroupsResponse)
	for _, id := range req.Groups {
		g := kmsg.NewDeleteGroupsResponseGroup()
		g.Group = id
		g.ErrorCode = b.groups.delete(id)
		resp.Groups = append(resp.Groups, g)
	}
	return resp, nil
}

// delete removes an empty group and its offsets.
func (c *coordinator) delete(id string) int16 {
	c.mu.Lock()
	g := c.groups[id]
	if g != nil && len(g.members) > 0 {
		c.mu.Unlock()
		return kerr.NonEmptyGroup.Code
	}
	delete(c.groups, id)
	c.mu.Unlock()
	found, err := c.offsets.deleteGroup(id)
	switch {
	case err != nil:
		c.logger.Error("delete group offsets failed", "group", id, "err", err)
		return kerr.KafkaStorageError.Code
	case !found && g == nil:
		return kerr.GroupIDNotFound.Code
	}
	c.logger.Info("group deleted", "group", id)
	return 0
}
