package broker

import (
	"crypto/rand"
	"fmt"
	"strconv"
	"time"
)

// topicConfigs are the per-topic settings the broker honours. Names follow Kafka's
// topic-level configs so admin tools can read and set them.
type topicConfigs struct {
	retention      time.Duration // retention.ms; <= 0 keeps forever
	retentionBytes int64         // retention.bytes; <= 0 means no limit
	explicit       map[string]string
}

func (b *Broker) defaultTopicConfigs() topicConfigs {
	return topicConfigs{retention: b.cfg.Retention, retentionBytes: b.cfg.RetentionBytes}
}

// with returns c with the given overrides applied; unknown names are an error.
func (c topicConfigs) with(overrides map[string]*string) (topicConfigs, error) {
	out := c
	out.explicit = make(map[string]string, len(overrides))
	for k, v := range overrides {
		if v == nil {
			continue
		}
		n, err := strconv.ParseInt(*v, 10, 64)
		switch k {
		case "retention.ms":
			if err != nil {
				return c, fmt.Errorf("config %s=%q: %w", k, *v, err)
			}
			out.retention = time.Duration(n) * time.Millisecond
		case "retention.bytes":
			if err != nil {
				return c, fmt.Errorf("config %s=%q: %w", k, *v, err)
			}
			out.retentionBytes = n
		default:
			return c, fmt.Errorf("config %s is not supported", k)
		}
		out.explicit[k] = *v
	}
	return out, nil
}

// overrides returns the explicitly set configs, for persistence.
func (c topicConfigs) overrides() map[string]string { return c.explicit }

// randomID fills b with random bytes (topic ids, member ids).
func randomID(b []byte) error {
	if _, err := rand.Read(b); err != nil {
		return fmt.Errorf("random id: %w", err)
	}
	return nil
}
