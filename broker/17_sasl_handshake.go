package broker

import (
	"context"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func init() { register(17, 0, 1, (*Broker).handleSaslHandshake) }

// SaslHandshake (key 17), versions 0-1: the first step of SASL PLAIN and SCRAM-SHA-256/512
// against Config.Users; the exchange itself is SaslAuthenticate's (key 36). Version 0 is
// advertised because librdkafka requires it to enable SASL at all, but raw SASL tokens
// outside Kafka's framing (a handshake v0 client that knows no SaslAuthenticate, Kafka
// before 1.0) close the connection. Until a connection has authenticated, it may send only
// ApiVersions and these two.

func (b *Broker) handleSaslHandshake(_ context.Context, r *request) (kmsg.Response, error) {
	req := r.kreq.(*kmsg.SASLHandshakeRequest)
	resp := req.ResponseKind().(*kmsg.SASLHandshakeResponse)
	if b.auth == nil {
		resp.ErrorCode = kerr.IllegalSaslState.Code // this listener has no authentication
		return resp, nil
	}
	resp.SupportedMechanisms = b.auth.mechanisms()
	if !contains(resp.SupportedMechanisms, req.Mechanism) {
		resp.ErrorCode = kerr.UnsupportedSaslMechanism.Code
		return resp, nil
	}
	r.sasl.mechanism, r.sasl.conversation = req.Mechanism, nil
	return resp, nil
}
