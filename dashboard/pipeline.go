package dashboard

import (
	"context"
	"fmt"
	"net"
	"slices"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/starling-analytics/starling/internal/kafkaclient"
	"github.com/starling-analytics/starling/internal/tweet"
)

// The pipeline health panel's Kafka side, as Amazon MSK's console shows a cluster: brokers,
// topics with their partitions, offsets, records and retention, consumer groups with their
// members and lag, and the dead letters. It asks with kafka-go's Client, over the same
// connection settings (TLS, SASL) as the ingester and the ETL, so it works against the
// built-in broker and any Kafka or MSK cluster: Metadata, ListOffsets (earliest and latest),
// DescribeConfigs (retention.ms, retention.bytes), ListGroups, DescribeGroups, OffsetFetch,
// and DescribeLogDirs for the partitions' sizes in bytes (each partition as its leader
// holds it).

// maxTopics bounds the topics shown from a large cluster.
const maxTopics = 50

// KafkaStatus is a snapshot of the Kafka cluster the pipeline runs on.
type KafkaStatus struct {
	At        time.Time     `json:"at"`
	ClusterID string        `json:"cluster_id,omitempty"`
	Brokers   []BrokerInfo  `json:"brokers"`
	Topics    []TopicStatus `json:"topics"`
	Groups    []GroupStatus `json:"groups"`
	// DeadLetters is the number of records in tweets.dlq.
	DeadLetters int64 `json:"dead_letters"`
	// Problems lists what could not be read (a config, a group), without failing the rest.
	Problems []string `json:"problems,omitempty"`
}

// BrokerInfo is one broker of the cluster.
type BrokerInfo struct {
	ID         int    `json:"id"`
	Addr       string `json:"addr"`
	Controller bool   `json:"controller"`
}

// TopicStatus is one topic.
type TopicStatus struct {
	Name       string            `json:"name"`
	Partitions []PartitionStatus `json:"partitions"`
	Records    int64             `json:"records"` // within retention, all partitions
	// Bytes is the size of the topic's partitions on disk, as their leaders hold them; -1
	// when a broker did not say.
	Bytes int64 `json:"bytes"`
	// RetentionMs and RetentionBytes are the topic's retention.ms and retention.bytes as
	// the broker reports them ("-1": unlimited); empty when unknown.
	RetentionMs    string `json:"retention_ms"`
	RetentionBytes string `json:"retention_bytes"`
}

// PartitionStatus is one partition of a topic.
type PartitionStatus struct {
	ID       int   `json:"id"`
	Leader   int   `json:"leader"`
	Replicas int   `json:"replicas"`
	ISR      int   `json:"isr"`
	Earliest int64 `json:"earliest"`
	Latest   int64 `json:"latest"` // the next offset to be written
	Bytes    int64 `json:"bytes"`  // size on the leader's disk; -1: unknown
}

// GroupStatus is one consumer group.
type GroupStatus struct {
	ID      string        `json:"id"`
	State   string        `json:"state"`
	Members int           `json:"members"`
	Topics  []GroupTopics `json:"topics"`
	// Lag is the records the group has yet to read, over all its partitions; -1 when it
	// has committed nothing.
	Lag int64 `json:"lag"`
}

// GroupTopics is a group's progress on one topic.
type GroupTopics struct {
	Topic      string           `json:"topic"`
	Lag        int64            `json:"lag"`
	Partitions []GroupPartition `json:"partitions"`
}

// GroupPartition is a group's progress on one partition.
type GroupPartition struct {
	ID        int   `json:"id"`
	Committed int64 `json:"committed"` // -1: nothing committed
	Latest    int64 `json:"latest"`
	Lag       int64 `json:"lag"`
}

// kafkaHealth reads KafkaStatus, at most once a second however many ask.
type kafkaHealth struct {
	brokers []string
	// names are the pipeline's: its two groups are always shown (their lag says how far
	// behind the warehouse and the entities table are), others as ListGroups finds them;
	// the dead-letter topic's records are the dead letters.
	names  tweet.Names
	client *kafka.Client
	err    error // a configuration that cannot work; reported on every call

	mu     sync.Mutex // guards the fields below
	last   KafkaStatus
	lastAt time.Time
	lastEr error
}

// newKafkaHealth returns the Kafka side of the health panel, or nil when no broker is
// configured; names are the pipeline's, defaults filled in.
func newKafkaHealth(brokers []string, cfg kafkaclient.Config, names tweet.Names) *kafkaHealth {
	if len(brokers) == 0 {
		return nil
	}
	h := &kafkaHealth{brokers: brokers, names: names}
	transport, err := cfg.Transport()
	if err != nil {
		h.err = fmt.Errorf("kafka settings: %w", err)
		return h
	}
	transport.DialTimeout = 3 * time.Second
	transport.MetadataTTL = 5 * time.Second // new topics and partitions show up soon
	h.client = &kafka.Client{Addr: kafka.TCP(brokers...), Transport: transport, Timeout: 5 * time.Second}
	return h
}

// sizes asks every broker for the sizes of the partitions it holds, by broker, topic and
// partition; a broker that cannot say is reported in st's problems and left out.
func (h *kafkaHealth) sizes(ctx context.Context, brokers []kafka.Broker, st *KafkaStatus) map[int]map[string]map[int]int64 {
	out := map[int]map[string]map[int]int64{}
	t, ok := h.client.Transport.(*kafka.Transport)
	if !ok {
		return out
	}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, b := range brokers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sz, err := kafkaclient.PartitionSizes(ctx, t, h.client.Addr, b.ID)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				st.Problems = append(st.Problems, fmt.Sprintf("partition sizes: %v", err))
				return
			}
			out[b.ID] = sz
		}()
	}
	wg.Wait()
	return out
}

// close drops the client's idle connections.
func (h *kafkaHealth) close() {
	if h != nil && h.client != nil {
		if t, ok := h.client.Transport.(*kafka.Transport); ok {
			t.CloseIdleConnections()
		}
	}
}

// status returns the cluster's state, from a cache of up to a second.
func (h *kafkaHealth) status(ctx context.Context) (KafkaStatus, error) {
	if h.err != nil {
		return KafkaStatus{}, h.err
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if time.Since(h.lastAt) < time.Second {
		return h.last, h.lastEr
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	h.last, h.lastEr = h.read(ctx)
	h.lastAt = time.Now()
	if h.lastEr != nil {
		h.lastEr = fmt.Errorf("Kafka at %v: %w", h.brokers, h.lastEr)
	}
	return h.last, h.lastEr
}

func (h *kafkaHealth) read(ctx context.Context) (KafkaStatus, error) {
	st := KafkaStatus{At: time.Now().UTC(), Brokers: []BrokerInfo{}, Topics: []TopicStatus{}, Groups: []GroupStatus{}}
	meta, err := h.client.Metadata(ctx, &kafka.MetadataRequest{})
	if err != nil {
		return st, err
	}
	st.ClusterID = meta.ClusterID
	for _, b := range meta.Brokers {
		st.Brokers = append(st.Brokers, BrokerInfo{ID: b.ID, Addr: net.JoinHostPort(b.Host, strconv.Itoa(b.Port)), Controller: b.ID == meta.Controller.ID})
	}
	sort.Slice(st.Brokers, func(i, j int) bool { return st.Brokers[i].ID < st.Brokers[j].ID })
	topics := meta.Topics
	sort.Slice(topics, func(i, j int) bool { return topics[i].Name < topics[j].Name })
	topics = slices.DeleteFunc(topics, func(t kafka.Topic) bool { return t.Internal || t.Error != nil })
	if len(topics) > maxTopics {
		st.Problems = append(st.Problems, fmt.Sprintf("showing %d of %d topics", maxTopics, len(topics)))
		topics = topics[:maxTopics]
	}

	// Earliest and latest offsets of every partition, in one request each.
	first, last := map[string][]kafka.OffsetRequest{}, map[string][]kafka.OffsetRequest{}
	for _, t := range topics {
		for _, p := range t.Partitions {
			first[t.Name] = append(first[t.Name], kafka.FirstOffsetOf(p.ID))
			last[t.Name] = append(last[t.Name], kafka.LastOffsetOf(p.ID))
		}
	}
	earliest, err := h.offsets(ctx, first)
	if err != nil {
		return st, err
	}
	latest, err := h.offsets(ctx, last)
	if err != nil {
		return st, err
	}
	retention := h.retention(ctx, topics, &st)
	sizes := h.sizes(ctx, meta.Brokers, &st)
	for _, t := range topics {
		ts := TopicStatus{Name: t.Name, RetentionMs: retention[t.Name][0], RetentionBytes: retention[t.Name][1]}
		for _, p := range t.Partitions {
			e, l := earliest[t.Name][p.ID], latest[t.Name][p.ID]
			size, ok := sizes[p.Leader.ID][t.Name][p.ID]
			if !ok {
				size = -1
			}
			ts.Partitions = append(ts.Partitions, PartitionStatus{ID: p.ID, Leader: p.Leader.ID, Replicas: len(p.Replicas), ISR: len(p.Isr), Earliest: e, Latest: l, Bytes: size})
			ts.Records += max(0, l-e)
			if size < 0 || ts.Bytes < 0 {
				ts.Bytes = -1
			} else {
				ts.Bytes += size
			}
		}
		sort.Slice(ts.Partitions, func(i, j int) bool { return ts.Partitions[i].ID < ts.Partitions[j].ID })
		if t.Name == h.names.DLQTopic {
			st.DeadLetters = ts.Records
		}
		st.Topics = append(st.Topics, ts)
	}

	groups := []string{h.names.Group, h.names.EntitiesGroup} // then the others found
	watched := len(groups)
	if lg, err := h.client.ListGroups(ctx, &kafka.ListGroupsRequest{}); err != nil {
		st.Problems = append(st.Problems, fmt.Sprintf("list groups: %v", err))
	} else {
		for _, g := range lg.Groups {
			if !slices.Contains(groups, g.GroupID) {
				groups = append(groups, g.GroupID)
			}
		}
	}
	sort.Strings(groups[watched:])
	desc := map[string]kafka.DescribeGroupsResponseGroup{}
	if dg, err := h.client.DescribeGroups(ctx, &kafka.DescribeGroupsRequest{GroupIDs: groups}); err != nil {
		st.Problems = append(st.Problems, fmt.Sprintf("describe groups: %v", err))
	} else {
		for _, g := range dg.Groups {
			desc[g.GroupID] = g
		}
	}
	partitions := map[string][]int{}
	for _, t := range topics {
		for _, p := range t.Partitions {
			partitions[t.Name] = append(partitions[t.Name], p.ID)
		}
	}
	for _, id := range groups {
		g := GroupStatus{ID: id, State: desc[id].GroupState, Members: len(desc[id].Members), Topics: []GroupTopics{}, Lag: -1}
		// A group reads the topics its members subscribe to; an empty group, the topics it
		// has offsets for, which OffsetFetch of every topic finds.
		ask := partitions
		if sub := subscribed(desc[id]); len(sub) > 0 {
			ask = map[string][]int{}
			for _, t := range sub {
				ask[t] = partitions[t]
			}
		}
		of, err := h.client.OffsetFetch(ctx, &kafka.OffsetFetchRequest{GroupID: id, Topics: ask})
		if err == nil {
			err = of.Error
		}
		if err != nil {
			st.Problems = append(st.Problems, fmt.Sprintf("offsets of group %s: %v", id, err))
			st.Groups = append(st.Groups, g)
			continue
		}
		for _, topic := range sortedKeys(of.Topics) {
			gt := GroupTopics{Topic: topic}
			committed := false
			for _, p := range of.Topics[topic] {
				l := latest[topic][p.Partition]
				gp := GroupPartition{ID: p.Partition, Committed: p.CommittedOffset, Latest: l, Lag: -1}
				if p.CommittedOffset >= 0 {
					gp.Lag = max(0, l-p.CommittedOffset)
					gt.Lag += gp.Lag
					committed = true
				}
				gt.Partitions = append(gt.Partitions, gp)
			}
			if !committed && len(subscribed(desc[id])) == 0 {
				continue // a topic this group never read
			}
			sort.Slice(gt.Partitions, func(i, j int) bool { return gt.Partitions[i].ID < gt.Partitions[j].ID })
			if committed {
				g.Lag = max(g.Lag, 0) + gt.Lag
			} else {
				gt.Lag = -1
			}
			g.Topics = append(g.Topics, gt)
		}
		st.Groups = append(st.Groups, g)
	}
	return st, nil
}

// subscribed is the topics the members of a group read.
func subscribed(g kafka.DescribeGroupsResponseGroup) []string {
	var out []string
	for _, m := range g.Members {
		for _, t := range m.MemberMetadata.Topics {
			if !slices.Contains(out, t) {
				out = append(out, t)
			}
		}
	}
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// offsets runs one ListOffsets request and returns the offsets by topic and partition.
func (h *kafkaHealth) offsets(ctx context.Context, req map[string][]kafka.OffsetRequest) (map[string]map[int]int64, error) {
	out := map[string]map[int]int64{}
	if len(req) == 0 {
		return out, nil
	}
	res, err := h.client.ListOffsets(ctx, &kafka.ListOffsetsRequest{Topics: req})
	if err != nil {
		return nil, fmt.Errorf("list offsets: %w", err)
	}
	for topic, ps := range res.Topics {
		out[topic] = map[int]int64{}
		for _, p := range ps {
			if p.Error != nil {
				continue
			}
			// kafka-go fills FirstOffset for an earliest request, LastOffset for a
			// latest one; the other stays -1.
			out[topic][p.Partition] = max(p.FirstOffset, p.LastOffset)
		}
	}
	return out, nil
}

// retention returns each topic's retention.ms and retention.bytes.
func (h *kafkaHealth) retention(ctx context.Context, topics []kafka.Topic, st *KafkaStatus) map[string][2]string {
	out := map[string][2]string{}
	if len(topics) == 0 {
		return out
	}
	req := &kafka.DescribeConfigsRequest{}
	for _, t := range topics {
		req.Resources = append(req.Resources, kafka.DescribeConfigRequestResource{
			ResourceType: kafka.ResourceTypeTopic, ResourceName: t.Name, ConfigNames: []string{"retention.ms", "retention.bytes"},
		})
	}
	res, err := h.client.DescribeConfigs(ctx, req)
	if err != nil {
		st.Problems = append(st.Problems, fmt.Sprintf("describe configs: %v", err))
		return out
	}
	for _, r := range res.Resources {
		if r.Error != nil {
			st.Problems = append(st.Problems, fmt.Sprintf("configs of %s: %v", r.ResourceName, r.Error))
			continue
		}
		var v [2]string
		for _, e := range r.ConfigEntries {
			switch e.ConfigName {
			case "retention.ms":
				v[0] = e.ConfigValue
			case "retention.bytes":
				v[1] = e.ConfigValue
			}
		}
		out[r.ResourceName] = v
	}
	return out
}
