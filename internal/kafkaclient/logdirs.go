package kafkaclient

import (
	"context"
	"fmt"
	"net"

	"github.com/segmentio/kafka-go"
	"github.com/segmentio/kafka-go/protocol"
)

// DescribeLogDirs (key 35, versions 0-1) for kafka-go, which has no request for it: the
// only Kafka request that tells a partition's size in bytes (what Amazon MSK's console and
// kafka-log-dirs.sh show). The messages are registered with kafka-go's protocol package, so
// its Transport negotiates the version, encodes them and routes each to the broker named.

func init() {
	protocol.Register(&logDirsRequest{}, &logDirsResponse{})
}

type logDirsRequest struct {
	Topics []logDirsRequestTopic `kafka:"min=v0,max=v1,nullable"` // null: every partition

	broker int32 // the broker asked (not encoded: unexported)
}

type logDirsRequestTopic struct {
	Topic      string  `kafka:"min=v0,max=v1"`
	Partitions []int32 `kafka:"min=v0,max=v1"`
}

func (r *logDirsRequest) ApiKey() protocol.ApiKey { return protocol.DescribeLogDirs }

// Broker routes the request: each broker answers for the log directories it holds.
func (r *logDirsRequest) Broker(c protocol.Cluster) (protocol.Broker, error) {
	b, ok := c.Brokers[r.broker]
	if !ok {
		return b, fmt.Errorf("broker %d is not in the cluster's metadata", r.broker)
	}
	return b, nil
}

type logDirsResponse struct {
	ThrottleTimeMs int32              `kafka:"min=v0,max=v1"`
	Results        []logDirsResultDir `kafka:"min=v0,max=v1"`
}

func (r *logDirsResponse) ApiKey() protocol.ApiKey { return protocol.DescribeLogDirs }

type logDirsResultDir struct {
	ErrorCode int16                `kafka:"min=v0,max=v1"`
	LogDir    string               `kafka:"min=v0,max=v1"`
	Topics    []logDirsResultTopic `kafka:"min=v0,max=v1"`
}

type logDirsResultTopic struct {
	Name       string                   `kafka:"min=v0,max=v1"`
	Partitions []logDirsResultPartition `kafka:"min=v0,max=v1"`
}

type logDirsResultPartition struct {
	PartitionIndex int32 `kafka:"min=v0,max=v1"`
	PartitionSize  int64 `kafka:"min=v0,max=v1"`
	OffsetLag      int64 `kafka:"min=v0,max=v1"`
	IsFutureKey    bool  `kafka:"min=v0,max=v1"`
}

// PartitionSizes asks broker id, through transport and the cluster reached at seed, for
// the size in bytes of every partition it holds, by topic and partition. A partition in
// several of the broker's log directories (a move between disks) counts its current copy.
func PartitionSizes(ctx context.Context, transport *kafka.Transport, seed net.Addr, broker int) (map[string]map[int]int64, error) {
	m, err := transport.RoundTrip(ctx, seed, &logDirsRequest{broker: int32(broker)})
	if err != nil {
		return nil, fmt.Errorf("describe log dirs of broker %d: %w", broker, err)
	}
	resp, ok := m.(*logDirsResponse)
	if !ok {
		return nil, fmt.Errorf("describe log dirs of broker %d: unexpected response %T", broker, m)
	}
	sizes := map[string]map[int]int64{}
	for _, d := range resp.Results {
		if d.ErrorCode != 0 {
			return nil, fmt.Errorf("describe log dirs of broker %d: %s: %w", broker, d.LogDir, kafka.Error(d.ErrorCode))
		}
		for _, t := range d.Topics {
			if sizes[t.Name] == nil {
				sizes[t.Name] = map[int]int64{}
			}
			for _, p := range t.Partitions {
				if !p.IsFutureKey {
					sizes[t.Name][int(p.PartitionIndex)] = p.PartitionSize
				}
			}
		}
	}
	return sizes, nil
}
