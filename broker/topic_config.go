package broker

import (
	"crypto/rand"
	"fmt"
	"math"
	"sort"
	"strconv"
	"time"
)

// topicSettings are the typed values of the per-topic settings the broker honours.
type topicSettings struct {
	retention       time.Duration // retention.ms; <= 0 keeps forever
	retentionBytes  int64         // retention.bytes; <= 0 means no limit
	maxMessageBytes int32         // max.message.bytes: the largest record batch accepted
}

// topicConfigs are a topic's settings: the broker defaults with the explicitly set configs
// applied. Names follow Kafka's topic-level configs so admin tools (kafka-configs, kadm,
// kcat) can read and set them.
type topicConfigs struct {
	topicSettings
	defaults topicSettings
	explicit map[string]string
}

// alterableConfigs are the topic configs that can be set at creation or altered later,
// with the range each accepts.
var alterableConfigs = map[string]struct{ min, max int64 }{
	"retention.ms":      {-1, math.MaxInt64},
	"retention.bytes":   {-1, math.MaxInt64},
	"max.message.bytes": {0, math.MaxInt32},
}

// defaultMaxMessageBytes is Kafka's default max.message.bytes (1 MiB plus a batch header).
const defaultMaxMessageBytes = 1048588

func (b *Broker) defaultTopicConfigs() topicConfigs {
	s := topicSettings{retention: b.cfg.Retention, retentionBytes: b.cfg.RetentionBytes, maxMessageBytes: b.cfg.MaxMessageBytes}
	return topicConfigs{topicSettings: s, defaults: s}
}

// with returns c with the given overrides applied (a nil value removes an override, so the
// broker default applies again); unknown names and out-of-range values are an error.
func (c topicConfigs) with(overrides map[string]*string) (topicConfigs, error) {
	out := c
	out.explicit = make(map[string]string, len(c.explicit)+len(overrides))
	for k, v := range c.explicit {
		out.explicit[k] = v
	}
	for k, v := range overrides {
		limits, ok := alterableConfigs[k]
		if !ok {
			return c, fmt.Errorf("config %s is not supported", k)
		}
		if v == nil {
			delete(out.explicit, k)
			continue
		}
		n, err := strconv.ParseInt(*v, 10, 64)
		if err != nil {
			return c, fmt.Errorf("config %s=%q: %w", k, *v, err)
		}
		if n < limits.min || n > limits.max {
			return c, fmt.Errorf("config %s=%d: out of range [%d, %d]", k, n, limits.min, limits.max)
		}
		out.explicit[k] = *v
	}
	return out.resolve(), nil
}

// resolve recomputes the typed settings from the broker defaults and the explicit values.
func (c topicConfigs) resolve() topicConfigs {
	c.topicSettings = c.defaults
	if v, ok := c.explicit["retention.ms"]; ok {
		n, _ := strconv.ParseInt(v, 10, 64)
		c.retention = time.Duration(n) * time.Millisecond
	}
	if v, ok := c.explicit["retention.bytes"]; ok {
		c.retentionBytes, _ = strconv.ParseInt(v, 10, 64)
	}
	if v, ok := c.explicit["max.message.bytes"]; ok {
		n, _ := strconv.ParseInt(v, 10, 32)
		c.maxMessageBytes = int32(n)
	}
	return c
}

// overrides returns the explicitly set configs, for persistence.
func (c topicConfigs) overrides() map[string]string { return c.explicit }

// configEntry is one config as DescribeConfigs reports it.
type configEntry struct {
	name, value string
	readOnly    bool
	explicit    bool // set on the topic (DYNAMIC_TOPIC_CONFIG) rather than a default
}

// describe lists the topic's configs: the alterable ones and the fixed facts of this broker.
func (b *Broker) describeTopicConfigs(c topicConfigs) []configEntry {
	ms := func(d time.Duration) string {
		if d <= 0 {
			return "-1"
		}
		return strconv.FormatInt(d.Milliseconds(), 10)
	}
	bytes := c.retentionBytes
	if bytes <= 0 {
		bytes = -1
	}
	entries := []configEntry{
		{name: "retention.ms", value: ms(c.retention)},
		{name: "retention.bytes", value: strconv.FormatInt(bytes, 10)},
		{name: "cleanup.policy", value: "delete", readOnly: true},
		{name: "segment.bytes", value: strconv.FormatInt(b.cfg.SegmentBytes, 10), readOnly: true},
		{name: "segment.ms", value: ms(b.cfg.SegmentAge), readOnly: true},
		{name: "max.message.bytes", value: strconv.FormatInt(int64(c.maxMessageBytes), 10)},
		{name: "compression.type", value: "producer", readOnly: true},
		{name: "message.timestamp.type", value: "CreateTime", readOnly: true},
		{name: "min.insync.replicas", value: "1", readOnly: true},
	}
	for i := range entries {
		_, entries[i].explicit = c.explicit[entries[i].name]
	}
	sort.Slice(entries, func(i, j int) bool { return entries[i].name < entries[j].name })
	return entries
}

// randomID fills b with random bytes (topic ids, member ids).
func randomID(b []byte) error {
	if _, err := rand.Read(b); err != nil {
		return fmt.Errorf("random id: %w", err)
	}
	return nil
}
