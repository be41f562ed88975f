package tweet

import (
	"encoding/json"
	"strconv"
	"time"
	"unicode/utf8"
)

// AppendEncode appends the JSON form of r to dst, byte for byte what Encode returns, with
// no reflection and no allocation beyond dst's growth: the ingester encodes every tweet it
// produces, and encoding/json's reflection was a fifth of its time.
func AppendEncode(dst []byte, r *Record) ([]byte, error) {
	created := r.CreatedAt.UTC()
	if y := created.Year(); y < 0 || y > 9999 {
		// encoding/json refuses such times; let it say so.
		_, err := json.Marshal(created)
		return dst, err
	}
	schema := r.Schema
	if schema == 0 {
		schema = SchemaVersion
	}
	dst = append(dst, `{"schema":`...)
	dst = strconv.AppendInt(dst, int64(schema), 10)
	dst = append(dst, `,"id":`...)
	dst = appendJSONString(dst, r.ID)
	dst = append(dst, `,"created_at":"`...)
	dst = created.AppendFormat(dst, time.RFC3339Nano)
	dst = append(dst, `","text":`...)
	dst = appendJSONString(dst, r.Text)
	if r.Lang != "" {
		dst = append(dst, `,"lang":`...)
		dst = appendJSONString(dst, r.Lang)
	}
	dst = append(dst, `,"user":{"id":`...)
	dst = appendJSONString(dst, r.User.ID)
	dst = append(dst, `,"screen_name":`...)
	dst = appendJSONString(dst, r.User.ScreenName)
	if r.User.Name != "" {
		dst = append(dst, `,"name":`...)
		dst = appendJSONString(dst, r.User.Name)
	}
	dst = append(dst, `,"followers":`...)
	dst = strconv.AppendInt(dst, r.User.Followers, 10)
	dst = append(dst, '}')
	dst = appendStrings(dst, `,"hashtags":`, r.Hashtags)
	dst = appendStrings(dst, `,"mentions":`, r.Mentions)
	dst = appendStrings(dst, `,"urls":`, r.URLs)
	dst = appendStrings(dst, `,"cashtags":`, r.Cashtags)
	if r.RetweetOf != "" {
		dst = append(dst, `,"retweet_of":`...)
		dst = appendJSONString(dst, r.RetweetOf)
	}
	if r.QuoteOf != "" {
		dst = append(dst, `,"quote_of":`...)
		dst = appendJSONString(dst, r.QuoteOf)
	}
	if r.ReplyTo != "" {
		dst = append(dst, `,"reply_to":`...)
		dst = appendJSONString(dst, r.ReplyTo)
	}
	dst = appendStrings(dst, `,"edit_history":`, r.EditHistory)
	dst = append(dst, `,"source_format":`...)
	dst = appendJSONString(dst, r.SourceFormat)
	if r.Kind != "" {
		dst = append(dst, `,"kind":`...)
		dst = appendJSONString(dst, r.Kind)
	}
	if r.Reason != "" {
		dst = append(dst, `,"reason":`...)
		dst = appendJSONString(dst, r.Reason)
	}
	return append(dst, '}'), nil
}

// appendStrings appends an omitempty []string field.
func appendStrings(dst []byte, field string, list []string) []byte {
	if len(list) == 0 {
		return dst
	}
	dst = append(dst, field...)
	dst = append(dst, '[')
	for i, s := range list {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = appendJSONString(dst, s)
	}
	return append(dst, ']')
}

// plain marks the ASCII bytes encoding/json writes as they are (with its HTML escaping).
var plain = func() (t [utf8.RuneSelf]bool) {
	for b := 0x20; b < utf8.RuneSelf; b++ {
		t[b] = b != '"' && b != '\\' && b != '<' && b != '>' && b != '&'
	}
	return t
}()

const hexDigits = "0123456789abcdef"

// appendJSONString quotes s as encoding/json does: short escapes for \ " \b \f \n \r \t,
// \u00XX for other control characters and for < > &, U+FFFD for invalid UTF-8, and
// \u2028 / \u2029 escaped.
func appendJSONString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		b := s[i]
		if b < utf8.RuneSelf {
			if plain[b] {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch b {
			case '"', '\\':
				dst = append(dst, '\\', b)
			case '\b':
				dst = append(dst, `\b`...)
			case '\f':
				dst = append(dst, `\f`...)
			case '\n':
				dst = append(dst, `\n`...)
			case '\r':
				dst = append(dst, `\r`...)
			case '\t':
				dst = append(dst, `\t`...)
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[b>>4], hexDigits[b&0xf])
			}
			i++
			start = i
			continue
		}
		c, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case c == utf8.RuneError && size == 1:
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
		case c == '\u2028' || c == '\u2029':
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hexDigits[c&0xf])
		default:
			i += size
			continue
		}
		i += size
		start = i
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}
