package broker

import (
	"context"
	"fmt"
	"sort"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// ApiVersions (key 18), versions 0-3.
//
// The ranges below are the broker's whole protocol surface; they follow Kafka 2.8's ranges
// where the broker implements the semantics, so clients that infer a Kafka release from
// them (kafka-python) guess a recent one. A request for a newer ApiVersions version gets
// UNSUPPORTED_VERSION in a v0 body (see conn.go), and the client retries lower.

// apiHandler answers one decoded request. A nil response sends nothing back (acks=0); an
// error closes the connection.
type apiHandler func(b *Broker, ctx context.Context, r *request) (kmsg.Response, error)

// apiSpec is the supported version range of one API and its handler.
type apiSpec struct {
	min, max int16
	handle   apiHandler
}

// apis maps each supported API key to its versions and handler, as the API's file
// registers it (an initializer naming the handlers would be a cycle: ApiVersions reads the
// table).
var apis = map[int16]apiSpec{}

// register adds an API to the table; each API's file registers its own, in its init.
func register(key, minVersion, maxVersion int16, handle apiHandler) {
	if _, dup := apis[key]; dup {
		panic(fmt.Sprintf("broker: API key %d registered twice", key))
	}
	apis[key] = apiSpec{minVersion, maxVersion, handle}
}

func init() { register(18, 0, 3, (*Broker).handleApiVersions) }

// apiKeys lists every supported API in key order, as ApiVersions reports them.
func apiKeys() []kmsg.ApiVersionsResponseApiKey {
	keys := make([]kmsg.ApiVersionsResponseApiKey, 0, len(apis))
	for k, s := range apis {
		keys = append(keys, kmsg.ApiVersionsResponseApiKey{ApiKey: k, MinVersion: s.min, MaxVersion: s.max})
	}
	sort.Slice(keys, func(i, j int) bool { return keys[i].ApiKey < keys[j].ApiKey })
	return keys
}

func (b *Broker) handleApiVersions(_ context.Context, r *request) (kmsg.Response, error) {
	req := r.kreq.(*kmsg.ApiVersionsRequest)
	resp := req.ResponseKind().(*kmsg.ApiVersionsResponse)
	resp.ApiKeys = apiKeys()
	return resp, nil
}

// apiVersionsUnsupported is the answer to an ApiVersions request newer than we support:
// error 35 in a version 0 body.
func apiVersionsUnsupported() kmsg.Response {
	resp := kmsg.NewPtrApiVersionsResponse()
	resp.SetVersion(0)
	resp.ErrorCode = 35 // UNSUPPORTED_VERSION
	resp.ApiKeys = apiKeys()
	return resp
}
