package dashboard

import (
	"context"
	"fmt"
	"net/http"
	"slices"

	"github.com/starling-analytics/starling/warehouse"
)

// The model view: GET /api/models lists the sentiment models the warehouse holds scores of
// (the ETL's live model first); GET /api/models/compare?a=NAME&b=NAME, with the view's
// range parameters, puts two side by side (warehouse.CompareModels). Without a or b, the
// live model and the next one are compared.

func (h *Handler) models(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), panelTimeout)
	defer cancel()
	ms, err := h.store.Models(ctx)
	if err != nil {
		h.fail(w, http.StatusBadGateway, err)
		return
	}
	if ms == nil {
		ms = []warehouse.ModelInfo{}
	}
	h.writeJSON(w, http.StatusOK, map[string]any{"models": ms})
}

// comparePanel answers /api/models/compare.
var comparePanel = panel{"compare", "/api/models/compare", func(ctx context.Context, sc *warehouse.Scope, _ view, l limits) (any, error) {
	return limited(l, "limit", 10, 50, func(n int) (any, error) {
		ms, err := sc.Models(ctx)
		if err != nil {
			return nil, err
		}
		names := make([]string, len(ms))
		for i, m := range ms {
			names[i] = m.Name
		}
		pick := func(param string, skip string) (string, error) {
			s := l.str(param)
			if s == "" {
				for _, n := range names {
					if n != skip {
						return n, nil
					}
				}
				return skip, nil
			}
			if !slices.Contains(names, s) {
				return "", errBadParam{fmt.Errorf("parameter %s: the warehouse holds no scores of model %q (it has %v)", param, s, names)}
			}
			return s, nil
		}
		a, err := pick("a", "")
		if err != nil {
			return nil, err
		}
		b, err := pick("b", a)
		if err != nil {
			return nil, err
		}
		return sc.CompareModels(ctx, a, b, n)
	})
}}
