// Package dashboard is Starling's web dashboard: an HTTP server with a JSON API over the
// warehouse's named queries and a page that charts hashtag trends and words live, with
// ECharts bundled from npm and embedded in the binary.
package dashboard

import (
	"context"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/starling-analytics/starling/warehouse"
)

// web/dist holds the built bundle (`make web`); only its .gitkeep is committed.
//
//go:embed all:web/dist
var dist embed.FS

// Config configures the dashboard server. Zero values are the documented defaults.
type Config struct {
	// Addr is the HTTP listen address. Default ":8080".
	Addr string
	// Warehouse is the ClickHouse warehouse the charts read.
	Warehouse warehouse.Config
	// Logger receives the server's logs; nil discards them.
	Logger *slog.Logger
}

func (c Config) withDefaults() Config {
	if c.Addr == "" {
		c.Addr = ":8080"
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c
}

// Validate reports the first setting that cannot work.
func (c Config) Validate() error {
	c = c.withDefaults()
	if _, _, err := net.SplitHostPort(c.Addr); err != nil {
		return fmt.Errorf("dashboard: listen address %q: %w", c.Addr, err)
	}
	return c.Warehouse.Validate()
}

// Run serves the dashboard until ctx is done. It waits for the warehouse to answer.
func Run(ctx context.Context, cfg Config) error {
	if err := cfg.Validate(); err != nil {
		return err
	}
	cfg = cfg.withDefaults()
	var db *warehouse.DB
	for delay := 100 * time.Millisecond; ; delay = min(delay*2, 5*time.Second) {
		var err error
		if db, err = warehouse.Open(ctx, cfg.Warehouse); err == nil {
			break
		}
		cfg.Logger.Warn("warehouse not reachable; retrying", "err", err)
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(delay):
		}
	}
	defer db.Close()
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("dashboard: listen: %w", err)
	}
	srv := &http.Server{Handler: NewHandler(db, cfg.Logger), ReadHeaderTimeout: 10 * time.Second}
	cfg.Logger.Info("dashboard listening", "addr", ln.Addr().String())
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("dashboard: %w", err)
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("dashboard: shutdown: %w", err)
	}
	return nil
}

// Store is what the handlers read; *warehouse.DB implements it.
type Store interface {
	Ping(ctx context.Context) error
	Summary(ctx context.Context, minutes int) (warehouse.Summary, error)
	TopHashtags(ctx context.Context, minutes, limit int) ([]warehouse.TermCount, warehouse.Window, error)
	TopWords(ctx context.Context, minutes, limit int) ([]warehouse.TermCount, warehouse.Window, error)
	HashtagVolume(ctx context.Context, minutes, top int) ([]warehouse.Series, warehouse.Window, error)
}

// contentSecurityPolicy allows only the dashboard's own script and data. ECharts sets element
// styles from script, hence inline styles; no inline scripts are allowed.
const contentSecurityPolicy = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"

// NewHandler returns the dashboard's HTTP handler: the page, its assets and the JSON API.
func NewHandler(store Store, logger *slog.Logger) http.Handler {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	h := &handler{store: store, log: logger}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", h.healthz)
	mux.HandleFunc("GET /api/summary", h.summary)
	mux.HandleFunc("GET /api/hashtags/top", h.topHashtags)
	mux.HandleFunc("GET /api/hashtags/volume", h.volume)
	mux.HandleFunc("GET /api/words/top", h.topWords)
	assets, _ := fs.Sub(dist, "web/dist")
	files := http.FileServerFS(assets)
	mux.HandleFunc("GET /", func(w http.ResponseWriter, r *http.Request) {
		if _, err := fs.Stat(assets, "app.js"); err != nil {
			http.Error(w, "The dashboard's web bundle was not built into this binary: run `make web`, then rebuild.", http.StatusServiceUnavailable)
			return
		}
		files.ServeHTTP(w, r)
	})
	return securityHeaders(mux)
}

func securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Security-Policy", contentSecurityPolicy)
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.Header().Set("Referrer-Policy", "no-referrer")
		next.ServeHTTP(w, r)
	})
}

type handler struct {
	store Store
	log   *slog.Logger
}

// intParam reads a bounded integer query parameter.
func intParam(r *http.Request, name string, def, lo, hi int) (int, error) {
	s := r.URL.Query().Get(name)
	if s == "" {
		return def, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < lo || n > hi {
		return 0, fmt.Errorf("parameter %s must be a whole number from %d to %d", name, lo, hi)
	}
	return n, nil
}

func (h *handler) writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	if err := json.NewEncoder(w).Encode(v); err != nil {
		h.log.Debug("write response", "err", err)
	}
}

func (h *handler) fail(w http.ResponseWriter, status int, err error) {
	if status >= 500 {
		h.log.Error("dashboard query failed", "err", err)
	}
	h.writeJSON(w, status, map[string]string{"error": err.Error()})
}

func (h *handler) healthz(w http.ResponseWriter, r *http.Request) {
	if err := h.store.Ping(r.Context()); err != nil {
		h.fail(w, http.StatusServiceUnavailable, fmt.Errorf("warehouse: %w", err))
		return
	}
	h.writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

func (h *handler) summary(w http.ResponseWriter, r *http.Request) {
	minutes, err := intParam(r, "minutes", 60, 1, 1440)
	if err != nil {
		h.fail(w, http.StatusBadRequest, err)
		return
	}
	s, err := h.store.Summary(r.Context(), minutes)
	if err != nil {
		h.fail(w, http.StatusBadGateway, err)
		return
	}
	h.writeJSON(w, http.StatusOK, s)
}

type termsResponse struct {
	Window warehouse.Window      `json:"window"`
	Items  []warehouse.TermCount `json:"items"`
}

func (h *handler) terms(w http.ResponseWriter, r *http.Request, query func(ctx context.Context, minutes, limit int) ([]warehouse.TermCount, warehouse.Window, error)) {
	minutes, err := intParam(r, "minutes", 60, 1, 1440)
	if err != nil {
		h.fail(w, http.StatusBadRequest, err)
		return
	}
	limit, err := intParam(r, "limit", 20, 1, 200)
	if err != nil {
		h.fail(w, http.StatusBadRequest, err)
		return
	}
	items, win, err := query(r.Context(), minutes, limit)
	if err != nil {
		h.fail(w, http.StatusBadGateway, err)
		return
	}
	h.writeJSON(w, http.StatusOK, termsResponse{Window: win, Items: items})
}

func (h *handler) topHashtags(w http.ResponseWriter, r *http.Request) {
	h.terms(w, r, h.store.TopHashtags)
}
func (h *handler) topWords(w http.ResponseWriter, r *http.Request) { h.terms(w, r, h.store.TopWords) }

func (h *handler) volume(w http.ResponseWriter, r *http.Request) {
	minutes, err := intParam(r, "minutes", 60, 1, 1440)
	if err != nil {
		h.fail(w, http.StatusBadRequest, err)
		return
	}
	top, err := intParam(r, "top", 5, 1, 20)
	if err != nil {
		h.fail(w, http.StatusBadRequest, err)
		return
	}
	series, win, err := h.store.HashtagVolume(r.Context(), minutes, top)
	if err != nil {
		h.fail(w, http.StatusBadGateway, err)
		return
	}
	h.writeJSON(w, http.StatusOK, struct {
		Window warehouse.Window   `json:"window"`
		Series []warehouse.Series `json:"series"`
	}{win, series})
}
