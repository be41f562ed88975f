package warehouse

import (
	"context"
	"fmt"
	"time"
)

// The named queries the dashboard runs. Every one is parameterised; no SQL is built from
// user input. Windows end at the latest minute the warehouse holds (a replay may carry old
// timestamps), so the dashboard always shows the newest data.

// Window is a time range of whole minutes, [From, To].
type Window struct {
	From time.Time `json:"from"`
	To   time.Time `json:"to"`
}

// Summary is the dashboard's headline figures.
type Summary struct {
	Tweets         int64     `json:"tweets"`          // all tweets in the warehouse
	Latest         time.Time `json:"latest"`          // newest tweet's minute (zero when empty)
	WindowTweets   int64     `json:"window_tweets"`   // tweets in the window
	WindowMinutes  int       `json:"window_minutes"`  // the window's length
	AvgSentiment   float64   `json:"avg_sentiment"`   // mean compound score in the window
	ActiveHashtags uint64    `json:"active_hashtags"` // distinct hashtags in the window
}

// LatestWindow returns the window of the last minutes minutes ending at the newest
// minute with data. ok is false when the warehouse holds no tweets yet.
func (db *DB) LatestWindow(ctx context.Context, minutes int) (w Window, ok bool, err error) {
	var latest time.Time
	var n uint64
	if err := db.conn.QueryRow(ctx, "SELECT max(minute), count() FROM sentiment_minute").Scan(&latest, &n); err != nil {
		return Window{}, false, fmt.Errorf("warehouse: latest minute: %w", err)
	}
	if n == 0 {
		return Window{}, false, nil
	}
	latest = latest.UTC()
	return Window{From: latest.Add(-time.Duration(minutes-1) * time.Minute), To: latest}, true, nil
}

// Summary returns the headline figures for the last minutes minutes of data.
func (db *DB) Summary(ctx context.Context, minutes int) (Summary, error) {
	s := Summary{WindowMinutes: minutes}
	if err := db.conn.QueryRow(ctx, "SELECT sum(tweets) FROM sentiment_minute").Scan(&s.Tweets); err != nil {
		return s, fmt.Errorf("warehouse: count tweets: %w", err)
	}
	w, ok, err := db.LatestWindow(ctx, minutes)
	if err != nil || !ok {
		return s, err
	}
	s.Latest = w.To
	var sentSum float64
	if err := db.conn.QueryRow(ctx,
		"SELECT sum(tweets), sum(sentiment_sum) FROM sentiment_minute WHERE minute BETWEEN ? AND ?", w.From, w.To,
	).Scan(&s.WindowTweets, &sentSum); err != nil {
		return s, fmt.Errorf("warehouse: window totals: %w", err)
	}
	if s.WindowTweets > 0 {
		s.AvgSentiment = sentSum / float64(s.WindowTweets)
	}
	if err := db.conn.QueryRow(ctx,
		"SELECT count() FROM (SELECT hashtag FROM hashtag_minute WHERE minute BETWEEN ? AND ? GROUP BY hashtag HAVING sum(tweets) > 0)", w.From, w.To,
	).Scan(&s.ActiveHashtags); err != nil {
		return s, fmt.Errorf("warehouse: active hashtags: %w", err)
	}
	return s, nil
}

// TermCount is a hashtag or word with its tweet count and mean sentiment in a window.
type TermCount struct {
	Term      string  `json:"term"`
	Tweets    int64   `json:"tweets"`
	Sentiment float64 `json:"sentiment"`
}

// TopHashtags returns the limit most used hashtags in the last minutes minutes of data.
func (db *DB) TopHashtags(ctx context.Context, minutes, limit int) ([]TermCount, Window, error) {
	return db.topTerms(ctx, "hashtag_minute", "hashtag", minutes, limit)
}

// TopWords returns the limit most used words in the last minutes minutes of data.
func (db *DB) TopWords(ctx context.Context, minutes, limit int) ([]TermCount, Window, error) {
	return db.topTerms(ctx, "word_minute", "word", minutes, limit)
}

// topTerms runs the shared top-N query; table and column come from the two callers above,
// never from input.
func (db *DB) topTerms(ctx context.Context, table, column string, minutes, limit int) ([]TermCount, Window, error) {
	w, ok, err := db.LatestWindow(ctx, minutes)
	if err != nil || !ok {
		return []TermCount{}, w, err
	}
	q := fmt.Sprintf(`SELECT %[2]s, sum(tweets) AS n, sum(sentiment_sum) / sum(tweets)
		FROM %[1]s WHERE minute BETWEEN ? AND ?
		GROUP BY %[2]s HAVING n > 0 ORDER BY n DESC, %[2]s LIMIT ?`, table, column)
	rows, err := db.conn.Query(ctx, q, w.From, w.To, uint64(limit))
	if err != nil {
		return nil, w, fmt.Errorf("warehouse: top %s: %w", column, err)
	}
	defer rows.Close()
	out := []TermCount{}
	for rows.Next() {
		var tc TermCount
		if err := rows.Scan(&tc.Term, &tc.Tweets, &tc.Sentiment); err != nil {
			return nil, w, fmt.Errorf("warehouse: scan top %s: %w", column, err)
		}
		out = append(out, tc)
	}
	return out, w, rows.Err()
}

// Series is one hashtag's tweets per minute.
type Series struct {
	Hashtag string  `json:"hashtag"`
	Points  []int64 `json:"points"` // one per minute of the window, oldest first
}

// HashtagVolume returns tweets per minute for the top hashtags of the last minutes
// minutes of data, with zeros for minutes without tweets.
func (db *DB) HashtagVolume(ctx context.Context, minutes, top int) ([]Series, Window, error) {
	tops, w, err := db.TopHashtags(ctx, minutes, top)
	if err != nil || len(tops) == 0 {
		return []Series{}, w, err
	}
	names := make([]string, len(tops))
	index := make(map[string]int, len(tops))
	out := make([]Series, len(tops))
	for i, t := range tops {
		names[i] = t.Term
		index[t.Term] = i
		out[i] = Series{Hashtag: t.Term, Points: make([]int64, minutes)}
	}
	rows, err := db.conn.Query(ctx, `SELECT minute, hashtag, sum(tweets)
		FROM hashtag_minute WHERE minute BETWEEN ? AND ? AND has(?, hashtag)
		GROUP BY minute, hashtag`, w.From, w.To, names)
	if err != nil {
		return nil, w, fmt.Errorf("warehouse: hashtag volume: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var m time.Time
		var h string
		var n int64
		if err := rows.Scan(&m, &h, &n); err != nil {
			return nil, w, fmt.Errorf("warehouse: scan hashtag volume: %w", err)
		}
		i := int(m.UTC().Sub(w.From) / time.Minute)
		if s, ok := index[h]; ok && i >= 0 && i < minutes {
			out[s].Points[i] = n
		}
	}
	return out, w, rows.Err()
}
