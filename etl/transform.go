package etl

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/starling-analytics/starling/etl/sentiment"
	"github.com/starling-analytics/starling/internal/kafkaclient"
	"github.com/starling-analytics/starling/internal/tweet"
	"github.com/starling-analytics/starling/warehouse"
)

// tombstone is a decoded tombstone record: tweet id withdrawn, or with id 0 every tweet of
// userID, for reason, at the given time.
type tombstone struct {
	id, userID uint64
	reason     string
	at         time.Time
	offset     int64
}

// decoder is a reader's state for decoding records: the tweet decoder's buffers, and a
// slab the tweets' word lists are cut from (one allocation for many tweets, rather than a
// slice grown from empty for each).
type decoder struct {
	tweet.Decoder
	words []string
}

// analyze is scorer.Analyze of text, its words cut from the slab.
func (d *decoder) analyze(scorer sentiment.Scorer, text string) (float64, sentiment.Label, []string) {
	if cap(d.words)-len(d.words) < 64 {
		d.words = make([]string, 0, 8192)
	}
	start := len(d.words)
	compound, label, out := scorer.Analyze(text, d.words)
	d.words = out // grown past the slab (a tweet of very many words): the next slab
	return compound, label, out[start:len(out):len(out)]
}

// transform decodes one Kafka record into a warehouse row: sentiment scored, hashtags and
// mentions lower-cased and de-duplicated (so that a tweet counts once per hashtag in the
// aggregates), word-cloud words extracted, Kafka origin attached; or, for a tombstone record,
// into a tombstone (tomb non-nil). An error means the record can never be loaded and belongs
// in the dead-letter topic.
func (e *ETL) transform(dec *decoder, m kafka.Message) (row warehouse.TweetRow, tomb *tombstone, err error) {
	return e.decode(dec, m, true)
}

// decode is transform, with the sentiment and the words left out unless analyse: for a
// reader that needs them of some rows only (rescore scores only the tweets it keeps).
func (e *ETL) decode(dec *decoder, m kafka.Message, analyse bool) (row warehouse.TweetRow, tomb *tombstone, err error) {
	if why := kafkaclient.Quarantined(m.Headers); why != "" {
		return warehouse.TweetRow{}, nil, errors.New(why) // a damaged batch, in its place
	}
	rec, err := dec.Decode(m.Value) // the row's strings share m.Value, which nothing changes
	if err != nil {
		return warehouse.TweetRow{}, nil, err
	}
	userID, err := optionalID(rec.User.ID)
	if err != nil {
		return warehouse.TweetRow{}, nil, fmt.Errorf("%w: user id: %v", tweet.ErrInvalid, err)
	}
	if rec.IsTombstone() {
		id, err := optionalID(rec.ID)
		if err != nil {
			return warehouse.TweetRow{}, nil, fmt.Errorf("%w: tombstone id: %v", tweet.ErrInvalid, err)
		}
		if id == 0 && userID == 0 {
			return warehouse.TweetRow{}, nil, fmt.Errorf("%w: tombstone names neither a tweet nor a user", tweet.ErrInvalid)
		}
		return warehouse.TweetRow{}, &tombstone{id: id, userID: userID, reason: rec.Reason, at: rec.CreatedAt.UTC(), offset: m.Offset}, nil
	}
	id, err := strconv.ParseUint(rec.ID, 10, 64)
	if err != nil || id == 0 {
		return warehouse.TweetRow{}, nil, fmt.Errorf("%w: tweet id %q is not a positive 64-bit number", tweet.ErrInvalid, rec.ID)
	}
	var refs [3]uint64
	for i, ref := range []struct{ name, id string }{{"retweet_of", rec.RetweetOf}, {"quote_of", rec.QuoteOf}, {"reply_to", rec.ReplyTo}} {
		if refs[i], err = optionalID(ref.id); err != nil {
			return warehouse.TweetRow{}, nil, fmt.Errorf("%w: %s: %v", tweet.ErrInvalid, ref.name, err)
		}
	}
	var history []uint64
	if len(rec.EditHistory) > 0 {
		history = make([]uint64, len(rec.EditHistory))
		for i, s := range rec.EditHistory {
			if history[i], err = strconv.ParseUint(s, 10, 64); err != nil || history[i] == 0 {
				return warehouse.TweetRow{}, nil, fmt.Errorf("%w: edit history id %q", tweet.ErrInvalid, s)
			}
		}
	}
	var compound float64
	var label sentiment.Label
	var words []string
	if analyse {
		compound, label, words = dec.analyze(e.scorer, rec.Text)
	}
	row = warehouse.TweetRow{
		ID:             id,
		CreatedAt:      rec.CreatedAt.UTC(),
		Text:           rec.Text,
		Lang:           rec.Lang,
		UserID:         userID,
		UserScreenName: rec.User.ScreenName,
		UserName:       rec.User.Name,
		UserFollowers:  uint64(max(rec.User.Followers, 0)),
		Hashtags:       lowerUnique(rec.Hashtags),
		Mentions:       lowerUnique(rec.Mentions),
		URLs:           rec.URLs,
		Cashtags:       upperUnique(rec.Cashtags),
		Words:          words,
		RetweetOf:      refs[0],
		QuoteOf:        refs[1],
		ReplyTo:        refs[2],
		EditHistory:    history,
		Sentiment:      float32(compound),
		SentimentLabel: int8(label),
		SentimentModel: e.cfg.SentimentModel,
		SourceFormat:   rec.SourceFormat,
		KafkaTopic:     m.Topic,
		KafkaPartition: int32(m.Partition),
		KafkaOffset:    m.Offset,
	}
	if err := row.Validate(); err != nil {
		return warehouse.TweetRow{}, nil, err
	}
	return row, nil, nil
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

// upperUnique upper-cases cashtags ($tsla is $TSLA) and drops repeats.
func upperUnique(in []string) []string {
	if len(in) == 0 {
		return nil
	}
	out := make([]string, 0, len(in))
	for _, s := range in {
		s = strings.ToUpper(strings.TrimSpace(s))
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
