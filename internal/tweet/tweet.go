// Package tweet defines the canonical tweet record, the contract between the ingester and
// everything downstream of topic "tweets".
//
// The ingester normalises every source format (Twitter API v1.1, v2, the sample-data
// generator) into a Record, encodes it as JSON and produces it with the tweet id as key.
// Consumers decode it with Decode and never see a source format.
package tweet

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"
)

// Topic names shared by every service.
const (
	// TopicTweets carries one canonical Record per Kafka record, key = Record.ID.
	TopicTweets = "tweets"
	// TopicDLQ carries records that could not be processed, value unchanged, with the reason
	// and origin in headers (see the Header* constants).
	TopicDLQ = "tweets.dlq"
)

// Headers set on dead-lettered records.
const (
	HeaderReason    = "starling-reason"
	HeaderTopic     = "starling-origin-topic"
	HeaderPartition = "starling-origin-partition"
	HeaderOffset    = "starling-origin-offset"
	HeaderSource    = "starling-origin-source" // file:line for records the ingester rejected
)

// SchemaVersion is the version of Record written by this build. Decode accepts versions up to it.
const SchemaVersion = 1

// Source formats recorded in Record.SourceFormat.
const (
	FormatV11       = "twitter-v1.1"
	FormatV2        = "twitter-v2"
	FormatGenerator = "generator"
)

// Record is one canonical tweet.
type Record struct {
	Schema    int       `json:"schema"`
	ID        string    `json:"id"`         // decimal tweet id
	CreatedAt time.Time `json:"created_at"` // UTC, RFC 3339
	Text      string    `json:"text"`       // full text, never the truncated one
	Lang      string    `json:"lang,omitempty"`
	User      User      `json:"user"`
	Hashtags  []string  `json:"hashtags,omitempty"` // as written, without '#'
	Mentions  []string  `json:"mentions,omitempty"` // screen names, without '@'
	URLs      []string  `json:"urls,omitempty"`     // expanded where the source has them
	Cashtags  []string  `json:"cashtags,omitempty"` // without '$'
	RetweetOf string    `json:"retweet_of,omitempty"`
	QuoteOf   string    `json:"quote_of,omitempty"`
	// SourceFormat is one of the Format* constants.
	SourceFormat string `json:"source_format"`
}

// User is the author of a tweet.
type User struct {
	ID         string `json:"id"`
	ScreenName string `json:"screen_name"`
	Name       string `json:"name,omitempty"`
	Followers  int64  `json:"followers"`
}

// ErrInvalid is wrapped by every validation error from Validate and Decode.
var ErrInvalid = errors.New("invalid canonical tweet")

// Validate reports the first reason r is not a usable canonical record.
func (r *Record) Validate() error {
	switch {
	case r.Schema < 1 || r.Schema > SchemaVersion:
		return fmt.Errorf("%w: unsupported schema version %d", ErrInvalid, r.Schema)
	case r.ID == "":
		return fmt.Errorf("%w: missing id", ErrInvalid)
	case r.CreatedAt.IsZero():
		return fmt.Errorf("%w: missing created_at", ErrInvalid)
	}
	if _, err := strconv.ParseUint(r.ID, 10, 64); err != nil {
		return fmt.Errorf("%w: id %q is not a decimal tweet id", ErrInvalid, r.ID)
	}
	return nil
}

// Decode parses and validates one canonical record.
func Decode(b []byte) (Record, error) {
	var r Record
	if err := json.Unmarshal(b, &r); err != nil {
		return Record{}, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	if err := r.Validate(); err != nil {
		return Record{}, err
	}
	return r, nil
}

// Encode returns the JSON form of r, stamping the current schema version when r has none.
func Encode(r Record) ([]byte, error) {
	if r.Schema == 0 {
		r.Schema = SchemaVersion
	}
	r.CreatedAt = r.CreatedAt.UTC()
	return json.Marshal(r)
}
