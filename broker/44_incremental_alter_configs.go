package broker

import (
	"context"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func init() { register(44, 0, 1, (*Broker).handleIncrementalAlterConfigs) }

// IncrementalAlterConfigs (key 44), versions 0-1: set or delete single configs of topics
// (retention.ms, retention.bytes); the changes go through AlterConfigs' alterTopicConfigs.

func (b *Broker) handleIncrementalAlterConfigs(_ context.Context, r *request) (kmsg.Response, error) {
	req := r.kreq.(*kmsg.IncrementalAlterConfigsRequest)
	resp := req.ResponseKind().(*kmsg.IncrementalAlterConfigsResponse)
	for _, rr := range req.Resources {
		res := kmsg.NewIncrementalAlterConfigsResponseResource()
		res.ResourceType, res.ResourceName = rr.ResourceType, rr.ResourceName
		set := map[string]*string{}
		var bad string
		for _, c := range rr.Configs {
			switch c.Op {
			case kmsg.IncrementalAlterConfigOpSet:
				set[c.Name] = c.Value
			case kmsg.IncrementalAlterConfigOpDelete:
				set[c.Name] = nil
			default:
				bad = c.Name
			}
		}
		if bad != "" {
			res.ErrorCode = kerr.InvalidRequest.Code
			res.ErrorMessage = kmsg.StringPtr(bad + ": append and subtract apply only to list configs")
		} else {
			res.ErrorCode, res.ErrorMessage = b.alterTopicConfigs(rr.ResourceType, rr.ResourceName, false, set, req.ValidateOnly)
		}
		resp.Resources = append(resp.Resources, res)
	}
	return resp, nil
}
