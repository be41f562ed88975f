package broker

import (
	"context"
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

// apis maps each supported API key to its versions and handler. Filled in init to avoid an
// initialization cycle (ApiVersions reads the table).
var apis map[int16]apiSpec

func init() {
	apis = map[int16]apiSpec{
		0:  {0, 9, (*Broker).handleProduce},
		1:  {0, 12, (*Broker).handleFetch},
		2:  {0, 6, (*Broker).handleListOffsets},
		3:  {0, 11, (*Broker).handleMetadata},
		8:  {0, 8, (*Broker).handleOffsetCommit},
		9:  {0, 7, (*Broker).handleOffsetFetch},
		10: {0, 3, (*Broker).handleFindCoordinator},
		11: {0, 7, (*Broker).handleJoinGroup},
		12: {0, 4, (*Broker).handleHeartbeat},
		13: {0, 4, (*Broker).handleLeaveGroup},
		14: {0, 5, (*Broker).handleSyncGroup},
		15: {0, 5, (*Broker).handleDescribeGroups},
		16: {0, 4, (*Broker).handleListGroups},
		17: {0, 1, (*Broker).handleSaslHandshake},
		18: {0, 3, (*Broker).handleApiVersions},
		19: {0, 7, (*Broker).handleCreateTopics},
		20: {0, 6, (*Broker).handleDeleteTopics},
		22: {0, 4, (*Broker).handleInitProducerID},
		23: {0, 3, (*Broker).handleOffsetForLeaderEpoch},
		32: {0, 4, (*Broker).handleDescribeConfigs},
		33: {0, 2, (*Broker).handleAlterConfigs},
		35: {0, 4, (*Broker).handleDescribeLogDirs},
		36: {0, 2, (*Broker).handleSaslAuthenticate},
		37: {0, 3, (*Broker).handleCreatePartitions},
		42: {0, 2, (*Broker).handleDeleteGroups},
		44: {0, 1, (*Broker).handleIncrementalAlterConfigs},
		60: {0, 1, (*Broker).handleDescribeCluster},
	}
}

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
