package ingest

import (
	"unicode/utf8"

	"github.com/dghubble/go-twitter/twitter"
	"github.com/valyala/fastjson"

	"github.com/starling-analytics/starling/internal/tweet"
)

// The fast path for the common line: a v1.1 tweet. Decoding a tweet into go-twitter's
// Tweet through encoding/json's reflection costs about 20 µs and 50 allocations; filling
// the few fields the canonical mapping reads straight from a fastjson parse costs a fraction
// of that, and ingest must never be the pipeline's bottleneck. The mapping itself stays
// fromV11, shared with the reference path.
//
// The fast path declines (ok = false) every line it cannot decode exactly as encoding/json
// would: stream events and other formats, values of unexpected types, duplicate or
// non-ASCII keys, invalid UTF-8, escapes it would not unescape the same way. Those lines
// take the reference path (ParseLine). TestFastPathMatchesReference and FuzzFastPath hold
// the two paths to the same canonical bytes.

// fastV11 holds a reusable parser; one per goroutine.
type fastV11 struct {
	p fastjson.Parser
}

// declinedTopKeys mark lines that are not plain v1.1 tweets (stream events, v2 payloads,
// activity streams): the reference path knows what to say about them.
var declinedTopKeys = map[string]bool{
	"delete": true, "limit": true, "scrub_geo": true, "status_withheld": true, "user_withheld": true,
	"disconnect": true, "warning": true, "friends": true, "friends_str": true, "event": true,
	"data": true, "includes": true, "errors": true, "meta": true,
	"verb": true, "actor": true, "object": true, "control": true,
}

// parse returns the canonical record of line when it is a plain v1.1 tweet the fast path
// can decode exactly; ok is false otherwise.
func (f *fastV11) parse(line []byte) (rec tweet.Record, ok bool) {
	// fastjson's validator misses control characters in strings that also hold escapes,
	// which encoding/json rejects; no compact JSON line needs a byte below 0x20 anyway.
	for _, c := range line {
		if c < 0x20 {
			return rec, false
		}
	}
	if !utf8.Valid(line) || fastjson.ValidateBytes(line) != nil {
		return rec, false
	}
	v, err := f.p.ParseBytes(line)
	if err != nil || v.Type() != fastjson.TypeObject {
		return rec, false
	}
	var t twitter.Tweet
	if !decodeTweet(v, &t, 0) {
		return rec, false
	}
	rec, err = fromV11(&t)
	if err != nil {
		return rec, false
	}
	return rec, true
}

// maxFastDepth bounds retweets of retweets the fast path follows.
const maxFastDepth = 3

// fields visits an object's keys, lower-cased as encoding/json matches them (without regard
// to case). fn returns a non-zero id for the keys it reads; a key read twice declines
// (encoding/json would merge or overwrite it), as does any non-ASCII key.
func fields(v *fastjson.Value, fn func(key []byte, v *fastjson.Value) int) bool {
	o, err := v.Object()
	if err != nil {
		return false
	}
	ok := true
	var seen uint64
	var buf [64]byte
	o.Visit(func(k []byte, v *fastjson.Value) {
		if !ok {
			return
		}
		key, ascii := lowerASCII(k, buf[:0])
		if !ascii {
			ok = false
			return
		}
		id := fn(key, v)
		if id < 0 {
			ok = false
			return
		}
		if id == 0 {
			return
		}
		if seen&(1<<id) != 0 {
			ok = false
			return
		}
		seen |= 1 << id
	})
	return ok
}

// lowerASCII lower-cases k (into buf when it must change it), reporting whether it is all
// ASCII.
func lowerASCII(k, buf []byte) ([]byte, bool) {
	upper := false
	for _, c := range k {
		if c >= utf8.RuneSelf {
			return nil, false
		}
		if 'A' <= c && c <= 'Z' {
			upper = true
		}
	}
	if !upper {
		return k, true
	}
	for _, c := range k {
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		buf = append(buf, c)
	}
	return buf, true
}

// str reads a JSON string (or null, which leaves dst alone, as encoding/json does).
func str(v *fastjson.Value, dst *string) bool {
	switch v.Type() {
	case fastjson.TypeNull:
		return true
	case fastjson.TypeString:
		b, _ := v.StringBytes()
		// fastjson keeps escapes it cannot decode (a lone surrogate) as text; encoding/json
		// would replace them.
		for i := 0; i+1 < len(b); i++ {
			if b[i] == '\\' && b[i+1] == 'u' {
				return false
			}
		}
		*dst = string(b)
		return true
	}
	return false
}

// integer reads a JSON integer (or null) into an int64.
func integer(v *fastjson.Value, dst *int64) bool {
	switch v.Type() {
	case fastjson.TypeNull:
		return true
	case fastjson.TypeNumber:
		n, err := v.Int64()
		if err != nil {
			return false
		}
		*dst = n
		return true
	}
	return false
}

func object(v *fastjson.Value) (present, ok bool) {
	switch v.Type() {
	case fastjson.TypeNull:
		return false, true
	case fastjson.TypeObject:
		return true, true
	}
	return false, false
}

// decodeTweet fills the fields of t that fromV11 reads.
func decodeTweet(v *fastjson.Value, t *twitter.Tweet, depth int) bool {
	if depth > maxFastDepth {
		return false
	}
	hasText := false
	good := true
	ok := fields(v, func(key []byte, v *fastjson.Value) int {
		if !good {
			return -1
		}
		if depth == 0 && declinedTopKeys[string(key)] {
			return -1
		}
		id := 0
		switch string(key) {
		case "id_str":
			id, good = 1, str(v, &t.IDStr)
		case "id":
			id, good = 2, integer(v, &t.ID)
		case "created_at":
			id, good = 3, str(v, &t.CreatedAt)
		case "text":
			id, good = 4, str(v, &t.Text)
			hasText = hasText || v.Type() == fastjson.TypeString
		case "full_text":
			id, good = 5, str(v, &t.FullText)
			hasText = hasText || v.Type() == fastjson.TypeString
		case "lang":
			id, good = 6, str(v, &t.Lang)
		case "quoted_status_id_str":
			id, good = 7, str(v, &t.QuotedStatusIDStr)
		case "in_reply_to_status_id_str":
			id, good = 13, str(v, &t.InReplyToStatusIDStr)
		case "in_reply_to_status_id":
			id, good = 14, integer(v, &t.InReplyToStatusID)
		case "user":
			id = 8
			var present bool
			if present, good = object(v); present {
				t.User = &twitter.User{}
				good = decodeUser(v, t.User)
			}
		case "entities":
			id = 9
			var present bool
			if present, good = object(v); present {
				t.Entities = &twitter.Entities{}
				good = decodeEntities(v, t.Entities)
			}
		case "extended_tweet":
			id = 10
			var present bool
			if present, good = object(v); present {
				t.ExtendedTweet = &twitter.ExtendedTweet{}
				good = decodeExtended(v, t.ExtendedTweet)
			}
		case "retweeted_status":
			id = 11
			var present bool
			if present, good = object(v); present {
				t.RetweetedStatus = &twitter.Tweet{}
				good = decodeTweet(v, t.RetweetedStatus, depth+1)
			}
		case "quoted_status":
			id = 12
			var present bool
			if present, good = object(v); present {
				t.QuotedStatus = &twitter.Tweet{}
				good = decodeTweet(v, t.QuotedStatus, depth+1)
			}
		}
		if !good {
			return -1
		}
		return id
	})
	// The reference path decides what a line without text is.
	return ok && good && (hasText || depth > 0)
}

func decodeUser(v *fastjson.Value, u *twitter.User) bool {
	good := true
	ok := fields(v, func(key []byte, v *fastjson.Value) int {
		id := 0
		switch string(key) {
		case "id_str":
			id, good = 1, str(v, &u.IDStr)
		case "id":
			id, good = 2, integer(v, &u.ID)
		case "screen_name":
			id, good = 3, str(v, &u.ScreenName)
		case "name":
			id, good = 4, str(v, &u.Name)
		case "followers_count":
			var n int64
			id, good = 5, integer(v, &n)
			u.FollowersCount = int(n)
		}
		if !good {
			return -1
		}
		return id
	})
	return ok && good
}

func decodeExtended(v *fastjson.Value, e *twitter.ExtendedTweet) bool {
	good := true
	ok := fields(v, func(key []byte, v *fastjson.Value) int {
		id := 0
		switch string(key) {
		case "full_text":
			id, good = 1, str(v, &e.FullText)
		case "entities":
			id = 2
			var present bool
			if present, good = object(v); present {
				e.Entities = &twitter.Entities{}
				good = decodeEntities(v, e.Entities)
			}
		}
		if !good {
			return -1
		}
		return id
	})
	return ok && good
}

// elements calls fn with each object of a JSON array (null: none); other element types
// decline.
func elements(v *fastjson.Value, fn func(v *fastjson.Value) bool) bool {
	if v.Type() == fastjson.TypeNull {
		return true
	}
	arr, err := v.Array()
	if err != nil {
		return false
	}
	for _, e := range arr {
		if e.Type() != fastjson.TypeObject || !fn(e) {
			return false
		}
	}
	return true
}

func decodeEntities(v *fastjson.Value, e *twitter.Entities) bool {
	good := true
	// one reads a single string field of an entity object.
	one := func(v *fastjson.Value, name string, dst *string) bool {
		return fields(v, func(key []byte, v *fastjson.Value) int {
			if string(key) != name {
				return 0
			}
			if !str(v, dst) {
				return -1
			}
			return 1
		})
	}
	ok := fields(v, func(key []byte, v *fastjson.Value) int {
		id := 0
		switch string(key) {
		case "hashtags":
			id, e.Hashtags = 1, nil
			good = elements(v, func(v *fastjson.Value) bool {
				var h twitter.HashtagEntity
				ok := one(v, "text", &h.Text)
				e.Hashtags = append(e.Hashtags, h)
				return ok
			})
		case "user_mentions":
			id, e.UserMentions = 2, nil
			good = elements(v, func(v *fastjson.Value) bool {
				var m twitter.MentionEntity
				ok := one(v, "screen_name", &m.ScreenName)
				e.UserMentions = append(e.UserMentions, m)
				return ok
			})
		case "urls":
			id, e.Urls = 3, nil
			good = elements(v, func(v *fastjson.Value) bool {
				var u twitter.URLEntity
				ok := fields(v, func(key []byte, v *fastjson.Value) int {
					var dst *string
					id := 0
					switch string(key) {
					case "url":
						id, dst = 1, &u.URL
					case "expanded_url":
						id, dst = 2, &u.ExpandedURL
					default:
						return 0
					}
					if !str(v, dst) {
						return -1
					}
					return id
				})
				e.Urls = append(e.Urls, u)
				return ok
			})
		}
		if !good {
			return -1
		}
		return id
	})
	return ok && good
}
