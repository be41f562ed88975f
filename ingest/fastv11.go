package ingest

import (
	"strconv"
	"time"
	"unicode/utf16"
	"unicode/utf8"
	"unsafe"

	"github.com/dghubble/go-twitter/twitter"

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

// fastV11 is a reusable scanner; one per goroutine.
type fastV11 struct {
	b     []byte // the line
	i     int    // the scan position in b
	arena []byte // unescaped strings of the current line
	nodes []*fastNode
	used  int      // nodes handed out for the current line
	kbuf  [64]byte // a lower-cased key
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

// maxFastDepth bounds the retweets of retweets the fast path follows, and maxSkipDepth the
// nesting of values it skips; deeper lines take the reference path.
const (
	maxFastDepth = 3
	maxSkipDepth = 200
)

// parse fills rec with the canonical record of line when it is a plain v1.1 tweet the fast
// path decodes exactly, and reports whether it did. rec's strings and slices point into
// line and into f's buffers: they are valid until the next call (cloneRecord keeps one).
func (f *fastV11) parse(line []byte, rec *tweet.Record) bool {
	if !utf8.Valid(line) {
		return false
	}
	f.b, f.i, f.arena, f.used = line, 0, f.arena[:0], 0
	n := f.node()
	f.ws()
	if !f.tweet(n, 0) {
		return false
	}
	f.ws()
	if f.i != len(f.b) {
		return false
	}
	return fromV11(&n.t, rec) == nil
}

// cloneRecord copies a record the fast path filled, so that it outlives the next parse.
func cloneRecord(r tweet.Record) tweet.Record {
	c := r
	c.ID, c.Text, c.Lang, c.RetweetOf, c.QuoteOf, c.ReplyTo = cloneStr(r.ID), cloneStr(r.Text), cloneStr(r.Lang),
		cloneStr(r.RetweetOf), cloneStr(r.QuoteOf), cloneStr(r.ReplyTo)
	c.User = tweet.User{ID: cloneStr(r.User.ID), ScreenName: cloneStr(r.User.ScreenName), Name: cloneStr(r.User.Name), Followers: r.User.Followers}
	cl := func(ss []string) []string {
		if len(ss) == 0 {
			return nil
		}
		out := make([]string, len(ss))
		for i, s := range ss {
			out[i] = cloneStr(s)
		}
		return out
	}
	c.Hashtags, c.Mentions, c.URLs, c.Cashtags, c.EditHistory = cl(r.Hashtags), cl(r.Mentions), cl(r.URLs), cl(r.Cashtags), cl(r.EditHistory)
	return c
}

func cloneStr(s string) string {
	if s == "" {
		return ""
	}
	return string(append([]byte(nil), s...))
}

// tweet decodes a tweet object into n.t.
func (f *fastV11) tweet(n *fastNode, depth int) bool {
	if depth > maxFastDepth || !f.open('{') {
		return false
	}
	t := &n.t
	hasText := false
	var seen uint32
	for first := true; ; first = false {
		key, more, ok := f.key(first)
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
			id, ok = 1, f.strField(&t.IDStr)
		case "id":
			id, ok = 2, f.intField(&t.ID)
		case "created_at":
			id, ok = 3, f.strField(&t.CreatedAt)
		case "text":
			id = 4
			hasText = hasText || f.peek() == '"'
			ok = f.strField(&t.Text)
		case "full_text":
			id = 5
			hasText = hasText || f.peek() == '"'
			ok = f.strField(&t.FullText)
		case "lang":
			id, ok = 6, f.strField(&t.Lang)
		case "quoted_status_id_str":
			id, ok = 7, f.strField(&t.QuotedStatusIDStr)
		case "user":
			id = 8
			var present bool
			if present, ok = f.objectOrNull(); present {
				t.User = &n.u
				ok = f.user(t.User)
			}
		case "entities":
			id = 9
			var present bool
			if present, ok = f.objectOrNull(); present {
				t.Entities = &n.e
				ok = f.entities(t.Entities)
			}
		case "extended_tweet":
			id = 10
			var present bool
			if present, ok = f.objectOrNull(); present {
				t.ExtendedTweet = &n.ext
				ok = f.extended(t.ExtendedTweet, &n.x)
			}
		case "retweeted_status":
			id = 11
			var present bool
			if present, ok = f.objectOrNull(); present {
				c := f.node()
				t.RetweetedStatus = &c.t
				ok = f.tweet(c, depth+1)
			}
		case "quoted_status":
			id = 12
			var present bool
			if present, ok = f.objectOrNull(); present {
				c := f.node()
				t.QuotedStatus = &c.t
				ok = f.tweet(c, depth+1)
			}
		case "in_reply_to_status_id_str":
			id, ok = 13, f.strField(&t.InReplyToStatusIDStr)
		case "in_reply_to_status_id":
			id, ok = 14, f.intField(&t.InReplyToStatusID)
		default:
			ok = f.skip(0)
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
	if !f.open('{') {
		return false
	}
	var seen uint32
	for first := true; ; first = false {
		key, more, ok := f.key(first)
		if !ok {
			return false
		}
		if !more {
			return true
		}
		id := 0
		switch string(key) {
		case "id_str":
			id, ok = 1, f.strField(&u.IDStr)
		case "id":
			id, ok = 2, f.intField(&u.ID)
		case "screen_name":
			id, ok = 3, f.strField(&u.ScreenName)
		case "name":
			id, ok = 4, f.strField(&u.Name)
		case "followers_count":
			n := int64(u.FollowersCount)
			id, ok = 5, f.intField(&n)
			u.FollowersCount = int(n)
		default:
			ok = f.skip(0)
		}
		if !ok || !once(&seen, id) {
			return false
		}
	}
}

func (f *fastV11) extended(e *twitter.ExtendedTweet, ents *twitter.Entities) bool {
	if !f.open('{') {
		return false
	}
	var seen uint32
	for first := true; ; first = false {
		key, more, ok := f.key(first)
		if !ok {
			return false
		}
		if !more {
			return true
		}
		id := 0
		switch string(key) {
		case "full_text":
			id, ok = 1, f.strField(&e.FullText)
		case "entities":
			id = 2
			var present bool
			if present, ok = f.objectOrNull(); present {
				e.Entities = ents
				ok = f.entities(e.Entities)
			}
		default:
			ok = f.skip(0)
		}
		if !ok || !once(&seen, id) {
			return false
		}
	}
}

func (f *fastV11) entities(e *twitter.Entities) bool {
	if !f.open('{') {
		return false
	}
	var seen uint32
	for first := true; ; first = false {
		key, more, ok := f.key(first)
		if !ok {
			return false
		}
		if !more {
			return true
		}
		id := 0
		switch string(key) {
		case "hashtags":
			id = 1
			var present bool
			if present, ok = f.arrayOrNull(); !present {
				e.Hashtags = nil
			} else if ok {
				e.Hashtags = e.Hashtags[:0]
				for more := true; ok && more; {
					if more, ok = f.element(len(e.Hashtags) == 0); ok && more {
						var h twitter.HashtagEntity
						ok = f.entity("text", &h.Text, "", nil)
						e.Hashtags = append(e.Hashtags, h)
					}
				}
			}
		case "user_mentions":
			id = 2
			var present bool
			if present, ok = f.arrayOrNull(); !present {
				e.UserMentions = nil
			} else if ok {
				e.UserMentions = e.UserMentions[:0]
				for more := true; ok && more; {
					if more, ok = f.element(len(e.UserMentions) == 0); ok && more {
						var m twitter.MentionEntity
						ok = f.entity("screen_name", &m.ScreenName, "", nil)
						e.UserMentions = append(e.UserMentions, m)
					}
				}
			}
		case "urls":
			id = 3
			var present bool
			if present, ok = f.arrayOrNull(); !present {
				e.Urls = nil
			} else if ok {
				e.Urls = e.Urls[:0]
				for more := true; ok && more; {
					if more, ok = f.element(len(e.Urls) == 0); ok && more {
						var u twitter.URLEntity
						ok = f.entity("url", &u.URL, "expanded_url", &u.ExpandedURL)
						e.Urls = append(e.Urls, u)
					}
				}
			}
		default:
			ok = f.skip(0)
		}
		if !ok || !once(&seen, id) {
			return false
		}
	}
}

// entity reads an entity object, keeping the string fields a (and b, when named).
func (f *fastV11) entity(a string, dstA *string, b string, dstB *string) bool {
	if !f.open('{') {
		return false
	}
	var seen uint32
	for first := true; ; first = false {
		key, more, ok := f.key(first)
		if !ok {
			return false
		}
		if !more {
			return true
		}
		id := 0
		switch {
		case string(key) == a:
			id, ok = 1, f.strField(dstA)
		case b != "" && string(key) == b:
			id, ok = 2, f.strField(dstB)
		default:
			ok = f.skip(0)
		}
		if !ok || !once(&seen, id) {
			return false
		}
	}
}

// The scanner. Positions only move forward; every method returns false at the first byte
// that is not valid JSON or not decoded exactly as encoding/json would.

func (f *fastV11) ws() {
	for f.i < len(f.b) {
		switch f.b[f.i] {
		case ' ', '\t', '\n', '\r':
			f.i++
		default:
			return
		}
	}
}

// peek is the next byte, 0 at the end.
func (f *fastV11) peek() byte {
	if f.i < len(f.b) {
		return f.b[f.i]
	}
	return 0
}

// open consumes c (an opening brace or bracket).
func (f *fastV11) open(c byte) bool {
	if f.peek() != c {
		return false
	}
	f.i++
	f.ws()
	return true
}

// key reads the next key of an object and its colon, lower-cased as encoding/json matches
// keys to fields (without regard to ASCII case); more is false at the closing brace.
func (f *fastV11) key(first bool) (key []byte, more, ok bool) {
	f.ws()
	switch f.peek() {
	case '}':
		f.i++
		return nil, false, true
	case ',':
		if first {
			return nil, false, false
		}
		f.i++
		f.ws()
	default:
		if !first {
			return nil, false, false
		}
	}
	if f.peek() != '"' {
		return nil, false, false
	}
	start := f.i + 1
	i := start
	upper := false
	for ; i < len(f.b) && f.b[i] != '"'; i++ {
		c := f.b[i]
		if c == '\\' || c < 0x20 || c >= utf8.RuneSelf {
			return nil, false, false // escaped and non-ASCII keys fold in ways left to the reference
		}
		upper = upper || 'A' <= c && c <= 'Z'
	}
	if i >= len(f.b) {
		return nil, false, false
	}
	key = f.b[start:i]
	if upper && len(key) <= len(f.kbuf) { // longer keys match no field read here
		for j, c := range key {
			if 'A' <= c && c <= 'Z' {
				c += 'a' - 'A'
			}
			f.kbuf[j] = c
		}
		key = f.kbuf[:len(key)]
	}
	f.i = i + 1
	f.ws()
	if f.peek() != ':' {
		return nil, false, false
	}
	f.i++
	f.ws()
	return key, true, true
}

// element moves to the next element of an array; more is false at the closing bracket.
// Elements other than objects decline.
func (f *fastV11) element(first bool) (more, ok bool) {
	f.ws()
	switch f.peek() {
	case ']':
		f.i++
		return false, true
	case ',':
		if first {
			return false, false
		}
		f.i++
		f.ws()
	default:
		if !first {
			return false, false
		}
	}
	return true, f.peek() == '{'
}

// objectOrNull reports whether the value is an object (left to be read) or null (consumed).
func (f *fastV11) objectOrNull() (present, ok bool) {
	switch f.peek() {
	case '{':
		return true, true
	case 'n':
		return false, f.literal("null")
	}
	return false, false
}

// arrayOrNull reports whether the value is an array (its bracket consumed) or null.
func (f *fastV11) arrayOrNull() (present, ok bool) {
	switch f.peek() {
	case '[':
		f.i++
		f.ws()
		return true, true
	case 'n':
		return false, f.literal("null")
	}
	return false, false
}

func (f *fastV11) literal(lit string) bool {
	if len(f.b)-f.i < len(lit) || string(f.b[f.i:f.i+len(lit)]) != lit {
		return false
	}
	f.i += len(lit)
	return true
}

// strField reads a string, or null, which leaves dst alone as encoding/json does.
func (f *fastV11) strField(dst *string) bool {
	switch f.peek() {
	case 'n':
		return f.literal("null")
	case '"':
		s, ok := f.str()
		*dst = s
		return ok
	}
	return false
}

// intField reads an integer that fits an int64, or null.
func (f *fastV11) intField(dst *int64) bool {
	if f.peek() == 'n' {
		return f.literal("null")
	}
	start := f.i
	if !f.number() {
		return false
	}
	n, err := strconv.ParseInt(unsafe.String(&f.b[start], f.i-start), 10, 64)
	if err != nil {
		return false // fractions, exponents, overflow: encoding/json reports a type error
	}
	*dst = n
	return true
}

// str reads a string value. Without escapes it points into the line; with them, into the
// arena, unescaped as encoding/json does (a lone surrogate becomes U+FFFD).
func (f *fastV11) str() (string, bool) {
	start := f.i + 1
	for i := start; i < len(f.b); i++ {
		switch c := f.b[i]; {
		case c == '"':
			f.i = i + 1
			if i == start {
				return "", true
			}
			return unsafe.String(&f.b[start], i-start), true
		case c == '\\':
			return f.escaped(start, i)
		case c < 0x20:
			return "", false
		}
	}
	return "", false
}

// escaped finishes a string from its first backslash at i, unescaping into the arena.
func (f *fastV11) escaped(start, i int) (string, bool) {
	a0 := len(f.arena)
	f.arena = append(f.arena, f.b[start:i]...)
	for i < len(f.b) {
		c := f.b[i]
		switch {
		case c == '"':
			f.i = i + 1
			s := f.arena[a0:]
			return unsafe.String(unsafe.SliceData(s), len(s)), true
		case c < 0x20:
			return "", false
		case c != '\\':
			f.arena = append(f.arena, c)
			i++
			continue
		}
		if i+1 >= len(f.b) {
			return "", false
		}
		switch e := f.b[i+1]; e {
		case '"', '\\', '/':
			f.arena = append(f.arena, e)
		case 'b':
			f.arena = append(f.arena, '\b')
		case 'f':
			f.arena = append(f.arena, '\f')
		case 'n':
			f.arena = append(f.arena, '\n')
		case 'r':
			f.arena = append(f.arena, '\r')
		case 't':
			f.arena = append(f.arena, '\t')
		case 'u':
			r, ok := hex4(f.b[i+2:])
			if !ok {
				return "", false
			}
			i += 6
			if utf16.IsSurrogate(r) {
				if dec := pairedRune(f.b, i, r); dec != utf8.RuneError {
					i += 6
					f.arena = utf8.AppendRune(f.arena, dec)
					continue
				}
				r = utf8.RuneError // a lone surrogate
			}
			f.arena = utf8.AppendRune(f.arena, r)
			continue
		default:
			return "", false
		}
		i += 2
	}
	return "", false
}

// pairedRune combines the surrogate r with the \uXXXX escape at b[i:] into one rune, or
// returns utf8.RuneError when they are not a pair.
func pairedRune(b []byte, i int, r rune) rune {
	if i+6 > len(b) || b[i] != '\\' || b[i+1] != 'u' {
		return utf8.RuneError
	}
	r2, ok := hex4(b[i+2:])
	if !ok {
		return utf8.RuneError
	}
	return utf16.DecodeRune(r, r2)
}

// hex4 reads four hex digits; b may be short.
func hex4(b []byte) (rune, bool) {
	if len(b) < 4 {
		return 0, false
	}
	var r rune
	for _, c := range b[:4] {
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c = c - 'a' + 10
		case 'A' <= c && c <= 'F':
			c = c - 'A' + 10
		default:
			return 0, false
		}
		r = r<<4 | rune(c)
	}
	return r, true
}

// skipStr validates and skips a string.
func (f *fastV11) skipStr() bool {
	for i := f.i + 1; i < len(f.b); i++ {
		switch c := f.b[i]; {
		case c == '"':
			f.i = i + 1
			return true
		case c < 0x20:
			return false
		case c == '\\':
			i++
			if i >= len(f.b) {
				return false
			}
			switch f.b[i] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
			case 'u':
				if _, ok := hex4(f.b[i+1:]); !ok {
					return false
				}
				i += 4
			default:
				return false
			}
		}
	}
	return false
}

// number validates and skips a number in JSON's grammar.
func (f *fastV11) number() bool {
	b, i := f.b, f.i
	digits := func() bool {
		s := i
		for i < len(b) && '0' <= b[i] && b[i] <= '9' {
			i++
		}
		return i > s
	}
	if i < len(b) && b[i] == '-' {
		i++
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case !digits():
		return false
	}
	if i < len(b) && b[i] == '.' {
		i++
		if !digits() {
			return false
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if !digits() {
			return false
		}
	}
	f.i = i
	return true
}

// skip validates and skips any value.
func (f *fastV11) skip(depth int) bool {
	if depth > maxSkipDepth {
		return false
	}
	switch f.peek() {
	case '"':
		return f.skipStr()
	case '{':
		f.i++
		f.ws()
		for first := true; ; first = false {
			f.ws()
			switch f.peek() {
			case '}':
				f.i++
				return true
			case ',':
				if first {
					return false
				}
				f.i++
				f.ws()
			default:
				if !first {
					return false
				}
			}
			if f.peek() != '"' || !f.skipStr() {
				return false
			}
			f.ws()
			if f.peek() != ':' {
				return false
			}
			f.i++
			f.ws()
			if !f.skip(depth + 1) {
				return false
			}
		}
	case '[':
		f.i++
		f.ws()
		for first := true; ; first = false {
			f.ws()
			switch f.peek() {
			case ']':
				f.i++
				return true
			case ',':
				if first {
					return false
				}
				f.i++
				f.ws()
			default:
				if !first {
					return false
				}
			}
			if !f.skip(depth + 1) {
				return false
			}
		}
	case 't':
		return f.literal("true")
	case 'f':
		return f.literal("false")
	case 'n':
		return f.literal("null")
	}
	return f.number()
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
