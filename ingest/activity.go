package ingest

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/starling-analytics/starling/internal/tweet"
)

// Activity streams: Gnip's rendering of v1.1 tweets (PowerTrack, Historical PowerTrack and
// the enterprise archives). A tweet is an activity with verb "post", a retweet one with
// verb "share" whose object is the original activity, a deletion one with verb "delete".
// Ids are URNs ("tag:search.twitter.com,2005:<tweet id>", "id:twitter.com:<user id>").
// The same tweet gives the same canonical record as its v1.1 original-format payload
// (TestActivityStreamsMatchOriginalFormat).

type asActivity struct {
	ID         string `json:"id"`
	ObjectType string `json:"objectType"`
	Verb       string `json:"verb"`
	PostedTime string `json:"postedTime"`
	Body       string `json:"body"`
	LongObject *struct {
		Body            string      `json:"body"`
		TwitterEntities *asEntities `json:"twitter_entities"`
	} `json:"long_object"`
	Actor           *asActor    `json:"actor"`
	Object          *asActivity `json:"object"`
	TwitterEntities *asEntities `json:"twitter_entities"`
	TwitterLang     string      `json:"twitter_lang"`
	QuotedStatus    *asActivity `json:"twitter_quoted_status"`
	InReplyTo       *struct {
		Link string `json:"link"`
	} `json:"inReplyTo"`
}

type asActor struct {
	ID                string `json:"id"`
	PreferredUsername string `json:"preferredUsername"`
	DisplayName       string `json:"displayName"`
	FollowersCount    int64  `json:"followersCount"`
}

type asEntities struct {
	Hashtags []struct {
		Text string `json:"text"`
	} `json:"hashtags"`
	UserMentions []struct {
		ScreenName string `json:"screen_name"`
	} `json:"user_mentions"`
	URLs []struct {
		URL         string `json:"url"`
		ExpandedURL string `json:"expanded_url"`
	} `json:"urls"`
}

// parseActivity reads one activity.
func (h Hints) parseActivity(line []byte) ([]tweet.Record, error) {
	var a asActivity
	if err := json.Unmarshal(line, &a); err != nil {
		return nil, fmt.Errorf("%w: activity: %v", ErrInvalidJSON, err)
	}
	switch a.Verb {
	case "post", "share":
		rec, err := fromActivity(&a, 0)
		if err != nil {
			return nil, err
		}
		return []tweet.Record{rec}, nil
	case "delete":
		if a.Object == nil {
			return nil, fmt.Errorf("%w: delete activity without an object", ErrMissingID)
		}
		at := h.now()
		if t, err := time.Parse(time.RFC3339, a.PostedTime); err == nil {
			at = t
		}
		var userID string
		if a.Actor != nil {
			userID = urnID(a.Actor.ID)
		}
		return tombstone(urnID(a.Object.ID), userID, at, "deleted", tweet.FormatActivity)
	case "":
		return nil, fmt.Errorf("%w: %s object without a verb", ErrNotATweet, cmpOr(a.ObjectType, "activity streams"))
	}
	return nil, fmt.Errorf("%w: activity with verb %q", ErrNotATweet, a.Verb)
}

// maxShareDepth bounds the shares of shares followed.
const maxShareDepth = 3

// fromActivity maps a post or share activity onto the canonical record.
func fromActivity(a *asActivity, depth int) (tweet.Record, error) {
	id := urnID(a.ID)
	if id == "" {
		return tweet.Record{}, fmt.Errorf("%w: activity id %q", ErrMissingID, a.ID)
	}
	created, err := time.Parse(time.RFC3339, a.PostedTime)
	if err != nil {
		return tweet.Record{}, fmt.Errorf("%w: %q", ErrBadTime, a.PostedTime)
	}
	r := tweet.Record{
		Schema:       tweet.SchemaVersion,
		ID:           id,
		CreatedAt:    created.UTC(),
		Text:         activityText(a, depth),
		Lang:         a.TwitterLang,
		SourceFormat: tweet.FormatActivity,
	}
	if a.Actor == nil || urnID(a.Actor.ID) == "" {
		return tweet.Record{}, fmt.Errorf("%w: activity %s has no actor", ErrMissingUser, id)
	}
	r.User = tweet.User{ID: urnID(a.Actor.ID), ScreenName: a.Actor.PreferredUsername, Name: a.Actor.DisplayName, Followers: a.Actor.FollowersCount}
	if a.InReplyTo != nil {
		r.ReplyTo = statusLinkID(a.InReplyTo.Link)
	}
	ents := a.TwitterEntities
	if a.LongObject != nil && a.LongObject.TwitterEntities != nil {
		ents = a.LongObject.TwitterEntities
	}
	var rtAuthor string
	if a.Verb == "share" && a.Object != nil {
		r.RetweetOf = urnID(a.Object.ID)
		orig := a.Object
		if orig.LongObject != nil && orig.LongObject.TwitterEntities != nil {
			ents = orig.LongObject.TwitterEntities
		} else if orig.TwitterEntities != nil {
			ents = orig.TwitterEntities
		}
		if orig.Actor != nil {
			rtAuthor = orig.Actor.PreferredUsername
		}
	}
	if a.QuotedStatus != nil {
		r.QuoteOf = urnID(a.QuotedStatus.ID)
	}
	if ents != nil {
		for _, h := range ents.Hashtags {
			r.Hashtags = append(r.Hashtags, h.Text)
		}
		for _, m := range ents.UserMentions {
			r.Mentions = append(r.Mentions, m.ScreenName)
		}
		for _, u := range ents.URLs {
			r.URLs = append(r.URLs, cmpOr(u.ExpandedURL, u.URL))
		}
	}
	r.Mentions = withRetweeted(r.Mentions, rtAuthor)
	r.Cashtags = cashtags(r.Text)
	return r, r.Validate()
}

// activityText is the untruncated text: long_object.body or body; a share is
// "RT @author: " and the original's text.
func activityText(a *asActivity, depth int) string {
	if a.Verb == "share" && a.Object != nil && a.Object.Actor != nil && depth < maxShareDepth {
		return "RT @" + a.Object.Actor.PreferredUsername + ": " + activityText(a.Object, depth+1)
	}
	if a.LongObject != nil && a.LongObject.Body != "" {
		return a.LongObject.Body
	}
	return a.Body
}

// urnID is the number at the end of an activity streams id: "tag:search.twitter.com,2005:123"
// and "id:twitter.com:123" both give "123"; "" when it does not end in one.
func urnID(urn string) string {
	i := strings.LastIndexByte(urn, ':')
	id := urn[i+1:]
	if id == "" || strings.TrimLeft(id, "0123456789") != "" {
		return ""
	}
	return id
}

// statusLinkID is the tweet id of a status link, http://twitter.com/user/statuses/123.
func statusLinkID(link string) string {
	i := strings.LastIndexByte(link, '/')
	id := link[i+1:]
	if id == "" || strings.TrimLeft(id, "0123456789") != "" {
		return ""
	}
	return id
}
