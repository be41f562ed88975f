package broker

import (
	"context"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func init() { register(22, 0, 4, (*Broker).handleInitProducerID) }

// InitProducerId (key 22), versions 0-4: gives idempotent producers (franz-go by default,
// librdkafka with enable.idempotence, Kafka's Java client) their producer id. Transactions
// are not supported: a transactional id is refused.

func (b *Broker) handleInitProducerID(_ context.Context, r *request) (kmsg.Response, error) {
	req := r.kreq.(*kmsg.InitProducerIDRequest)
	resp := req.ResponseKind().(*kmsg.InitProducerIDResponse)
	if req.TransactionalID != nil {
		resp.ErrorCode = kerr.TransactionalIDAuthorizationFailed.Code
		resp.ProducerID, resp.ProducerEpoch = -1, -1
		return resp, nil
	}
	if req.ProducerID >= 0 {
		// A producer bumping its epoch after an error (KIP-360): same id, next epoch.
		resp.ProducerID, resp.ProducerEpoch = req.ProducerID, req.ProducerEpoch+1
		return resp, nil
	}
	resp.ProducerID = b.nextProducerID.Add(1)
	resp.ProducerEpoch = 0
	return resp, nil
}
