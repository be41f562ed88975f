package broker

import (
	"context"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// SaslHandshake (key 17), versions 0-1, and SaslAuthenticate (key 36), versions 0-2: SASL
// PLAIN and SCRAM-SHA-256/512 against Config.Users. Version 0 is advertised because
// librdkafka requires it to enable SASL at all, but the exchange itself must use
// SaslAuthenticate: raw SASL tokens outside Kafka's framing (a handshake v0 client that
// knows no SaslAuthenticate, Kafka before 1.0) close the connection. Until a connection has
// authenticated, it may send only ApiVersions and these two.

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

func (b *Broker) handleSaslAuthenticate(_ context.Context, r *request) (kmsg.Response, error) {
	req := r.kreq.(*kmsg.SASLAuthenticateRequest)
	resp := req.ResponseKind().(*kmsg.SASLAuthenticateResponse)
	if b.auth == nil || r.sasl.authenticated {
		resp.ErrorCode = kerr.IllegalSaslState.Code
		return resp, nil
	}
	out, err := b.auth.step(r.sasl, req.SASLAuthBytes)
	if err != nil {
		b.logger.Warn("authentication failed", "client", r.conn.RemoteAddr().String(), "mechanism", r.sasl.mechanism, "err", err)
		resp.ErrorCode = kerr.SaslAuthenticationFailed.Code
		resp.ErrorMessage = kmsg.StringPtr(err.Error())
		r.sasl.mechanism = "" // a failed attempt must start over with a handshake
		return resp, nil
	}
	resp.SASLAuthBytes = out
	if r.sasl.authenticated {
		b.logger.Debug("client authenticated", "client", r.conn.RemoteAddr().String(), "user", r.sasl.user, "mechanism", r.sasl.mechanism)
	}
	return resp, nil
}
