package dashboard

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/starling-analytics/starling/warehouse"
)

// The SQL console's endpoints: GET /api/console says whether the console is on (and why
// not) with its example queries; POST /api/console/query runs {"sql": ..., "format":
// "json" or "csv"} and answers with the result as JSON or as a CSV download. Statements are
// checked and run by warehouse.Console, as a read-only ClickHouse user.

// maxConsoleBody bounds a console request.
const maxConsoleBody = 128 << 10

type consoleStatus struct {
	Enabled  bool                       `json:"enabled"`
	Reason   string                     `json:"reason,omitempty"`
	Examples []warehouse.ConsoleExample `json:"examples"`
}

func (h *Handler) consoleStatus(w http.ResponseWriter, r *http.Request) {
	st := consoleStatus{Enabled: h.console != nil, Reason: h.consoleOff, Examples: warehouse.ConsoleExamples}
	if lc, ok := h.console.(*lazyConsole); ok {
		if err := lc.ready(r.Context()); err != nil {
			st.Enabled, st.Reason = false, "The SQL console is off: "+err.Error()
		}
	}
	h.writeJSON(w, http.StatusOK, st)
}

func (h *Handler) consoleQuery(w http.ResponseWriter, r *http.Request) {
	if h.console == nil {
		h.fail(w, http.StatusForbidden, errors.New(h.consoleOff))
		return
	}
	// A JSON body cannot come from a plain cross-site form, whatever the browser's cookie
	// policy.
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "application/json" {
		h.fail(w, http.StatusUnsupportedMediaType, errors.New("send the statement as JSON: {\"sql\": \"SELECT ...\"}"))
		return
	}
	var req struct {
		SQL    string `json:"sql"`
		Format string `json:"format"`
	}
	if err := json.NewDecoder(io.LimitReader(r.Body, maxConsoleBody)).Decode(&req); err != nil {
		h.fail(w, http.StatusBadRequest, fmt.Errorf("the request is not {\"sql\": ...}: %w", err))
		return
	}
	res, err := h.console.Query(r.Context(), req.SQL)
	var ce *warehouse.ConsoleError
	switch {
	case errors.Is(err, warehouse.ErrConsoleRefused):
		h.writeJSON(w, http.StatusBadRequest, map[string]string{"error": "Not run: " + strings.TrimPrefix(err.Error(), warehouse.ErrConsoleRefused.Error()+": ")})
		return
	case errors.As(err, &ce):
		h.writeJSON(w, http.StatusBadRequest, map[string]string{"error": ce.Error()})
		return
	case err != nil:
		h.fail(w, http.StatusBadGateway, err)
		return
	}
	h.log.Info("console statement", "sql", req.SQL, "rows", len(res.Rows), "elapsed", res.Elapsed)
	if req.Format != "csv" {
		h.writeJSON(w, http.StatusOK, res)
		return
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="starling-query.csv"`)
	w.Header().Set("Cache-Control", "no-store")
	if err := writeCSV(w, res); err != nil {
		h.log.Debug("write csv", "err", err)
	}
}

// writeCSV writes a result as CSV with a header row. A text cell that a spreadsheet would
// take for a formula (=, +, -, @, tab, CR first) is written with a leading apostrophe:
// tweets are untrusted, and a downloaded file is opened elsewhere.
func writeCSV(w io.Writer, res *warehouse.ConsoleResult) error {
	cw := csv.NewWriter(w)
	header := make([]string, len(res.Columns))
	for i, c := range res.Columns {
		header[i] = c.Name
	}
	if err := cw.Write(header); err != nil {
		return err
	}
	rec := make([]string, len(res.Columns))
	for _, row := range res.Rows {
		for i, v := range row {
			switch {
			case v == nil:
				rec[i] = ""
			case !res.Columns[i].Numeric && *v != "" && strings.ContainsRune("=+-@\t\r", rune((*v)[0])):
				rec[i] = "'" + *v
			default:
				rec[i] = *v
			}
		}
		if err := cw.Write(rec); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// lazyConsole opens the console's connection on first use, so that a ClickHouse still
// starting, or a console user not created yet, does not stop the dashboard; a failed open
// is retried after consoleRetry.
type lazyConsole struct {
	cfg warehouse.Config
	log *slog.Logger

	mu       sync.Mutex // guards the fields below
	c        *warehouse.Console
	err      error
	failedAt time.Time
}

const consoleRetry = 10 * time.Second

func (l *lazyConsole) get(ctx context.Context) (*warehouse.Console, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.c != nil {
		return l.c, nil
	}
	if l.err != nil && time.Since(l.failedAt) < consoleRetry {
		return nil, l.err
	}
	c, err := warehouse.OpenConsole(ctx, l.cfg, warehouse.ConsoleLimits{})
	if err != nil {
		l.err, l.failedAt = err, time.Now()
		l.log.Warn("SQL console unavailable", "user", l.cfg.Username, "err", err)
		return nil, err
	}
	l.c, l.err = c, nil
	return c, nil
}

// ready reports whether the console can run statements.
func (l *lazyConsole) ready(ctx context.Context) error {
	_, err := l.get(ctx)
	return err
}

// Query runs sql on the console, opening it first if need be.
func (l *lazyConsole) Query(ctx context.Context, sql string) (*warehouse.ConsoleResult, error) {
	c, err := l.get(ctx)
	if err != nil {
		return nil, &warehouse.ConsoleError{Message: "the SQL console cannot reach ClickHouse as its read-only user: " + err.Error()}
	}
	return c.Query(ctx, sql)
}

func (l *lazyConsole) close() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.c != nil {
		l.c.Close()
	}
}
