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
	"unicode/utf8"
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

// SchemaVersion is the version of Record written by this build. Decode accepts versions up to
// it. Version 2 added Kind and Reason (tombstones), ReplyTo and EditHistory; a version 1
// record is a tweet without them.
const SchemaVersion = 2

// Source formats recorded in Record.SourceFormat.
const (
	FormatV11       = "twitter-v1.1"
	FormatV2        = "twitter-v2"
	FormatActivity  = "activity-streams" // Gnip's activity streams rendering of v1.1 tweets
	FormatGenerator = "generator"
	// FormatStarling marks records Starling made itself: the tombstones of an account's
	// tweets the ETL derives from a tombstone of the account.
	FormatStarling = "starling"
)

// Kinds of record, in Record.Kind.
const (
	// KindTweet is a tweet (the empty Kind means the same).
	KindTweet = "tweet"
	// KindDelete is a tombstone: the tweet ID has been withdrawn (deleted by its author,
	// or its account protected, suspended or deactivated), or, when ID is empty, every
	// tweet of User.ID has. Downstream removes what it holds of it. A tombstone carries
	// only Kind, ID and/or User.ID, CreatedAt (when the withdrawal happened, or when the
	// ingester saw it if the source does not say), Reason and SourceFormat.
	KindDelete = "delete"
)

// Record is one canonical tweet, or a tombstone (Kind).
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
	ReplyTo   string    `json:"reply_to,omitempty"` // the tweet this one answers
	// EditHistory lists the ids of every version of an edited tweet, oldest first, this one
	// among them (Twitter API v2's edit_history_tweet_ids); absent for a tweet never edited.
	// The versions are one tweet: downstream keeps the newest it has seen.
	EditHistory []string `json:"edit_history,omitempty"`
	// SourceFormat is one of the Format* constants.
	SourceFormat string `json:"source_format"`
	// Kind is KindTweet (or empty) for a tweet and KindDelete for a tombstone.
	Kind string `json:"kind,omitempty"`
	// Reason says why a tombstone withdraws its tweets: deleted, protected, suspended,
	// deactivated, or what else the source says.
	Reason string `json:"reason,omitempty"`
}

// IsTombstone reports whether r withdraws tweets rather than carrying one.
func (r *Record) IsTombstone() bool { return r.Kind == KindDelete }

// Key is the Kafka record key: the tweet id, so that a tweet, its repeats and its
// tombstone land in the same partition, in order. An edited tweet is keyed by its first
// version's id, which puts every version in one partition too; a tombstone of a whole
// account is keyed by the user id.
func (r *Record) Key() string {
	switch {
	case len(r.EditHistory) > 0 && !r.IsTombstone():
		return r.EditHistory[0]
	case r.ID == "":
		return r.User.ID
	}
	return r.ID
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
	case r.Kind != "" && r.Kind != KindTweet && r.Kind != KindDelete:
		return fmt.Errorf("%w: unknown kind %q", ErrInvalid, r.Kind)
	case r.CreatedAt.IsZero():
		return fmt.Errorf("%w: missing created_at", ErrInvalid)
	}
	if r.IsTombstone() {
		if r.ID == "" && r.User.ID == "" {
			return fmt.Errorf("%w: tombstone names neither a tweet nor a user", ErrInvalid)
		}
		if r.ID != "" && !isDecimalID(r.ID) {
			return fmt.Errorf("%w: id %q is not a decimal tweet id", ErrInvalid, r.ID)
		}
		if r.User.ID != "" && !isDecimalID(r.User.ID) {
			return fmt.Errorf("%w: user id %q is not a decimal id", ErrInvalid, r.User.ID)
		}
		return nil
	}
	if r.ID == "" {
		return fmt.Errorf("%w: missing id", ErrInvalid)
	}
	if !isDecimalID(r.ID) {
		return fmt.Errorf("%w: id %q is not a decimal tweet id", ErrInvalid, r.ID)
	}
	for _, id := range r.EditHistory {
		if !isDecimalID(id) {
			return fmt.Errorf("%w: edit history id %q is not a decimal tweet id", ErrInvalid, id)
		}
	}
	return nil
}

// isDecimalID reports whether s is a positive decimal 64-bit id, as Twitter's ids are.
func isDecimalID(s string) bool {
	n, err := strconv.ParseUint(s, 10, 64)
	return err == nil && n > 0
}

// Decode parses and validates one canonical record. A record that is not valid UTF-8 is
// refused: the ingester never writes one (it replaces what it cannot decode), so such a
// record comes from elsewhere, damaged.
func Decode(b []byte) (Record, error) {
	if !utf8.Valid(b) {
		return Record{}, fmt.Errorf("%w: not valid UTF-8", ErrInvalid)
	}
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
