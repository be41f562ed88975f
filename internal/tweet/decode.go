package tweet

import (
	"unicode/utf8"

	"github.com/starling-analytics/starling/internal/jsonscan"
)

// Decoder decodes canonical records in one pass over their JSON, with no reflection and no
// allocation but for the record's lists: the ETL decodes every record it loads, and
// encoding/json was a third of its time. A record it cannot decode exactly as
// encoding/json does (unknown keys, values of other types, keys with escapes, duplicate
// keys, invalid UTF-8) goes through Decode instead, so the result is always Decode's;
// TestDecoderMatchesDecode and FuzzDecoder hold the two to it. A Decoder is not safe for
// concurrent use; make one per goroutine.
type Decoder struct {
	s jsonscan.Scanner
	// The records' lists are cut from blocks of strings the Decoder allocates (one per
	// listBlock strings, not one or more per list); a list gathers in tmp first.
	block []string
	tmp   []string
}

// listBlock is how many strings a Decoder's block of list items holds.
const listBlock = 1024

// Decode parses and validates one canonical record. The record's strings share memory
// with b: b must not change while the record is in use.
func (d *Decoder) Decode(b []byte) (Record, error) {
	var r Record
	if !d.fast(b, &r) {
		return Decode(b)
	}
	if err := r.Validate(); err != nil {
		return Record{}, err
	}
	return r, nil
}

// fast fills r from b, reporting whether it could.
func (d *Decoder) fast(b []byte, r *Record) bool {
	if !utf8.Valid(b) {
		return false
	}
	s := &d.s
	s.Detached = true // strings outlive the next record
	s.Reset(b)
	if !s.Open('{') {
		return false
	}
	var seen uint32
	var created string
	var schema int64
	for first := true; ; first = false {
		key, more, ok := s.Key(first)
		if !ok {
			return false
		}
		if !more {
			break
		}
		id := 0
		switch string(key) {
		case "schema":
			id, ok = 1, s.IntField(&schema)
		case "id":
			id, ok = 2, d.str(&r.ID)
		case "created_at":
			id, ok = 3, d.str(&created)
		case "text":
			id, ok = 4, d.str(&r.Text)
		case "lang":
			id, ok = 5, d.str(&r.Lang)
		case "user":
			id, ok = 6, d.user(&r.User)
		case "hashtags":
			id, ok = 7, d.strings(&r.Hashtags)
		case "mentions":
			id, ok = 8, d.strings(&r.Mentions)
		case "urls":
			id, ok = 9, d.strings(&r.URLs)
		case "cashtags":
			id, ok = 10, d.strings(&r.Cashtags)
		case "retweet_of":
			id, ok = 11, d.str(&r.RetweetOf)
		case "quote_of":
			id, ok = 12, d.str(&r.QuoteOf)
		case "reply_to":
			id, ok = 13, d.str(&r.ReplyTo)
		case "edit_history":
			id, ok = 14, d.strings(&r.EditHistory)
		case "source_format":
			id, ok = 15, d.str(&r.SourceFormat)
		case "kind":
			id, ok = 16, d.str(&r.Kind)
		case "reason":
			id, ok = 17, d.str(&r.Reason)
		default:
			return false // a field this build does not know: encoding/json ignores it, the slow way
		}
		if !ok || seen&(1<<id) != 0 {
			return false
		}
		seen |= 1 << id
	}
	if !s.End() || int64(int(schema)) != schema {
		return false
	}
	r.Schema = int(schema)
	if seen&(1<<3) != 0 {
		// As encoding/json does: time.Time's own strict RFC 3339 parser.
		if err := r.CreatedAt.UnmarshalText([]byte(created)); err != nil {
			return false
		}
	}
	return true
}

// str reads a string field, or null, which leaves dst alone.
func (d *Decoder) str(dst *string) bool {
	return d.s.StrField(dst)
}

func (d *Decoder) user(u *User) bool {
	s := &d.s
	present, ok := s.ObjectOrNull()
	if !present {
		return ok
	}
	s.Open('{')
	var seen uint32
	for first := true; ; first = false {
		key, more, ok := s.Key(first)
		if !ok {
			return false
		}
		if !more {
			return true
		}
		id := 0
		switch string(key) {
		case "id":
			id, ok = 1, d.str(&u.ID)
		case "screen_name":
			id, ok = 2, d.str(&u.ScreenName)
		case "name":
			id, ok = 3, d.str(&u.Name)
		case "followers":
			id, ok = 4, s.IntField(&u.Followers)
		default:
			return false
		}
		if !ok || seen&(1<<id) != 0 {
			return false
		}
		seen |= 1 << id
	}
}

// strings reads an array of strings (or null, which leaves dst alone).
func (d *Decoder) strings(dst *[]string) bool {
	s := &d.s
	present, ok := s.ArrayOrNull()
	if !present {
		return ok
	}
	d.tmp = d.tmp[:0]
	for first := true; ; first = false {
		more, ok := s.Element(first)
		if !ok || more && s.Peek() != '"' {
			return false
		}
		if !more {
			break
		}
		var v string
		if !d.str(&v) {
			return false
		}
		d.tmp = append(d.tmp, v)
	}
	if len(d.tmp) == 0 {
		*dst = []string{} // encoding/json makes an empty, non-nil slice of []
		return true
	}
	if cap(d.block)-len(d.block) < len(d.tmp) {
		d.block = make([]string, 0, max(listBlock, len(d.tmp)))
	}
	start := len(d.block)
	d.block = append(d.block, d.tmp...)
	*dst = d.block[start:len(d.block):len(d.block)] // capped: an append to it copies
	return true
}
