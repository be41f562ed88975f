// Package dashboard is Starling's web dashboard, the pipeline's last step (Amazon
// QuickSight in the AWS reference): an HTTP server with a JSON API over the warehouse's
// named queries, live updates over server-sent events, the Kafka side of the pipeline's
// health, and a read-only SQL console; and a page that charts it all with ECharts, bundled
// from npm and embedded in the binary.
//
// The page shows KPIs, volume and sentiment over time, top and rising hashtags, the
// sentiment and language mix, a word cloud, the latest, most positive and most negative
// tweets, the entities the tweets name, and the pipeline itself (topics, partitions,
// offsets, consumer groups and their lag, ETL throughput, dead letters). Clicking a
// hashtag, word or language filters every panel; the view (time range, filters, theme)
// lives in the URL.
//
// Tweet text, user names and hashtags are untrusted: the page puts them into the document
// as text only, and the Content-Security-Policy allows no inline script or style.
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
	"strings"
	"time"

	"github.com/starling-analytics/starling/internal/kafkaclient"
	"github.com/starling-analytics/starling/internal/tweet"
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
	// Brokers are the Kafka bootstrap addresses whose topics and consumer groups the
	// pipeline health panel shows (the built-in broker, Kafka or Amazon MSK); empty: the
	// panel says no broker is configured. Kafka holds their TLS and SASL settings.
	Brokers []string
	Kafka   kafkaclient.Config
	// Names are the topics and groups the ETL runs with, which the pipeline view watches
	// (its page gets them from /api/pipeline). Empty fields are the defaults.
	Names tweet.Names
	// ConsoleUser and ConsolePassword log the SQL console in to ClickHouse. The user must
	// be read-only (a profile with readonly = 1); empty: the console is off. The console
	// never runs as Warehouse's user.
	ConsoleUser, ConsolePassword string
	// Console runs the SQL console's statements, for a handler made by NewHandler; nil
	// turns the console off, for the reason in ConsoleOff. Run makes it from ConsoleUser.
	Console    ConsoleRunner
	ConsoleOff string
	// Token, when set, is required by every page and API call but /healthz and the login
	// form: as the cookie the login form sets, or an "Authorization: Bearer" header.
	// Without it, the SQL console is off unless Addr is a loopback address.
	Token string
	// Logger receives the server's logs; nil discards them.
	Logger *slog.Logger
}

// WithDefaults returns c with every zero field set to its default; the commands' flags
// show these defaults.
func (c Config) WithDefaults() Config {
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
	c = c.WithDefaults()
	if _, _, err := net.SplitHostPort(c.Addr); err != nil {
		return fmt.Errorf("dashboard: listen address %q: %w", c.Addr, err)
	}
	if c.Token != "" && len(c.Token) < 8 {
		return errors.New("dashboard: the access token must be at least 8 characters")
	}
	if len(c.Brokers) > 0 {
		if err := c.Kafka.Validate(); err != nil {
			return fmt.Errorf("dashboard: %w", err)
		}
	}
	return c.Warehouse.Validate()
}

// consoleOff says why the SQL console is off, or "" when it may run.
func (c Config) consoleOff() string {
	writer := c.Warehouse.Username
	if writer == "" {
		writer = "default"
	}
	switch {
	case c.ConsoleUser == "":
		return "The SQL console is off: no read-only ClickHouse user is configured (--console-user, STARLING_CONSOLE_USER)."
	case c.ConsoleUser == writer:
		return fmt.Sprintf("The SQL console is off: its ClickHouse user %q is the warehouse's writing user; give it a read-only user (--console-user).", c.ConsoleUser)
	case c.Token == "" && !loopback(c.Addr):
		return fmt.Sprintf("The SQL console is off: the dashboard listens on %s, beyond this machine, without an access token; set --dashboard-token (STARLING_DASHBOARD_TOKEN) or listen on 127.0.0.1.", c.Addr)
	}
	return ""
}

// loopback reports whether addr listens on a loopback address only.
func loopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Run serves the dashboard until ctx is done. It waits for the warehouse to answer.
func Run(ctx context.Context, cfg Config) error {
	if err := cfg.Validate(); err != nil {
		return err
	}
	cfg = cfg.WithDefaults()
	wcfg := cfg.Warehouse
	if wcfg.Logger == nil {
		wcfg.Logger = cfg.Logger
	}
	db, err := warehouse.OpenWaiting(ctx, wcfg, 5*time.Second)
	if err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return err
	}
	defer db.Close()
	if cfg.ConsoleOff = cfg.consoleOff(); cfg.ConsoleOff == "" {
		cc := cfg.Warehouse
		cc.Username, cc.Password = cfg.ConsoleUser, cfg.ConsolePassword
		lc := &lazyConsole{cfg: cc, log: cfg.Logger}
		defer lc.close()
		cfg.Console = lc
	} else {
		cfg.Logger.Info(cfg.ConsoleOff)
	}
	if len(cfg.Brokers) == 0 {
		cfg.Logger.Info("no Kafka brokers configured: the pipeline health panel shows the warehouse side only")
	}
	h := NewHandler(db, cfg)
	defer h.Close()
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("dashboard: listen: %w", err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, BaseContext: func(net.Listener) context.Context { return ctx }}
	cfg.Logger.Info("dashboard listening", "addr", ln.Addr().String(), "token", cfg.Token != "", "kafka", cfg.Brokers)
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("dashboard: %w", err)
	case <-ctx.Done():
	}
	// Live streams end with ctx (the requests' base context), so shutdown waits only for
	// requests in flight.
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
	NewScope(ctx context.Context, span warehouse.Span, f warehouse.Filter) (*warehouse.Scope, error)
	Throughput(ctx context.Context, seconds int) (warehouse.Throughput, error)
	LoadedOffsets(ctx context.Context, topic string) (map[int32]int64, error)
	Models(ctx context.Context) ([]warehouse.ModelInfo, error)
}

// ConsoleRunner runs SQL console statements; *warehouse.Console implements it.
type ConsoleRunner interface {
	Query(ctx context.Context, sql string) (*warehouse.ConsoleResult, error)
}

// contentSecurityPolicy allows only the dashboard's own script, styles and data: no inline
// script or style, no other origin. The charts draw on canvases (tooltips too), so tweet
// text never becomes markup, and the console's CSV download is a blob: URL.
const contentSecurityPolicy = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; connect-src 'self'; " +
	"object-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"

// Handler is the dashboard's HTTP handler: the page, its assets, the JSON API, the live
// stream and the console.
type Handler struct {
	store      Store
	names      tweet.Names
	log        *slog.Logger
	kafka      *kafkaHealth
	console    ConsoleRunner
	consoleOff string
	auth       *auth
	cache      *panelCache
	mux        *http.ServeMux
}

// NewHandler returns the dashboard's handler over store, with cfg's Brokers, Kafka, Names,
// Console, ConsoleOff, Token and Logger (Run passes its own Config). Close releases its
// Kafka connections.
func NewHandler(store Store, cfg Config) *Handler {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	names := cfg.Names.WithDefaults()
	h := &Handler{store: store, log: cfg.Logger, names: names, kafka: newKafkaHealth(cfg.Brokers, cfg.Kafka, names), console: cfg.Console,
		consoleOff: cfg.ConsoleOff, auth: newAuth(cfg.Token), cache: newPanelCache(), mux: http.NewServeMux()}
	if h.console == nil && h.consoleOff == "" {
		h.consoleOff = "The SQL console is off."
	}
	m := h.mux
	m.HandleFunc("GET /healthz", h.healthz)
	m.HandleFunc("GET /login", h.auth.loginPage)
	m.HandleFunc("POST /login", h.auth.login)
	m.HandleFunc("POST /logout", h.auth.logout)
	m.HandleFunc("GET /api/summary", h.summary)
	m.HandleFunc("GET /api/about", h.about)
	for _, p := range panels {
		m.HandleFunc("GET "+p.path, h.panelHandler(p))
	}
	m.HandleFunc("GET /api/models", h.models)
	m.HandleFunc("GET "+comparePanel.path, h.panelHandler(comparePanel))
	m.HandleFunc("GET /api/pipeline", h.pipelineHandler)
	m.HandleFunc("GET /api/snapshot", h.snapshot)
	m.HandleFunc("GET /api/stream", h.stream)
	m.HandleFunc("GET /api/console", h.consoleStatus)
	m.HandleFunc("POST /api/console/query", h.consoleQuery)
	assets, _ := fs.Sub(dist, "web/dist")
	files := http.FileServerFS(assets)
	m.HandleFunc("GET /", func(w http.ResponseWriter, r *http.Request) {
		if _, err := fs.Stat(assets, "app.js"); err != nil {
			http.Error(w, "The dashboard's web bundle was not built into this binary: run `make web`, then rebuild.", http.StatusServiceUnavailable)
			return
		}
		if r.URL.Path == "/" || r.URL.Path == "/index.html" {
			w.Header().Set("Cache-Control", "no-cache")
		}
		files.ServeHTTP(w, r)
	})
	return h
}

// ServeHTTP serves a request: security headers on everything, the token checked first.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	hd := w.Header()
	hd.Set("Content-Security-Policy", contentSecurityPolicy)
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("Referrer-Policy", "no-referrer")
	hd.Set("X-Frame-Options", "DENY")
	switch h.auth.check(r) {
	case checkDenied:
		h.auth.deny(w, r)
		return
	case checkThrottled:
		h.auth.throttle(w, r)
		return
	}
	h.mux.ServeHTTP(w, r)
}

// Close releases the handler's Kafka connections.
func (h *Handler) Close() { h.kafka.close() }

func (h *Handler) writeJSON(w http.ResponseWriter, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		h.fail(w, http.StatusInternalServerError, err)
		return
	}
	h.writeRaw(w, status, body)
}

func (h *Handler) writeRaw(w http.ResponseWriter, status int, body []byte) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	if _, err := w.Write(append(body, '\n')); err != nil {
		h.log.Debug("write response", "err", err)
	}
}

// fail answers with a JSON error. Server-side failures are logged in full but answered
// with a short message; a request's own mistakes are answered as they are.
func (h *Handler) fail(w http.ResponseWriter, status int, err error) {
	msg := err.Error()
	if status >= 500 {
		h.log.Error("dashboard request failed", "err", err)
		msg = publicError(err)
	}
	h.writeJSON(w, status, map[string]string{"error": msg})
}

// publicError is an error message fit for the page: the warehouse's message without the
// driver's wrapping.
func publicError(err error) string {
	msg := err.Error()
	if i := strings.LastIndex(msg, "code: "); i >= 0 {
		return "warehouse: " + msg[i:]
	}
	return msg
}

func (h *Handler) healthz(w http.ResponseWriter, r *http.Request) {
	if err := h.store.Ping(r.Context()); err != nil {
		h.fail(w, http.StatusServiceUnavailable, fmt.Errorf("warehouse: %w", err))
		return
	}
	h.writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

// about says what this dashboard has: an access token (the page offers to log out), a
// Kafka cluster, the SQL console.
func (h *Handler) about(w http.ResponseWriter, r *http.Request) {
	h.writeJSON(w, http.StatusOK, map[string]bool{"token": h.auth.enabled, "kafka": h.kafka != nil, "console": h.console != nil})
}

// summary is the headline figures of the last minutes minutes (the first API; kept for
// scripts and the compose smoke test).
func (h *Handler) summary(w http.ResponseWriter, r *http.Request) {
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
