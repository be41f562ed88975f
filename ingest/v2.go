package ingest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/starling-analytics/starling/internal/tweet"
)

// Twitter API v2 payloads. A v2 tweet names its author and the tweets it retweets, quotes
// or answers by id; a response page or stream line carries those objects in "includes",
// and a flattened tweet (twarc's "flatten") carries them inline. Both give the same
// canonical record: TestV2PageAndFlatAgree holds them to it.

// v2Tweet is the part of a v2 tweet object the canonical record needs.
type v2Tweet struct {
	ID               string      `json:"id"`
	Text             *string     `json:"text"`
	CreatedAt        string      `json:"created_at"`
	AuthorID         string      `json:"author_id"`
	Lang             string      `json:"lang"`
	EditHistory      []string    `json:"edit_history_tweet_ids"`
	Entities         *v2Entities `json:"entities"`
	ReferencedTweets []v2Ref     `json:"referenced_tweets"`
	// NoteTweet holds the whole text of a tweet longer than 280 characters, whose text is
	// then truncated.
	NoteTweet *struct {
		Text     string      `json:"text"`
		Entities *v2Entities `json:"entities"`
	} `json:"note_tweet"`
	// Author is set in flattened tweets.
	Author *v2User `json:"author"`

	// Fields of other v2 objects, which tell a page of them from a page of tweets.
	Username    *string          `json:"username"`
	TweetCount  *json.RawMessage `json:"tweet_count"`
	MemberCount *json.RawMessage `json:"member_count"`
}

// v2Ref is a referenced tweet: type and id, and in flattened tweets the tweet itself.
type v2Ref struct {
	Type string `json:"type"` // retweeted, quoted, replied_to
	v2Tweet
}

type v2Entities struct {
	Hashtags []struct {
		Tag string `json:"tag"`
	} `json:"hashtags"`
	Mentions []struct {
		Username string `json:"username"`
	} `json:"mentions"`
	URLs []struct {
		URL         string `json:"url"`
		ExpandedURL string `json:"expanded_url"`
		UnwoundURL  string `json:"unwound_url"`
	} `json:"urls"`
}

type v2User struct {
	ID            string `json:"id"`
	Username      string `json:"username"`
	Name          string `json:"name"`
	PublicMetrics *struct {
		FollowersCount int64 `json:"followers_count"`
	} `json:"public_metrics"`
}

// v2Envelope is a response page or a stream line.
type v2Envelope struct {
	Data     json.RawMessage `json:"data"`
	Includes struct {
		Users  []v2User  `json:"users"`
		Tweets []v2Tweet `json:"tweets"`
	} `json:"includes"`
}

// v2Lookup resolves the ids a tweet names against a page's includes.
type v2Lookup struct {
	users  map[string]*v2User
	tweets map[string]*v2Tweet
}

func newV2Lookup(e *v2Envelope) *v2Lookup {
	l := &v2Lookup{users: make(map[string]*v2User, len(e.Includes.Users)), tweets: make(map[string]*v2Tweet, len(e.Includes.Tweets))}
	for i := range e.Includes.Users {
		l.users[e.Includes.Users[i].ID] = &e.Includes.Users[i]
	}
	for i := range e.Includes.Tweets {
		l.tweets[e.Includes.Tweets[i].ID] = &e.Includes.Tweets[i]
	}
	return l
}

func (l *v2Lookup) author(t *v2Tweet) *v2User {
	if t.Author != nil {
		return t.Author
	}
	if l != nil {
		return l.users[t.AuthorID]
	}
	return nil
}

// referenced returns the full referenced tweet: inline in a flattened tweet, or from the
// page's includes; nil when neither has it (deleted, or not expanded).
func (l *v2Lookup) referenced(ref *v2Ref) *v2Tweet {
	if ref.Text != nil {
		return &ref.v2Tweet
	}
	if l != nil {
		return l.tweets[ref.ID]
	}
	return nil
}

// parseV2Envelope reads a page ("data" an array) or a stream line ("data" an object).
func (h Hints) parseV2Envelope(line []byte) ([]tweet.Record, error) {
	var e v2Envelope
	if err := json.Unmarshal(line, &e); err != nil {
		var typeErr *json.UnmarshalTypeError
		if !errors.As(err, &typeErr) {
			return nil, fmt.Errorf("%w: %v", ErrInvalidJSON, err)
		}
		return nil, fmt.Errorf("%w: v2 payload: %v", ErrInvalidJSON, err)
	}
	data := bytes.TrimSpace(e.Data)
	switch {
	case len(data) > 0 && data[0] == '{':
		if recs, ok, err := h.parseV2ComplianceEvent(data); ok {
			return recs, err
		}
		var t v2Tweet
		if err := json.Unmarshal(data, &t); err != nil {
			return nil, fmt.Errorf("%w: v2 data: %v", ErrInvalidJSON, err)
		}
		if kind := v2ObjectKind(&t); kind != "" {
			return nil, fmt.Errorf("%w: v2 %s object", ErrNotATweet, kind)
		}
		rec, err := fromV2(&t, newV2Lookup(&e))
		if err != nil {
			return nil, err
		}
		return []tweet.Record{rec}, nil
	case len(data) > 0 && data[0] == '[':
		var ts []v2Tweet
		if err := json.Unmarshal(data, &ts); err != nil {
			return nil, fmt.Errorf("%w: v2 data: %v", ErrInvalidJSON, err)
		}
		if len(ts) == 0 {
			return nil, fmt.Errorf("%w: empty v2 page", ErrNotATweet)
		}
		if kind := v2ObjectKind(&ts[0]); kind != "" {
			return nil, fmt.Errorf("%w: v2 page of %s objects", ErrNotATweet, kind)
		}
		l := newV2Lookup(&e)
		recs := make([]tweet.Record, 0, len(ts))
		var errs []error
		for i := range ts {
			rec, err := fromV2(&ts[i], l)
			if err != nil {
				errs = append(errs, fmt.Errorf("tweet %d of %d: %w", i+1, len(ts), err))
				continue
			}
			recs = append(recs, rec)
		}
		return recs, pageError(errs)
	}
	return nil, fmt.Errorf("%w: v2 data is neither an object nor an array", ErrNotATweet)
}

// pageError sums up the tweets of a page that could not be used: the first error (which
// keeps its reason for the counters) and how many more there were.
func pageError(errs []error) error {
	switch len(errs) {
	case 0:
		return nil
	case 1:
		return errs[0]
	}
	return fmt.Errorf("%w (and %d more unusable tweets in the page)", errs[0], len(errs)-1)
}

// v2ObjectKind names the kind of a v2 object that is not a tweet ("" for a tweet).
func v2ObjectKind(t *v2Tweet) string {
	switch {
	case t.Text != nil:
		return ""
	case t.Username != nil:
		return "user"
	case t.TweetCount != nil:
		return "count"
	case t.MemberCount != nil:
		return "list"
	}
	return "non-tweet"
}

// parseV2Flat reads a flattened tweet: a v2 tweet object with its author and referenced
// tweets inline.
func (h Hints) parseV2Flat(line []byte) ([]tweet.Record, error) {
	var t v2Tweet
	if err := json.Unmarshal(line, &t); err != nil {
		return nil, fmt.Errorf("%w: v2 tweet: %v", ErrInvalidJSON, err)
	}
	rec, err := fromV2(&t, nil)
	if err != nil {
		return nil, err
	}
	return []tweet.Record{rec}, nil
}

// fromV2 maps a v2 tweet onto the canonical record.
func fromV2(t *v2Tweet, l *v2Lookup) (tweet.Record, error) {
	if t.ID == "" {
		return tweet.Record{}, ErrMissingID
	}
	if t.Text == nil {
		return tweet.Record{}, fmt.Errorf("%w: v2 tweet %s", ErrMissingText, t.ID)
	}
	created, err := time.Parse(time.RFC3339, t.CreatedAt)
	if err != nil {
		return tweet.Record{}, fmt.Errorf("%w: %q", ErrBadTime, t.CreatedAt)
	}
	r := tweet.Record{
		Schema:       tweet.SchemaVersion,
		ID:           t.ID,
		CreatedAt:    created.UTC(),
		Text:         v2Text(t),
		Lang:         t.Lang,
		SourceFormat: tweet.FormatV2,
	}
	if len(t.EditHistory) > 1 {
		r.EditHistory = t.EditHistory
	}
	// The page's includes may lack the author (not expanded): the id still names them.
	if u := l.author(t); u != nil && u.ID != "" {
		r.User = v2CanonicalUser(u)
	} else if t.AuthorID != "" {
		r.User.ID = t.AuthorID
	} else {
		return tweet.Record{}, fmt.Errorf("%w: v2 tweet %s has no author_id", ErrMissingUser, t.ID)
	}
	ents := v2TextEntities(t)
	rtAuthor := ""
	for i := range t.ReferencedTweets {
		ref := &t.ReferencedTweets[i]
		switch ref.Type {
		case "retweeted":
			r.RetweetOf = ref.ID
			orig := l.referenced(ref)
			if orig == nil {
				continue // deleted or not expanded: the truncated text is all there is
			}
			ents = v2TextEntities(orig)
			if u := l.author(orig); u != nil && u.Username != "" {
				rtAuthor = u.Username
				r.Text = "RT @" + u.Username + ": " + v2Text(orig)
			}
		case "quoted":
			r.QuoteOf = ref.ID
		case "replied_to":
			r.ReplyTo = ref.ID
		}
	}
	if ents != nil {
		for _, h := range ents.Hashtags {
			r.Hashtags = append(r.Hashtags, h.Tag)
		}
		for _, m := range ents.Mentions {
			r.Mentions = append(r.Mentions, m.Username)
		}
		for _, u := range ents.URLs {
			r.URLs = append(r.URLs, cmpOr(u.ExpandedURL, u.URL))
		}
	}
	r.Mentions = withRetweeted(r.Mentions, rtAuthor)
	r.Cashtags = cashtags(r.Text)
	return r, r.Validate()
}

// v2Text is a tweet's whole text: the note tweet's for long tweets.
func v2Text(t *v2Tweet) string {
	if t.NoteTweet != nil && t.NoteTweet.Text != "" {
		return t.NoteTweet.Text
	}
	if t.Text == nil {
		return ""
	}
	return *t.Text
}

// v2TextEntities are the entities of the text v2Text returns.
func v2TextEntities(t *v2Tweet) *v2Entities {
	if t.NoteTweet != nil && t.NoteTweet.Text != "" && t.NoteTweet.Entities != nil {
		return t.NoteTweet.Entities
	}
	return t.Entities
}

func v2CanonicalUser(u *v2User) tweet.User {
	cu := tweet.User{ID: u.ID, ScreenName: u.Username, Name: u.Name}
	if u.PublicMetrics != nil {
		cu.Followers = u.PublicMetrics.FollowersCount
	}
	return cu
}

// v2ComplianceEvent is a line of the v2 compliance streams:
// {"data":{"delete":{"tweet":{"id":…,"author_id":…},"event_at":…}}} and its kin.
type v2ComplianceEvent struct {
	EventAt string `json:"event_at"`
	Tweet   *struct {
		ID       string `json:"id"`
		AuthorID string `json:"author_id"`
	} `json:"tweet"`
	User *struct {
		ID string `json:"id"`
	} `json:"user"`
}

// v2ComplianceActions maps the compliance stream's event names onto tombstone reasons;
// events that do not withdraw tweets (undelete, withheld, scrub_geo, …) are not tweets.
var v2ComplianceActions = map[string]string{
	"delete":       "deleted",
	"tweet_drop":   "dropped",
	"user_delete":  "deactivated",
	"user_protect": "protected",
	"user_suspend": "suspended",
}

var v2ComplianceNotices = []string{"tweet_undrop", "tweet_edit", "tweet_withheld", "scrub_geo", "user_undelete", "user_unprotect",
	"user_unsuspend", "user_withheld", "user_profile_modification"}

// parseV2ComplianceEvent reads a compliance stream event; ok is false when data is not one.
func (h Hints) parseV2ComplianceEvent(data []byte) (recs []tweet.Record, ok bool, err error) {
	var events map[string]json.RawMessage
	if json.Unmarshal(data, &events) != nil || len(events) != 1 {
		return nil, false, nil
	}
	for name, raw := range events {
		why, withdraws := v2ComplianceActions[name]
		if !withdraws {
			for _, n := range v2ComplianceNotices {
				if n == name {
					return nil, true, fmt.Errorf("%w: compliance event %s", ErrNotATweet, name)
				}
			}
			return nil, false, nil
		}
		var ev v2ComplianceEvent
		if err := json.Unmarshal(raw, &ev); err != nil {
			return nil, true, fmt.Errorf("%w: compliance event %s: %v", ErrInvalidJSON, name, err)
		}
		at := h.now()
		if t, err := time.Parse(time.RFC3339, ev.EventAt); err == nil {
			at = t
		}
		switch {
		case ev.Tweet != nil:
			recs, err = tombstone(ev.Tweet.ID, ev.Tweet.AuthorID, at, why, tweet.FormatV2)
		case ev.User != nil:
			recs, err = tombstone("", ev.User.ID, at, why, tweet.FormatV2)
		default:
			err = fmt.Errorf("%w: compliance event %s names no tweet or user", ErrMissingID, name)
		}
		return recs, true, err
	}
	return nil, false, nil
}

// batchCompliance is a line of a v2 batch-compliance job's result:
// {"id":"…","action":"delete","created_at":"…","redacted_at":"…","reason":"deleted"}.
type batchCompliance struct {
	ID         string `json:"id"`
	Action     string `json:"action"`
	CreatedAt  string `json:"created_at"`
	RedactedAt string `json:"redacted_at"`
	Reason     string `json:"reason"`
}

// parseBatchCompliance turns a batch-compliance line into a tombstone of a tweet, or of an
// account's tweets with Hints.UserCompliance.
func (h Hints) parseBatchCompliance(line []byte) ([]tweet.Record, error) {
	var c batchCompliance
	if err := json.Unmarshal(line, &c); err != nil {
		return nil, fmt.Errorf("%w: compliance line: %v", ErrInvalidJSON, err)
	}
	if c.Action != "delete" {
		return nil, fmt.Errorf("%w: compliance action %q", ErrNotATweet, c.Action)
	}
	if c.ID == "" {
		return nil, fmt.Errorf("%w: compliance line without an id", ErrMissingID)
	}
	// The job reports when the content was redacted, or else when the object was created;
	// either way it is withdrawn from then on.
	at := h.now()
	for _, s := range []string{c.RedactedAt, c.CreatedAt} {
		if t, err := parseISOTime(s); err == nil {
			at = t
			break
		}
	}
	why := strings.ToLower(cmpOr(c.Reason, "deleted"))
	if h.UserCompliance {
		return tombstone("", c.ID, at, why, tweet.FormatV2)
	}
	return tombstone(c.ID, "", at, why, tweet.FormatV2)
}

// parseISOTime reads the ISO 8601 times v2 payloads use, with or without fractions and
// with Z or an offset.
func parseISOTime(s string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}, err
	}
	return t.UTC(), nil
}
