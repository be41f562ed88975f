package tweet

// The ETL's consumer groups on the tweet topic.
const (
	// GroupETL loads the tweets into the warehouse (etl.Config.GroupID).
	GroupETL = "etl"
	// GroupEntities samples them for named entities (etl.Config.EntitiesGroup).
	GroupEntities = "entities"
)

// EntityProgress is the loaded_offsets key under which the entities group keeps its
// progress on topic.
func EntityProgress(topic string) string { return "entities:" + topic }

// Names are the topics and consumer groups one pipeline runs on: the ETL is configured
// with them, and the dashboard watches the same ones. Empty fields take the defaults.
type Names struct {
	Topic         string `json:"topic"`          // canonical tweets (TopicTweets)
	DLQTopic      string `json:"dlq_topic"`      // dead letters (TopicDLQ)
	Group         string `json:"group"`          // the loading group (GroupETL)
	EntitiesGroup string `json:"entities_group"` // the entity sampler (GroupEntities)
}

// WithDefaults fills the empty names with the defaults.
func (n Names) WithDefaults() Names {
	for _, f := range []struct {
		p   *string
		def string
	}{{&n.Topic, TopicTweets}, {&n.DLQTopic, TopicDLQ}, {&n.Group, GroupETL}, {&n.EntitiesGroup, GroupEntities}} {
		if *f.p == "" {
			*f.p = f.def
		}
	}
	return n
}
