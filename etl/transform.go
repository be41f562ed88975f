package etl

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/segmentio/kafka-go"

	"github.com/starling-analytics/starling/etl/sentiment"
	"github.com/starling-analytics/starling/internal/tweet"
	"github.com/starling-analytics/starling/warehouse"
)

// transform decodes one Kafka record into a warehouse row: sentiment scored, hashtags and
// mentions lower-cased and de-duplicated (so that a tweet counts once per hashtag in the
// aggregates), word-cloud words extracted, Kafka origin attached. An error means the record
// can never be loaded and belongs in the dead-letter topic.
func (e *ETL) transform(m kafka.Message) (warehouse.TweetRow, error) {
	rec, err := tweet.Decode(m.Value)
	if err != nil {
		return warehouse.TweetRow{}, err
	}
	if rec.IsTombstone() {
		// Kept whole in the dead-letter topic until the warehouse applies tombstones.
		return warehouse.TweetRow{}, fmt.Errorf("tombstone of %s: deletions are not applied to the warehouse yet", rec.Key())
	}
	id, err := strconv.ParseUint(rec.ID, 10, 64)
	if err != nil || id == 0 {
		return warehouse.TweetRow{}, fmt.Errorf("%w: tweet id %q is not a positive 64-bit number", tweet.ErrInvalid, rec.ID)
	}
	userID, err := optionalID(rec.User.ID)
	if err != nil {
		return warehouse.TweetRow{}, fmt.Errorf("%w: user id: %v", tweet.ErrInvalid, err)
	}
	retweetOf, err := optionalID(rec.RetweetOf)
	if err != nil {
		return warehouse.TweetRow{}, fmt.Errorf("%w: retweet_of: %v", tweet.ErrInvalid, err)
	}
	quoteOf, err := optionalID(rec.QuoteOf)
	if err != nil {
		return warehouse.TweetRow{}, fmt.Errorf("%w: quote_of: %v", tweet.ErrInvalid, err)
	}
	compound, label := e.analyzer.Score(rec.Text)
	row := warehouse.TweetRow{
		ID:             id,
		CreatedAt:      rec.CreatedAt.UTC(),
		Text:           rec.Text,
		Lang:           rec.Lang,
		UserID:         userID,
		UserScreenName: rec.User.ScreenName,
		UserFollowers:  uint64(max(rec.User.Followers, 0)),
		Hashtags:       lowerUnique(rec.Hashtags),
		Mentions:       lowerUnique(rec.Mentions),
		URLs:           rec.URLs,
		Words:          sentiment.Words(rec.Text),
		RetweetOf:      retweetOf,
		QuoteOf:        quoteOf,
		Sentiment:      float32(compound),
		SentimentLabel: int8(label),
		SourceFormat:   rec.SourceFormat,
		KafkaTopic:     m.Topic,
		KafkaPartition: int32(m.Partition),
		KafkaOffset:    m.Offset,
	}
	if err := row.Validate(); err != nil {
		return warehouse.TweetRow{}, err
	}
	return row, nil
}

// optionalID parses a decimal id that may be absent ("" = 0).
func optionalID(s string) (uint64, error) {
	if s == "" {
		return 0, nil
	}
	return strconv.ParseUint(s, 10, 64)
}

// lowerUnique lower-cases terms and drops empty ones and repeats, keeping their order.
// Tweets carry a handful of hashtags, so a linear scan beats a map.
func lowerUnique(in []string) []string {
	out := make([]string, 0, len(in))
	for _, s := range in {
		s = strings.ToLower(strings.TrimSpace(s))
		if s != "" && !contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}

func contains(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}
