package ingest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/dghubble/go-twitter/twitter"

	"github.com/starling-analytics/starling/internal/tweet"
)

// Reasons a line is rejected; each is counted and sent with the line to the dead-letter topic.
var (
	ErrInvalidJSON = errors.New("invalid json")
	ErrNotATweet   = errors.New("not a tweet")
	ErrMissingID   = errors.New("missing id")
	ErrBadTime     = errors.New("missing or bad created_at")
)

// reason is the short name of a rejection, for counters and headers.
func reason(err error) string {
	for _, e := range []error{ErrInvalidJSON, ErrNotATweet, ErrMissingID, ErrBadTime} {
		if errors.Is(err, e) {
			return e.Error()
		}
	}
	return "other"
}

// probe holds the fields that tell a tweet from other stream events.
type probe struct {
	IDStr     *string         `json:"id_str"`
	ID        json.RawMessage `json:"id"`
	CreatedAt *string         `json:"created_at"`
	Text      *string         `json:"text"`
	FullText  *string         `json:"full_text"`
	Delete    json.RawMessage `json:"delete"`
	Limit     json.RawMessage `json:"limit"`
}

// ParseLine turns one line of Twitter API v1.1 JSON into a canonical record.
func ParseLine(line []byte) (tweet.Record, error) {
	line = bytes.TrimSpace(line)
	var p probe
	if err := json.Unmarshal(line, &p); err != nil {
		return tweet.Record{}, fmt.Errorf("%w: %v", ErrInvalidJSON, err)
	}
	switch {
	case p.Delete != nil:
		return tweet.Record{}, fmt.Errorf("%w: delete event", ErrNotATweet)
	case p.Limit != nil:
		return tweet.Record{}, fmt.Errorf("%w: limit notice", ErrNotATweet)
	case p.Text == nil && p.FullText == nil:
		return tweet.Record{}, fmt.Errorf("%w: no text", ErrNotATweet)
	}
	var t twitter.Tweet
	if err := json.Unmarshal(line, &t); err != nil {
		// A field whose type differs from go-twitter's struct (real payloads have such
		// fields, e.g. poll durations) leaves the rest decoded: keep going.
		var typeErr *json.UnmarshalTypeError
		if !errors.As(err, &typeErr) {
			return tweet.Record{}, fmt.Errorf("%w: %v", ErrInvalidJSON, err)
		}
	}
	return fromV11(&t)
}

// fromV11 maps a go-twitter tweet onto the canonical record.
func fromV11(t *twitter.Tweet) (tweet.Record, error) {
	id := t.IDStr
	if id == "" && t.ID > 0 {
		id = strconv.FormatInt(t.ID, 10)
	}
	if id == "" {
		return tweet.Record{}, ErrMissingID
	}
	created, err := time.Parse(time.RubyDate, t.CreatedAt)
	if err != nil {
		return tweet.Record{}, fmt.Errorf("%w: %q", ErrBadTime, t.CreatedAt)
	}
	r := tweet.Record{
		Schema:       tweet.SchemaVersion,
		ID:           id,
		CreatedAt:    created.UTC(),
		Text:         fullText(t),
		Lang:         t.Lang,
		SourceFormat: tweet.FormatV11,
	}
	if t.User != nil {
		r.User = tweet.User{ID: t.User.IDStr, ScreenName: t.User.ScreenName, Name: t.User.Name, Followers: int64(t.User.FollowersCount)}
		if r.User.ID == "" && t.User.ID > 0 {
			r.User.ID = strconv.FormatInt(t.User.ID, 10)
		}
	}
	ents := t.Entities
	if t.ExtendedTweet != nil && t.ExtendedTweet.Entities != nil {
		ents = t.ExtendedTweet.Entities
	}
	if t.RetweetedStatus != nil {
		r.RetweetOf = t.RetweetedStatus.IDStr
		if t.RetweetedStatus.ExtendedTweet != nil && t.RetweetedStatus.ExtendedTweet.Entities != nil {
			ents = t.RetweetedStatus.ExtendedTweet.Entities
		} else if t.RetweetedStatus.Entities != nil {
			ents = t.RetweetedStatus.Entities
		}
	}
	if t.QuotedStatusIDStr != "" {
		r.QuoteOf = t.QuotedStatusIDStr
	} else if t.QuotedStatus != nil {
		r.QuoteOf = t.QuotedStatus.IDStr
	}
	if ents != nil {
		for _, h := range ents.Hashtags {
			r.Hashtags = append(r.Hashtags, h.Text)
		}
		for _, m := range ents.UserMentions {
			r.Mentions = append(r.Mentions, m.ScreenName)
		}
		for _, u := range ents.Urls {
			if u.ExpandedURL != "" {
				r.URLs = append(r.URLs, u.ExpandedURL)
			} else {
				r.URLs = append(r.URLs, u.URL)
			}
		}
	}
	if t.RetweetedStatus != nil && t.RetweetedStatus.User != nil && !contains(r.Mentions, t.RetweetedStatus.User.ScreenName) {
		r.Mentions = append([]string{t.RetweetedStatus.User.ScreenName}, r.Mentions...)
	}
	r.Cashtags = cashtags(r.Text)
	return r, r.Validate()
}

// fullText is the untruncated text: extended_tweet.full_text, full_text or text; a retweet
// is "RT @author: " and the original's full text, as Twitter shows it.
func fullText(t *twitter.Tweet) string {
	if rt := t.RetweetedStatus; rt != nil && rt.User != nil {
		return "RT @" + rt.User.ScreenName + ": " + fullText(rt)
	}
	switch {
	case t.ExtendedTweet != nil && t.ExtendedTweet.FullText != "":
		return t.ExtendedTweet.FullText
	case t.FullText != "":
		return t.FullText
	}
	return t.Text
}

// cashtags finds $SYMBOL tokens; go-twitter's v1.1 entities do not carry symbols.
func cashtags(text string) []string {
	var out []string
	for _, f := range strings.Fields(text) {
		if len(f) < 2 || f[0] != '$' {
			continue
		}
		sym := strings.TrimRight(f[1:], ".,!?:;")
		if sym == "" || len(sym) > 10 || !isSymbol(sym) || contains(out, sym) {
			continue
		}
		out = append(out, sym)
	}
	return out
}

func isSymbol(s string) bool {
	letters := 0
	for _, r := range s {
		switch {
		case r >= 'A' && r <= 'Z', r >= 'a' && r <= 'z':
			letters++
		case r == '_' || r >= '0' && r <= '9':
		default:
			return false
		}
	}
	return letters > 0
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
