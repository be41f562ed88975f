package broker

import (
	"context"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func init() { register(36, 0, 2, (*Broker).handleSaslAuthenticate) }

// SaslAuthenticate (key 36), versions 0-2: the SASL exchange a handshake (key 17) began.

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
