package generator

// The subset of Twitter API v1.1's tweet object the feed carries, with v1.1's field names,
// so that go-twitter's twitter.Tweet (and any v1.1 reader) decodes it.

// Tweet is a v1.1 tweet.
type Tweet struct {
	CreatedAt         string    `json:"created_at"` // "Mon Jan 02 15:04:05 -0700 2006"
	ID                int64     `json:"id"`
	IDStr             string    `json:"id_str"`
	Text              string    `json:"text"`
	Truncated         bool      `json:"truncated"`
	Entities          Entities  `json:"entities"`
	ExtendedTweet     *Extended `json:"extended_tweet,omitempty"`
	Lang              string    `json:"lang"`
	User              User      `json:"user"`
	RetweetedStatus   *Tweet    `json:"retweeted_status,omitempty"`
	IsQuoteStatus     bool      `json:"is_quote_status"`
	QuotedStatusID    int64     `json:"quoted_status_id,omitempty"`
	QuotedStatusIDStr string    `json:"quoted_status_id_str,omitempty"`
	QuotedStatus      *Tweet    `json:"quoted_status,omitempty"`
}

// Extended holds the full text of a tweet longer than 140 characters.
type Extended struct {
	FullText         string   `json:"full_text"`
	DisplayTextRange [2]int   `json:"display_text_range"`
	Entities         Entities `json:"entities"`
}

// User is a tweet's author.
type User struct {
	ID             int64  `json:"id"`
	IDStr          string `json:"id_str"`
	Name           string `json:"name"`
	ScreenName     string `json:"screen_name"`
	FollowersCount int    `json:"followers_count"`
	Lang           string `json:"lang,omitempty"`
}

// Entities are the parsed parts of a tweet's text, with character indices.
type Entities struct {
	Hashtags     []Hashtag `json:"hashtags"`
	UserMentions []Mention `json:"user_mentions"`
	URLs         []URL     `json:"urls"`
	Symbols      []Symbol  `json:"symbols"`
}

// Hashtag is a #tag.
type Hashtag struct {
	Text    string `json:"text"`
	Indices [2]int `json:"indices"`
}

// Mention is an @user.
type Mention struct {
	ScreenName string `json:"screen_name"`
	Name       string `json:"name"`
	ID         int64  `json:"id"`
	IDStr      string `json:"id_str"`
	Indices    [2]int `json:"indices"`
}

// URL is a shortened link and where it leads.
type URL struct {
	URL         string `json:"url"`
	ExpandedURL string `json:"expanded_url"`
	DisplayURL  string `json:"display_url"`
	Indices     [2]int `json:"indices"`
}

// Symbol is a $cashtag.
type Symbol struct {
	Text    string `json:"text"`
	Indices [2]int `json:"indices"`
}

func (u user) json() User {
	return User{ID: u.id, IDStr: itoa(u.id), Name: u.name, ScreenName: u.screen, FollowersCount: u.followers, Lang: u.lang}
}

// setText stores text the way v1.1 does: up to 140 characters in text, longer ones
// truncated there with the whole in extended_tweet.
func (t *Tweet) setText(text string, ents Entities) {
	runes := []rune(text)
	if len(runes) <= 140 {
		t.Text, t.Entities = text, ents
		return
	}
	t.Text = string(runes[:139]) + "…"
	t.Truncated = true
	t.ExtendedTweet = &Extended{FullText: text, DisplayTextRange: [2]int{0, len(runes)}, Entities: ents}
	t.Entities = Entities{Hashtags: []Hashtag{}, UserMentions: []Mention{}, URLs: []URL{}, Symbols: []Symbol{}}
	for _, h := range ents.Hashtags {
		if h.Indices[1] <= 139 {
			t.Entities.Hashtags = append(t.Entities.Hashtags, h)
		}
	}
	for _, m := range ents.UserMentions {
		if m.Indices[1] <= 139 {
			t.Entities.UserMentions = append(t.Entities.UserMentions, m)
		}
	}
}

func (t *Tweet) fullText() string {
	if t.ExtendedTweet != nil {
		return t.ExtendedTweet.FullText
	}
	return t.Text
}

// shifted returns the entities (of the full text) with indices moved by n characters.
func (e Entities) shifted(n int) Entities {
	src := e
	out := Entities{Hashtags: []Hashtag{}, UserMentions: []Mention{}, URLs: []URL{}, Symbols: []Symbol{}}
	for _, h := range src.Hashtags {
		h.Indices = [2]int{h.Indices[0] + n, h.Indices[1] + n}
		out.Hashtags = append(out.Hashtags, h)
	}
	for _, m := range src.UserMentions {
		m.Indices = [2]int{m.Indices[0] + n, m.Indices[1] + n}
		out.UserMentions = append(out.UserMentions, m)
	}
	for _, u := range src.URLs {
		u.Indices = [2]int{u.Indices[0] + n, u.Indices[1] + n}
		out.URLs = append(out.URLs, u)
	}
	for _, s := range src.Symbols {
		s.Indices = [2]int{s.Indices[0] + n, s.Indices[1] + n}
		out.Symbols = append(out.Symbols, s)
	}
	return out
}

func itoa(n int64) string {
	var b [20]byte
	i := len(b)
	for {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
		if n == 0 {
			return string(b[i:])
		}
	}
}
