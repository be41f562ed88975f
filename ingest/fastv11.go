package ingest

import (
	"strings"
	"time"
	"unicode/utf8"

	"github.com/dghubble/go-twitter/twitter"

	"github.com/starling-analytics/starling/internal/jsonscan"
	"github.com/starling-analytics/starling/internal/tweet"
)

// The fast path for the common line: a v1.1 tweet. Decoding a tweet into go-twitter's
// Tweet through encoding/json's reflection costs about 20 µs and 50 allocations, and even a
// generic fast JSON parser spends most of its time building values and garbage the mapping
// never reads. This path scans the line once: it validates the JSON, fills the few fields
// the canonical mapping reads into reused go-twitter structs, skips the rest, and leaves
// strings pointing into the line (or into a per-line buffer for strings with escapes), so
// that a tweet costs no allocation. The mapping itself stays fromV11, shared with the
// reference path. Ingest must never be the pipeline's bottleneck.
//
// The fast path declines (false) every line it cannot decode exactly as encoding/json
// would: stream events and other formats, values of unexpected types, duplicate or
// non-ASCII keys, keys with escapes, invalid UTF-8, numbers that do not fit. Those lines take
// the reference path (Hints.Parse). TestFastPathMatchesReference and FuzzFastPath hold the
// two paths to the same canonical bytes.

// fastV11 is a reusable decoder; one per goroutine.
type fastV11 struct {
	s     jsonscan.Scanner
	nodes []*fastNode
	used  int // nodes handed out for the current line
}

// fastNode is the scratch of one tweet object (the line's tweet, a retweeted or a quoted
// one), reused line after line.
type fastNode struct {
	t    twitter.Tweet
	u    twitter.User
	e, x twitter.Entities
	ext  twitter.ExtendedTweet
}

// node hands out a cleared scratch node, keeping the capacity of its entity slices.
func (f *fastV11) node() *fastNode {
	if f.used == len(f.nodes) {
		f.nodes = append(f.nodes, &fastNode{})
	}
	n := f.nodes[f.used]
	f.used++
	keep := func(e *twitter.Entities) twitter.Entities {
		return twitter.Entities{Hashtags: e.Hashtags[:0], UserMentions: e.UserMentions[:0], Urls: e.Urls[:0]}
	}
	e, x := keep(&n.e), keep(&n.x)
	n.t, n.u, n.ext = twitter.Tweet{}, twitter.User{}, twitter.ExtendedTweet{}
	n.e, n.x = e, x
	return n
}

// declinedTopKeys mark lines that are not plain v1.1 tweets (stream events, v2 payloads,
// activity streams): the reference path knows what to say about them.
var declinedTopKeys = map[string]bool{
	"delete": true, "limit": true, "scrub_geo": true, "status_withheld": true, "user_withheld": true,
	"disconnect": true, "warning": true, "friends": true, "friends_str": true, "event": true,
	"data": true, "includes": true, "errors": true, "meta": true, "author_id": true, "author": true,
	"edit_history_tweet_ids": true, "action": true,
	"verb": true, "actor": true, "object": true, "control": true, "objecttype": true, "postedtime": true,
}

// maxFastDepth bounds the retweets of retweets the fast path follows; deeper lines take
// the reference path.
const maxFastDepth = 3

// parse fills rec with the canonical record of line when it is a plain v1.1 tweet the fast
// path decodes exactly, and reports whether it did. rec's strings and slices point into
// line and into f's buffers: they are valid until the next call (cloneRecord keeps one).
func (f *fastV11) parse(line []byte, rec *tweet.Record) bool {
	if !utf8.Valid(line) {
		return false
	}
	f.s.Reset(line)
	f.used = 0
	n := f.node()
	if !f.tweet(n, 0) || !f.s.End() {
		return false
	}
	return fromV11(&n.t, rec) == nil
}

// cloneRecord copies a record the fast path filled, so that it outlives the next parse:
// its strings back to back in one new string that the copy's fields are cut from, and its
// lists in one new slice (two allocations a record, not one a field).
func cloneRecord(r tweet.Record) tweet.Record {
	c := r
	fields := [...]*string{&c.ID, &c.Text, &c.Lang, &c.RetweetOf, &c.QuoteOf, &c.ReplyTo, &c.User.ID, &c.User.ScreenName, &c.User.Name}
	lists := [...]*[]string{&c.Hashtags, &c.Mentions, &c.URLs, &c.Cashtags, &c.EditHistory}
	size, items := 0, 0
	for _, f := range fields {
		size += len(*f)
	}
	for _, l := range lists {
		items += len(*l)
		for _, x := range *l {
			size += len(x)
		}
	}
	var b strings.Builder
	b.Grow(size)
	for _, f := range fields {
		b.WriteString(*f)
	}
	for _, l := range lists {
		for _, x := range *l {
			b.WriteString(x)
		}
	}
	all, at := b.String(), 0
	cut := func(s string) string {
		at += len(s)
		return all[at-len(s) : at]
	}
	for _, f := range fields {
		*f = cut(*f)
	}
	var elems []string
	if items > 0 {
		elems = make([]string, items)
	}
	for _, l := range lists {
		if len(*l) == 0 {
			*l = nil
			continue
		}
		out := elems[:len(*l):len(*l)]
		elems = elems[len(*l):]
		for k, x := range *l {
			out[k] = cut(x)
		}
		*l = out
	}
	return c
}

// tweet decodes a tweet object into n.t.
func (f *fastV11) tweet(n *fastNode, depth int) bool {
	if depth > maxFastDepth || !f.s.Open('{') {
		return false
	}
	t := &n.t
	hasText := false
	var seen uint32
	for first := true; ; first = false {
		key, more, ok := f.s.Key(first)
		if !ok {
			return false
		}
		if !more {
			break
		}
		if depth == 0 && declinedTopKeys[string(key)] {
			return false
		}
		id := 0
		switch string(key) {
		case "id_str":
			id, ok = 1, f.s.StrField(&t.IDStr)
		case "id":
			id, ok = 2, f.s.IntField(&t.ID)
		case "created_at":
			id, ok = 3, f.s.StrField(&t.CreatedAt)
		case "text":
			id = 4
			hasText = hasText || f.s.Peek() == '"'
			ok = f.s.StrField(&t.Text)
		case "full_text":
			id = 5
			hasText = hasText || f.s.Peek() == '"'
			ok = f.s.StrField(&t.FullText)
		case "lang":
			id, ok = 6, f.s.StrField(&t.Lang)
		case "quoted_status_id_str":
			id, ok = 7, f.s.StrField(&t.QuotedStatusIDStr)
		case "user":
			id = 8
			var present bool
			if present, ok = f.s.ObjectOrNull(); present {
				t.User = &n.u
				ok = f.user(t.User)
			}
		case "entities":
			id = 9
			var present bool
			if present, ok = f.s.ObjectOrNull(); present {
				t.Entities = &n.e
				ok = f.entities(t.Entities)
			}
		case "extended_tweet":
			id = 10
			var present bool
			if present, ok = f.s.ObjectOrNull(); present {
				t.ExtendedTweet = &n.ext
				ok = f.extended(t.ExtendedTweet, &n.x)
			}
		case "retweeted_status":
			id = 11
			var present bool
			if present, ok = f.s.ObjectOrNull(); present {
				c := f.node()
				t.RetweetedStatus = &c.t
				ok = f.tweet(c, depth+1)
			}
		case "quoted_status":
			id = 12
			var present bool
			if present, ok = f.s.ObjectOrNull(); present {
				c := f.node()
				t.QuotedStatus = &c.t
				ok = f.tweet(c, depth+1)
			}
		case "in_reply_to_status_id_str":
			id, ok = 13, f.s.StrField(&t.InReplyToStatusIDStr)
		case "in_reply_to_status_id":
			id, ok = 14, f.s.IntField(&t.InReplyToStatusID)
		default:
			ok = f.s.Skip(0)
		}
		if !ok || !once(&seen, id) {
			return false
		}
	}
	// The reference path decides what a line without text is.
	return hasText || depth > 0
}

// once records that the field id was read, and reports false when it already was:
// encoding/json would let the later value win, or merge objects; the fast path declines.
func once(seen *uint32, id int) bool {
	if id == 0 {
		return true
	}
	if *seen&(1<<id) != 0 {
		return false
	}
	*seen |= 1 << id
	return true
}

func (f *fastV11) user(u *twitter.User) bool {
	if !f.s.Open('{') {
		return false
	}
	var seen uint32
	for first := true; ; first = false {
		key, more, ok := f.s.Key(first)
		if !ok {
			return false
		}
		if !more {
			return true
		}
		id := 0
		switch string(key) {
		case "id_str":
			id, ok = 1, f.s.StrField(&u.IDStr)
		case "id":
			id, ok = 2, f.s.IntField(&u.ID)
		case "screen_name":
			id, ok = 3, f.s.StrField(&u.ScreenName)
		case "name":
			id, ok = 4, f.s.StrField(&u.Name)
		case "followers_count":
			n := int64(u.FollowersCount)
			id, ok = 5, f.s.IntField(&n)
			u.FollowersCount = int(n)
		default:
			ok = f.s.Skip(0)
		}
		if !ok || !once(&seen, id) {
			return false
		}
	}
}

func (f *fastV11) extended(e *twitter.ExtendedTweet, ents *twitter.Entities) bool {
	if !f.s.Open('{') {
		return false
	}
	var seen uint32
	for first := true; ; first = false {
		key, more, ok := f.s.Key(first)
		if !ok {
			return false
		}
		if !more {
			return true
		}
		id := 0
		switch string(key) {
		case "full_text":
			id, ok = 1, f.s.StrField(&e.FullText)
		case "entities":
			id = 2
			var present bool
			if present, ok = f.s.ObjectOrNull(); present {
				e.Entities = ents
				ok = f.entities(e.Entities)
			}
		default:
			ok = f.s.Skip(0)
		}
		if !ok || !once(&seen, id) {
			return false
		}
	}
}

func (f *fastV11) entities(e *twitter.Entities) bool {
	if !f.s.Open('{') {
		return false
	}
	var seen uint32
	for first := true; ; first = false {
		key, more, ok := f.s.Key(first)
		if !ok {
			return false
		}
		if !more {
			return true
		}
		id := 0
		switch string(key) {
		case "hashtags":
			id, ok = 1, entityArray(f, &e.Hashtags, "text", "", func(h *twitter.HashtagEntity) (*string, *string) { return &h.Text, nil })
		case "user_mentions":
			id, ok = 2, entityArray(f, &e.UserMentions, "screen_name", "", func(m *twitter.MentionEntity) (*string, *string) { return &m.ScreenName, nil })
		case "urls":
			id, ok = 3, entityArray(f, &e.Urls, "url", "expanded_url", func(u *twitter.URLEntity) (*string, *string) { return &u.URL, &u.ExpandedURL })
		default:
			ok = f.s.Skip(0)
		}
		if !ok || !once(&seen, id) {
			return false
		}
	}
}

// entityArray reads an array of entity objects, or null, into *dst (reusing its array):
// of each, the string fields a and b (when named), into the fields that fields points at.
func entityArray[T any](f *fastV11, dst *[]T, a, b string, fields func(*T) (*string, *string)) bool {
	present, ok := f.s.ArrayOrNull()
	if !present {
		*dst = nil
		return ok
	}
	if !ok {
		return false
	}
	*dst = (*dst)[:0]
	for more := true; ok && more; {
		if more, ok = f.objectElement(len(*dst) == 0); ok && more {
			var zero T
			*dst = append(*dst, zero)
			dstA, dstB := fields(&(*dst)[len(*dst)-1])
			ok = f.entity(a, dstA, b, dstB)
		}
	}
	return ok
}

// objectElement moves to the next element of an array of objects; elements other than
// objects decline.
func (f *fastV11) objectElement(first bool) (more, ok bool) {
	more, ok = f.s.Element(first)
	return more, ok && (!more || f.s.Peek() == '{')
}

// entity reads an entity object, keeping the string fields a (and b, when named).
func (f *fastV11) entity(a string, dstA *string, b string, dstB *string) bool {
	if !f.s.Open('{') {
		return false
	}
	var seen uint32
	for first := true; ; first = false {
		key, more, ok := f.s.Key(first)
		if !ok {
			return false
		}
		if !more {
			return true
		}
		id := 0
		switch {
		case string(key) == a:
			id, ok = 1, f.s.StrField(dstA)
		case b != "" && string(key) == b:
			id, ok = 2, f.s.StrField(dstB)
		default:
			ok = f.s.Skip(0)
		}
		if !ok || !once(&seen, id) {
			return false
		}
	}
}

// rubyTime parses Twitter's created_at layout ("Sat Mar 14 10:00:00 +0000 2026") as
// time.Parse(time.RubyDate) does, without its general layout interpreter; ok is false for
// anything else, which then goes through time.Parse.
func rubyTime(s string) (time.Time, bool) {
	const layout = "Mon Jan 02 15:04:05 -0700 2006"
	if len(s) != len(layout) || s[3] != ' ' || s[7] != ' ' || s[10] != ' ' || s[13] != ':' || s[16] != ':' || s[19] != ' ' || s[25] != ' ' {
		return time.Time{}, false
	}
	num := func(b string) (int, bool) {
		n := 0
		for i := 0; i < len(b); i++ {
			if b[i] < '0' || b[i] > '9' {
				return 0, false
			}
			n = n*10 + int(b[i]-'0')
		}
		return n, true
	}
	month := 0
	for i, m := range [...]string{"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"} {
		if s[4:7] == m {
			month = i + 1
		}
	}
	day, ok1 := num(s[8:10])
	hh, ok2 := num(s[11:13])
	mm, ok3 := num(s[14:16])
	ss, ok4 := num(s[17:19])
	year, ok5 := num(s[26:30])
	if month == 0 || !ok1 || !ok2 || !ok3 || !ok4 || !ok5 || s[20:25] != "+0000" {
		return time.Time{}, false
	}
	t := time.Date(year, time.Month(month), day, hh, mm, ss, 0, time.UTC)
	// time.Parse checks the day of the month and the weekday's spelling; a date that does
	// not round-trip (Feb 30, hour 24) is left to it.
	if t.Day() != day || t.Hour() != hh || t.Minute() != mm || t.Second() != ss || s[:3] != t.Weekday().String()[:3] {
		return time.Time{}, false
	}
	return t, true
}
