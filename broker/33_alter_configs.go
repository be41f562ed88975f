package broker

import (
	"context"
	"errors"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func init() { register(33, 0, 2, (*Broker).handleAlterConfigs) }

// AlterConfigs (key 33), versions 0-2: set retention.ms and retention.bytes of topics,
// replacing a topic's whole set of explicit configs, as Kafka does (IncrementalAlterConfigs,
// key 44, sets or deletes single ones). Retention changes apply at the cleaner's next run.

func (b *Broker) handleAlterConfigs(_ context.Context, r *request) (kmsg.Response, error) {
	req := r.kreq.(*kmsg.AlterConfigsRequest)
	resp := req.ResponseKind().(*kmsg.AlterConfigsResponse)
	for _, rr := range req.Resources {
		res := kmsg.NewAlterConfigsResponseResource()
		res.ResourceType, res.ResourceName = rr.ResourceType, rr.ResourceName
		set := map[string]*string{}
		for _, c := range rr.Configs {
			set[c.Name] = c.Value
		}
		res.ErrorCode, res.ErrorMessage = b.alterTopicConfigs(rr.ResourceType, rr.ResourceName, true, set, req.ValidateOnly)
		resp.Resources = append(resp.Resources, res)
	}
	return resp, nil
}

// alterTopicConfigs applies config changes to a topic (replacing all explicit ones with
// replace) and returns the Kafka error code and message.
func (b *Broker) alterTopicConfigs(kind kmsg.ConfigResourceType, name string, replace bool, set map[string]*string, validateOnly bool) (int16, *string) {
	if kind != resourceTopic {
		return kerr.InvalidRequest.Code, kmsg.StringPtr("only topic configs can be altered")
	}
	edit := func(t *topic) error {
		base := t.configs
		if replace {
			base = b.defaultTopicConfigs()
		}
		c, err := base.with(set)
		if err != nil {
			return err
		}
		if !validateOnly {
			t.configs = c
		}
		return nil
	}
	err := b.replaceTopic(name, edit)
	switch {
	case err == nil:
		if !validateOnly {
			b.logger.Info("topic configs altered", "topic", name, "configs", b.topic(name).configs.overrides())
		}
		return 0, nil
	case errors.Is(err, ErrUnknownTopic):
		return kerr.UnknownTopicOrPartition.Code, kmsg.StringPtr(err.Error())
	case errors.Is(err, ErrStorage):
		return kerr.KafkaStorageError.Code, kmsg.StringPtr(err.Error())
	}
	return kerr.InvalidConfig.Code, kmsg.StringPtr(err.Error())
}
