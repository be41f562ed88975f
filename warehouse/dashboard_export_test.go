package warehouse

import "context"

// SetBudgets makes sc sample once its window holds more than n tweets, whatever table a
// panel reads, so that tests reach the sampled paths with few tweets.
func (sc *Scope) SetBudgets(n int64) {
	sc.budget = budgets{hashtagMinute: n, wordMinute: n, tweets: n, entities: n}
}

// PlanWindow exposes planWindow's slices and fraction.
func PlanWindow(w Window, tweets, budget int64) (slices [][2]string, fraction float64) {
	p := planWindow(w, tweets, budget, "tweet_deletions")
	for _, s := range p.slices {
		slices = append(slices, [2]string{s.from.Format("15:04"), s.to.Format("15:04")})
	}
	return slices, p.fraction
}

// QueryContext exposes queryCtx: the context a scope's queries run with.
func (sc *Scope) QueryContext(ctx context.Context) context.Context { return sc.queryCtx(ctx) }
