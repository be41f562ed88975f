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
	ErrMissingText = errors.New("missing text")
	// ErrMissingUser marks tweets without an author: Twitter never sends one, so the line
	// is damaged.
	ErrMissingUser = errors.New("missing user")
	// ErrAPIError marks lines that carry only an API error or notice (an "errors" array,
	// a stream's operational disconnect).
	ErrAPIError = errors.New("api error")
	// ErrLineTooLong marks a line longer than the ingester takes (4 MiB): it is counted
	// and logged, not kept, so not dead-lettered.
	ErrLineTooLong = errors.New("line too long")
)

var reasons = []error{ErrInvalidJSON, ErrNotATweet, ErrMissingID, ErrBadTime, ErrMissingText, ErrMissingUser, ErrAPIError, ErrLineTooLong}

// reason is the short name of a rejection, for counters and headers.
func reason(err error) string {
	for _, e := range reasons {
		if errors.Is(err, e) {
			return e.Error()
		}
	}
	return "other"
}

// Hints tell the parser what a line alone cannot say.
type Hints struct {
	// UserCompliance reads Twitter's batch-compliance lines ({"id", "action", "reason"})
	// as account events: their ids are users, not tweets. A tweets job and a users job
	// write lines of the same shape; the ingester sets this for input files whose name
	// contains "user".
	UserCompliance bool
	// Now stamps tombstones whose source gives no time. Zero: the current time.
	Now time.Time
}

func (h Hints) now() time.Time {
	if h.Now.IsZero() {
		return time.Now().UTC().Truncate(time.Millisecond)
	}
	return h.Now.UTC()
}

// ParseLine is Hints{}.Parse: the canonical records of one line of any supported format.
func ParseLine(line []byte) ([]tweet.Record, error) {
	return Hints{}.Parse(line)
}

// probe holds the top-level fields that tell the formats and events apart.
type probe struct {
	IDStr     *string         `json:"id_str"`
	ID        json.RawMessage `json:"id"`
	CreatedAt *string         `json:"created_at"`
	Text      *string         `json:"text"`
	FullText  *string         `json:"full_text"`
	User      json.RawMessage `json:"user"`

	// Twitter API v1.1 stream events.
	Delete         json.RawMessage `json:"delete"`
	Limit          json.RawMessage `json:"limit"`
	ScrubGeo       json.RawMessage `json:"scrub_geo"`
	StatusWithheld json.RawMessage `json:"status_withheld"`
	UserWithheld   json.RawMessage `json:"user_withheld"`
	Disconnect     json.RawMessage `json:"disconnect"`
	Warning        json.RawMessage `json:"warning"`
	Friends        json.RawMessage `json:"friends"`
	FriendsStr     json.RawMessage `json:"friends_str"`
	Event          json.RawMessage `json:"event"`

	// Twitter API v2: pages and stream lines ("data"), flattened tweets, compliance.
	Data        json.RawMessage `json:"data"`
	Errors      json.RawMessage `json:"errors"`
	AuthorID    *string         `json:"author_id"`
	Author      json.RawMessage `json:"author"`
	EditHistory json.RawMessage `json:"edit_history_tweet_ids"`
	Action      *string         `json:"action"`

	// Activity streams.
	Verb       *string `json:"verb"`
	ObjectType *string `json:"objectType"`
	PostedTime *string `json:"postedTime"`
}

// Parse decodes one line into canonical records, detecting its format from the line itself:
//
//   - a Twitter API v1.1 tweet (as go-twitter's twitter.Tweet decodes it), or a v1.1
//     stream event: a deletion becomes a tombstone, other events (limit, scrub_geo,
//     withheld, disconnect, …) are rejected as not tweets;
//   - Twitter API v2: a response page ({"data": [...], "includes": …}), a filtered-stream
//     line ({"data": {...}, "matching_rules": …}), a flattened tweet (author and
//     referenced tweets inline, as twarc writes them), a compliance event from the
//     compliance stream or a batch-compliance job (tombstones);
//   - an activity streams activity (Gnip's rendering of v1.1): post, share, delete.
//
// A page gives a record per usable tweet. When a line yields no record, the error wraps one
// of the Err* reasons. A page where some tweets are usable and others are not returns the
// usable records together with an error describing the rest.
func (h Hints) Parse(line []byte) ([]tweet.Record, error) {
	line = bytes.TrimSpace(line)
	var p probe
	if err := json.Unmarshal(line, &p); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidJSON, err)
	}
	switch {
	case p.Data != nil:
		return h.parseV2Envelope(line)
	case p.Verb != nil || (p.ObjectType != nil && p.PostedTime != nil):
		return h.parseActivity(line)
	case p.Action != nil && p.Text == nil:
		return h.parseBatchCompliance(line)
	case p.Delete != nil:
		return h.parseV11Delete(p.Delete)
	case p.Limit != nil:
		return nil, fmt.Errorf("%w: limit notice", ErrNotATweet)
	case p.ScrubGeo != nil:
		return nil, fmt.Errorf("%w: scrub_geo notice", ErrNotATweet)
	case p.StatusWithheld != nil || p.UserWithheld != nil:
		return nil, fmt.Errorf("%w: withheld notice", ErrNotATweet)
	case p.Disconnect != nil:
		return nil, fmt.Errorf("%w: disconnect notice", ErrAPIError)
	case p.Warning != nil:
		return nil, fmt.Errorf("%w: stall warning", ErrAPIError)
	case p.Friends != nil || p.FriendsStr != nil || p.Event != nil:
		return nil, fmt.Errorf("%w: user stream event", ErrNotATweet)
	case p.Errors != nil && p.Text == nil:
		return nil, fmt.Errorf("%w: %s", ErrAPIError, apiErrorSummary(p.Errors))
	case p.Text == nil && p.FullText == nil:
		return nil, fmt.Errorf("%w: no text", ErrNotATweet)
	case p.IDStr == nil && p.User == nil && (p.AuthorID != nil || p.Author != nil || p.EditHistory != nil ||
		len(p.ID) > 0 && p.ID[0] == '"'): // v2 ids are strings, v1.1 ids numbers
		return h.parseV2Flat(line)
	}
	var t twitter.Tweet
	if err := json.Unmarshal(line, &t); err != nil {
		// A field whose type differs from go-twitter's struct (real payloads have such
		// fields, e.g. poll durations) leaves the rest decoded: keep going.
		var typeErr *json.UnmarshalTypeError
		if !errors.As(err, &typeErr) {
			return nil, fmt.Errorf("%w: %v", ErrInvalidJSON, err)
		}
	}
	var rec tweet.Record
	if err := fromV11(&t, &rec); err != nil {
		return nil, err
	}
	return []tweet.Record{rec}, nil
}

// apiErrorSummary is the first error of an API "errors" array, for the rejection message.
func apiErrorSummary(raw json.RawMessage) string {
	var errs []struct {
		Title   string `json:"title"`
		Detail  string `json:"detail"`
		Message string `json:"message"`
	}
	if json.Unmarshal(raw, &errs) != nil || len(errs) == 0 {
		return "errors"
	}
	e := errs[0]
	msg := strings.TrimSpace(e.Title + ": " + e.Detail + e.Message)
	return strings.Trim(msg, ": ")
}

// fromV11 maps a go-twitter tweet onto the canonical record r, reusing the capacity of r's
// slices (the fast path keeps one record for every line).
func fromV11(t *twitter.Tweet, r *tweet.Record) error {
	id := t.IDStr
	if id == "" && t.ID > 0 {
		id = strconv.FormatInt(t.ID, 10)
	}
	if id == "" {
		return ErrMissingID
	}
	created, ok := rubyTime(t.CreatedAt)
	if !ok {
		var err error
		if created, err = time.Parse(time.RubyDate, t.CreatedAt); err != nil {
			return fmt.Errorf("%w: %q", ErrBadTime, t.CreatedAt)
		}
	}
	if t.User == nil || t.User.IDStr == "" && t.User.ID <= 0 {
		return fmt.Errorf("%w: tweet %s", ErrMissingUser, id)
	}
	*r = tweet.Record{
		Schema:       tweet.SchemaVersion,
		ID:           id,
		CreatedAt:    created.UTC(),
		Text:         fullText(t),
		Lang:         t.Lang,
		ReplyTo:      t.InReplyToStatusIDStr,
		SourceFormat: tweet.FormatV11,
		Hashtags:     r.Hashtags[:0],
		Mentions:     r.Mentions[:0],
		URLs:         r.URLs[:0],
		Cashtags:     r.Cashtags[:0],
	}
	if r.ReplyTo == "" && t.InReplyToStatusID > 0 {
		r.ReplyTo = strconv.FormatInt(t.InReplyToStatusID, 10)
	}
	r.User = tweet.User{ID: cmpOr(t.User.IDStr, positive(t.User.ID)), ScreenName: t.User.ScreenName, Name: t.User.Name, Followers: int64(t.User.FollowersCount)}
	ents := t.Entities
	if t.ExtendedTweet != nil && t.ExtendedTweet.Entities != nil {
		ents = t.ExtendedTweet.Entities
	}
	if t.RetweetedStatus != nil {
		r.RetweetOf = t.RetweetedStatus.IDStr
		if r.RetweetOf == "" && t.RetweetedStatus.ID > 0 {
			r.RetweetOf = strconv.FormatInt(t.RetweetedStatus.ID, 10)
		}
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
			r.URLs = append(r.URLs, cmpOr(u.ExpandedURL, u.URL))
		}
	}
	if t.RetweetedStatus != nil && t.RetweetedStatus.User != nil {
		r.Mentions = withRetweeted(r.Mentions, t.RetweetedStatus.User.ScreenName)
	}
	r.Cashtags = tweet.AppendCashtags(r.Cashtags, r.Text)
	// Empty lists are absent, however the source spelled them.
	for _, l := range []*[]string{&r.Hashtags, &r.Mentions, &r.URLs, &r.Cashtags} {
		if len(*l) == 0 {
			*l = nil
		}
	}
	return r.Validate()
}

// withRetweeted puts a retweet's original author first among its mentions, as the text
// "RT @author: …" names them first.
func withRetweeted(mentions []string, author string) []string {
	if author == "" || contains(mentions, author) {
		return mentions
	}
	return append([]string{author}, mentions...)
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

// v11Delete is a v1.1 stream's deletion notice:
// {"delete":{"status":{"id":…,"id_str":"…","user_id":…,"user_id_str":"…"},"timestamp_ms":"…"}}.
type v11Delete struct {
	Status *struct {
		ID        int64  `json:"id"`
		IDStr     string `json:"id_str"`
		UserID    int64  `json:"user_id"`
		UserIDStr string `json:"user_id_str"`
	} `json:"status"`
	TimestampMS string `json:"timestamp_ms"`
}

// parseV11Delete turns a deletion notice into a tombstone.
func (h Hints) parseV11Delete(raw json.RawMessage) ([]tweet.Record, error) {
	var d v11Delete
	if err := json.Unmarshal(raw, &d); err != nil {
		return nil, fmt.Errorf("%w: delete notice: %v", ErrInvalidJSON, err)
	}
	if d.Status == nil {
		return nil, fmt.Errorf("%w: delete notice without a status", ErrMissingID)
	}
	id := cmpOr(d.Status.IDStr, positive(d.Status.ID))
	if id == "" {
		return nil, fmt.Errorf("%w: delete notice without a tweet id", ErrMissingID)
	}
	at := h.now()
	if ms, err := strconv.ParseInt(d.TimestampMS, 10, 64); err == nil && ms > 0 {
		at = time.UnixMilli(ms).UTC()
	}
	return tombstone(id, cmpOr(d.Status.UserIDStr, positive(d.Status.UserID)), at, "deleted", tweet.FormatV11)
}

// tombstone builds and checks a tombstone record.
func tombstone(id, userID string, at time.Time, why, format string) ([]tweet.Record, error) {
	if y := at.UTC().Year(); y < 2006 || y > 9999 { // Twitter's first tweet is from 2006
		return nil, fmt.Errorf("%w: tombstone time %v", ErrBadTime, at)
	}
	r := tweet.Record{Schema: tweet.SchemaVersion, Kind: tweet.KindDelete, ID: id, User: tweet.User{ID: userID},
		CreatedAt: at.UTC(), Reason: why, SourceFormat: format}
	if err := r.Validate(); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMissingID, err)
	}
	return []tweet.Record{r}, nil
}

// positive formats n when it is a usable id, "" otherwise.
func positive(n int64) string {
	if n <= 0 {
		return ""
	}
	return strconv.FormatInt(n, 10)
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// cashtags finds the $SYMBOL cashtags of a text (tweet.AppendCashtags). Every format's
// mapping takes them from the text (go-twitter's v1.1 entities do not carry symbols), so
// that the same tweet gives the same record whatever format it came in.
func cashtags(text string) []string {
	return tweet.AppendCashtags(nil, text)
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
