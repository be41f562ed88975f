package broker

import (
	"context"
	"strconv"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func init() { register(32, 0, 4, (*Broker).handleDescribeConfigs) }

// DescribeConfigs (key 32), versions 0-4: topic configs (retention.ms and retention.bytes
// are settable; the rest describe this broker) and, for the broker resource, its defaults.

const (
	resourceTopic  = kmsg.ConfigResourceTypeTopic
	resourceBroker = kmsg.ConfigResourceTypeBroker
)

func (b *Broker) handleDescribeConfigs(_ context.Context, r *request) (kmsg.Response, error) {
	req := r.kreq.(*kmsg.DescribeConfigsRequest)
	resp := req.ResponseKind().(*kmsg.DescribeConfigsResponse)
	for _, rr := range req.Resources {
		res := kmsg.NewDescribeConfigsResponseResource()
		res.ResourceType, res.ResourceName = rr.ResourceType, rr.ResourceName
		var entries []configEntry
		source := kmsg.ConfigSourceDynamicTopicConfig
		switch rr.ResourceType {
		case resourceTopic:
			t := b.topic(rr.ResourceName)
			if t == nil {
				res.ErrorCode = kerr.UnknownTopicOrPartition.Code
				resp.Resources = append(resp.Resources, res)
				continue
			}
			entries = b.describeTopicConfigs(t.configs)
		case resourceBroker:
			if rr.ResourceName != "" && rr.ResourceName != strconv.Itoa(int(b.cfg.NodeID)) {
				res.ErrorCode = kerr.InvalidRequest.Code
				res.ErrorMessage = kmsg.StringPtr("unknown broker id " + rr.ResourceName)
				resp.Resources = append(resp.Resources, res)
				continue
			}
			for _, e := range b.describeTopicConfigs(b.defaultTopicConfigs()) {
				e.name = "log." + e.name // the broker-level names of the topic defaults
				e.readOnly = true
				entries = append(entries, e)
			}
			source = kmsg.ConfigSourceStaticBrokerConfig
		default:
			res.ErrorCode = kerr.InvalidRequest.Code
			res.ErrorMessage = kmsg.StringPtr("only topic and broker configs are described")
			resp.Resources = append(resp.Resources, res)
			continue
		}
		for _, e := range entries {
			if len(rr.ConfigNames) > 0 && !contains(rr.ConfigNames, e.name) {
				continue
			}
			c := kmsg.NewDescribeConfigsResponseResourceConfig()
			c.Name, c.Value, c.ReadOnly = e.name, kmsg.StringPtr(e.value), e.readOnly
			c.IsDefault = !e.explicit
			c.Source = kmsg.ConfigSourceDefaultConfig
			if e.explicit {
				c.Source = source
			} else if rr.ResourceType == resourceBroker {
				c.Source = source
			}
			res.Configs = append(res.Configs, c)
		}
		resp.Resources = append(resp.Resources, res)
	}
	return resp, nil
}
