package warehouse

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"time"
)

// The dashboard's model view: which sentiment models the warehouse holds scores of, and two
// of them side by side over a window.
//
// A tweet's score by model M is the ETL's (tweets.sentiment) when the ETL scored it with M,
// and otherwise the rescore's (tweet_scores), if `starling rescore --model M` reached it.
// A model's per-minute sentiment is the ETL's aggregates of M (sentiment_minute, which
// withdrawals already subtract from) plus the rescore's (score_minute) less the rescored
// tweets withdrawn since (a withdrawal after the rescore does not reach score_minute).

// ModelInfo is a model the warehouse holds scores of.
type ModelInfo struct {
	Name   string `json:"name"`
	Tweets int64  `json:"tweets"` // tweets it scored, over all time
	Live   bool   `json:"live"`   // the ETL scored the newest minute with it
}

// Models lists the models the warehouse holds scores of, the live one first, then by
// tweets scored.
func (db *DB) Models(ctx context.Context) ([]ModelInfo, error) {
	rows, err := db.conn.Query(ctx, `SELECT sentiment_model, sum(tweets) AS n FROM model_sentiment_minute GROUP BY sentiment_model HAVING n > 0`)
	if err != nil {
		return nil, fmt.Errorf("warehouse: list models: %w", err)
	}
	defer rows.Close()
	var out []ModelInfo
	for rows.Next() {
		var m ModelInfo
		if err := rows.Scan(&m.Name, &m.Tweets); err != nil {
			return nil, fmt.Errorf("warehouse: scan models: %w", err)
		}
		out = append(out, m)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("warehouse: list models: %w", err)
	}
	var live string
	if err := db.conn.QueryRow(ctx, `SELECT argMax(sentiment_model, minute) FROM sentiment_minute WHERE tweets > 0`).Scan(&live); err != nil {
		return nil, fmt.Errorf("warehouse: the live model: %w", err)
	}
	for i := range out {
		out[i].Live = out[i].Name == live
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Live != out[j].Live {
			return out[i].Live
		}
		if out[i].Tweets != out[j].Tweets {
			return out[i].Tweets > out[j].Tweets
		}
		return out[i].Name < out[j].Name
	})
	return out, nil
}

// Models is the scope's DB's Models.
func (sc *Scope) Models(ctx context.Context) ([]ModelInfo, error) { return sc.db.Models(ctx) }

// ModelPoint is one bucket of two models' sentiment: for each, the tweets it scored, their
// mean score and the shares labelled positive and negative.
type ModelPoint struct {
	At        time.Time  `json:"t"`
	Tweets    [2]int64   `json:"tweets"`
	Sentiment [2]float64 `json:"sentiment"`
	Positive  [2]float64 `json:"positive"` // share of the bucket's tweets, 0-1
	Negative  [2]float64 `json:"negative"`
}

// Disagreement is a tweet two models score far apart.
type Disagreement struct {
	ID        string     `json:"id"`
	CreatedAt time.Time  `json:"created_at"`
	User      string     `json:"user"`
	Text      string     `json:"text"`
	Scores    [2]float64 `json:"scores"`
	Labels    [2]string  `json:"labels"`
}

// ModelComparison is two models side by side over a window.
type ModelComparison struct {
	Models        [2]string    `json:"models"`
	BucketMinutes int          `json:"bucket_minutes"`
	Points        []ModelPoint `json:"points"`
	// Both is the window's tweets scored by both models; Agree those given the same label.
	Both  int64 `json:"both"`
	Agree int64 `json:"agree"`
	// Confusion[i][j] is the tweets the first model labels i and the second j, in the
	// order negative, neutral, positive.
	Confusion     [3][3]int64    `json:"confusion"`
	Disagreements []Disagreement `json:"disagreements"`
	// Sample is what the per-tweet figures (Both, Agree, Confusion) read; the series are
	// read whole.
	Sample Sample `json:"sample"`
}

// CompareModels compares models a and b over the window: their sentiment over time, how
// often they agree, and the limit tweets they disagree on most. The scope's filter does
// not apply.
func (sc *Scope) CompareModels(ctx context.Context, a, b string, limit int) (ModelComparison, error) {
	out := ModelComparison{Models: [2]string{a, b}, BucketMinutes: 1, Points: []ModelPoint{}, Disagreements: []Disagreement{}, Sample: exact}
	if !sc.HasData {
		return out, nil
	}
	whole := planWindow(sc.Window, 0, 1, sc.db.table("tweet_deletions"))
	bk := bucketsFor(whole)
	out.BucketMinutes = int(bk.step / time.Minute)
	out.Points = make([]ModelPoint, bk.n)
	for i, t := range bk.times() {
		out.Points[i].At = t
	}
	_, withdrawn, err := sc.windowTweets(ctx)
	if err != nil {
		return out, err
	}
	sums := make([][2]float64, bk.n)
	pos, neg := make([][2]int64, bk.n), make([][2]int64, bk.n)
	for k, model := range []string{a, b} {
		w := []any{model, sc.Window.From, sc.Window.end()}
		q := `SELECT minute, sentiment_label, tweets, sentiment_sum FROM sentiment_minute WHERE sentiment_model = ? AND minute >= ? AND minute < ?
			UNION ALL SELECT minute, label AS sentiment_label, tweets, sentiment_sum FROM score_minute WHERE kind = 'sentiment' AND model = ? AND minute >= ? AND minute < ?`
		args := append(append([]any{}, w...), w...)
		if withdrawn { // the rescored tweets withdrawn since (the read of every score's id is left out when none is)
			q += ` UNION ALL SELECT toStartOfMinute(created_at) AS minute, sentiment_label, toInt64(-1) AS tweets, -toFloat64(sentiment) AS sentiment_sum FROM tweet_scores
				WHERE model = ? AND created_at >= ? AND created_at < ? AND id IN (SELECT id FROM ` + sc.db.table("tweet_deletions") + ` WHERE retracted = 1 AND created_at >= ? AND created_at < ?)`
			args = append(append(args, w...), sc.Window.From, sc.Window.end())
		}
		rows, err := sc.db.conn.Query(ctx, `SELECT minute, sum(tweets), sum(sentiment_sum), sumIf(tweets, sentiment_label = 'positive'), sumIf(tweets, sentiment_label = 'negative') FROM (
			`+q+`) GROUP BY minute`, args...)
		if err != nil {
			return out, fmt.Errorf("warehouse: sentiment of model %s: %w", model, err)
		}
		for rows.Next() {
			var m time.Time
			var n, p, ng int64
			var s float64
			if err := rows.Scan(&m, &n, &s, &p, &ng); err != nil {
				rows.Close()
				return out, fmt.Errorf("warehouse: scan sentiment of model %s: %w", model, err)
			}
			if i := bk.index(m); i >= 0 {
				out.Points[i].Tweets[k] += n
				sums[i][k] += s
				pos[i][k] += p
				neg[i][k] += ng
			}
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return out, fmt.Errorf("warehouse: sentiment of model %s: %w", model, err)
		}
	}
	for i := range out.Points {
		for k := range 2 {
			if n := out.Points[i].Tweets[k]; n > 0 {
				out.Points[i].Sentiment[k] = sums[i][k] / float64(n)
				out.Points[i].Positive[k] = float64(pos[i][k]) / float64(n)
				out.Points[i].Negative[k] = float64(neg[i][k]) / float64(n)
			}
		}
	}
	if a == b {
		return out, nil
	}
	p, err := sc.plan(ctx, sc.budget.tweets)
	if err != nil {
		return out, err
	}
	out.Sample = p.sample()
	// Each side: the model's score of each tweet of the plan's slices, not withdrawn.
	side := func(model, s, l string) (string, []any) {
		var c1, c2 cond
		c1.time("created_at", p).tweets(Filter{}, p).add("sentiment_model = ?", model)
		c2.time("created_at", p).tweets(Filter{}, p).add("model = ?", model)
		q := "SELECT id, sentiment AS " + s + ", sentiment_label AS " + l + " FROM tweets WHERE " + c1.sql() +
			" UNION ALL SELECT id, sentiment AS " + s + ", sentiment_label AS " + l + " FROM tweet_scores WHERE " + c2.sql()
		return q, append(c1.args, c2.args...)
	}
	qa, argsA := side(a, "sa", "la")
	qb, argsB := side(b, "sb", "lb")
	join := "FROM (" + qa + ") ANY INNER JOIN (" + qb + ") USING id"
	args := append(argsA, argsB...)
	rows, err := sc.db.conn.Query(ctx, "SELECT toInt8(la), toInt8(lb), count() "+join+" GROUP BY la, lb", args...)
	if err != nil {
		return out, fmt.Errorf("warehouse: agreement of %s and %s: %w", a, b, err)
	}
	for rows.Next() {
		var la, lb int8
		var n uint64
		if err := rows.Scan(&la, &lb, &n); err != nil {
			rows.Close()
			return out, fmt.Errorf("warehouse: scan agreement: %w", err)
		}
		out.Confusion[la+1][lb+1] += p.scale(int64(n))
	}
	err = rows.Err()
	rows.Close()
	if err != nil {
		return out, fmt.Errorf("warehouse: agreement of %s and %s: %w", a, b, err)
	}
	for i := range 3 {
		for j := range 3 {
			out.Both += out.Confusion[i][j]
			if i == j {
				out.Agree += out.Confusion[i][j]
			}
		}
	}
	if limit <= 0 {
		return out, nil
	}
	rows, err = sc.db.conn.Query(ctx, "SELECT id, toFloat64(sa), toFloat64(sb), toString(la), toString(lb) "+join+
		" ORDER BY abs(sa - sb) DESC, id LIMIT "+strconv.Itoa(limit), args...)
	if err != nil {
		return out, fmt.Errorf("warehouse: disagreements of %s and %s: %w", a, b, err)
	}
	byID := map[uint64]int{}
	var ids []uint64
	for rows.Next() {
		var id uint64
		var d Disagreement
		if err := rows.Scan(&id, &d.Scores[0], &d.Scores[1], &d.Labels[0], &d.Labels[1]); err != nil {
			rows.Close()
			return out, fmt.Errorf("warehouse: scan disagreements: %w", err)
		}
		d.ID = strconv.FormatUint(id, 10)
		byID[id] = len(out.Disagreements)
		ids = append(ids, id)
		out.Disagreements = append(out.Disagreements, d)
	}
	err = rows.Err()
	rows.Close()
	if err != nil || len(ids) == 0 {
		return out, err
	}
	rows, err = sc.db.conn.Query(ctx, "SELECT id, created_at, user_screen_name, text FROM tweets WHERE created_at >= ? AND created_at < ? AND id IN ("+inList(ids)+")",
		sc.Window.From, sc.Window.end())
	if err != nil {
		return out, fmt.Errorf("warehouse: disagreeing tweets: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id uint64
		var at time.Time
		var user, text string
		if err := rows.Scan(&id, &at, &user, &text); err != nil {
			return out, fmt.Errorf("warehouse: scan disagreeing tweets: %w", err)
		}
		d := &out.Disagreements[byID[id]]
		d.CreatedAt, d.User, d.Text = at.UTC(), user, text
	}
	return out, rows.Err()
}
