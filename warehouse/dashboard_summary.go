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

// Series is one hashtag's tweets per bucket of time.
type Series struct {
	Hashtag string  `json:"hashtag"`
	Points  []int64 `json:"points"` // one per bucket of the window, oldest first
}
