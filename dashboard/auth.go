package dashboard

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"html/template"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"
)

// The optional access token. With one set, every request but /healthz and the login form
// must carry it: as "Authorization: Bearer <token>" (scripts), or as the session cookie the
// login form sets (browsers). The cookie holds an HMAC of the token, not the token, and is
// HttpOnly and SameSite=Strict, so other sites' pages cannot send it. Comparisons take
// constant time, whatever the length of what was sent (both sides are hashed first).
//
// Guessing is throttled per client address, the same way on every path: after maxFailures
// wrong tokens (bearer headers, session cookies or login forms) within a minute, the
// address gets 429 Too Many Requests, right token or not, until the minute has passed.

const sessionCookie = "starling_session"

type auth struct {
	token   [sha256.Size]byte // SHA-256 of the token
	enabled bool
	session [sha256.Size]byte // SHA-256 of the cookie value that proves the token
	cookie  string            // that cookie value

	mu       sync.Mutex // guards failures
	failures map[string]*failureWindow
}

// failureWindow counts one address's wrong tokens in the minute from since.
type failureWindow struct {
	count int
	since time.Time
}

// maxFailures wrong tokens a minute are let through from one address; more wait for the
// minute to pass. maxTracked bounds the addresses remembered.
const (
	maxFailures = 10
	maxTracked  = 10000
)

func newAuth(token string) *auth {
	a := &auth{failures: map[string]*failureWindow{}}
	if token != "" {
		a.enabled = true
		a.token = sha256.Sum256([]byte(token))
		mac := hmac.New(sha256.New, []byte(token))
		mac.Write([]byte("starling dashboard session v1"))
		a.cookie = hex.EncodeToString(mac.Sum(nil))
		a.session = sha256.Sum256([]byte(a.cookie))
	}
	return a
}

// equal compares what a client sent with a secret's SHA-256 in constant time.
func equal(given string, secret [sha256.Size]byte) bool {
	h := sha256.Sum256([]byte(given))
	return subtle.ConstantTimeCompare(h[:], secret[:]) == 1
}

// clientAddr is the address failures are counted by.
func clientAddr(r *http.Request) string {
	if host, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		return host
	}
	return r.RemoteAddr
}

// throttled reports whether addr has used up its wrong tokens for the current minute.
func (a *auth) throttled(addr string) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	w := a.failures[addr]
	if w == nil || time.Since(w.since) > time.Minute {
		return false
	}
	return w.count >= maxFailures
}

// failed counts a wrong token from addr.
func (a *auth) failed(addr string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	now := time.Now()
	w := a.failures[addr]
	if w == nil || now.Sub(w.since) > time.Minute {
		if len(a.failures) >= maxTracked {
			for k, old := range a.failures {
				if now.Sub(old.since) > time.Minute {
					delete(a.failures, k)
				}
			}
			if len(a.failures) >= maxTracked {
				clear(a.failures) // a flood of addresses: start counting afresh
			}
		}
		w = &failureWindow{since: now}
		a.failures[addr] = w
	}
	w.count++
}

// open paths need no token: the health check (for orchestrators) and the login form with
// its style sheet.
func open(r *http.Request) bool {
	switch r.URL.Path {
	case "/healthz", "/login", "/app.css":
		return true
	}
	return false
}

// check is what the token check says of a request.
type check int

const (
	checkOK        check = iota
	checkDenied          // no token, or a wrong one
	checkThrottled       // too many wrong tokens from this address lately
)

func (a *auth) check(r *http.Request) check {
	if !a.enabled || open(r) {
		return checkOK
	}
	bearer, hasBearer := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	c, cookieErr := r.Cookie(sessionCookie)
	if !hasBearer && cookieErr != nil {
		return checkDenied // no credential: not a guess
	}
	addr := clientAddr(r)
	if a.throttled(addr) {
		return checkThrottled
	}
	if hasBearer && equal(bearer, a.token) || !hasBearer && equal(c.Value, a.session) {
		return checkOK
	}
	a.failed(addr)
	return checkDenied
}

// throttle answers a request from an address that has sent too many wrong tokens.
func (a *auth) throttle(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Retry-After", "60")
	if strings.HasPrefix(r.URL.Path, "/api/") {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusTooManyRequests)
		w.Write([]byte(`{"error":"too many wrong tokens from this address: wait a minute"}` + "\n"))
		return
	}
	http.Redirect(w, r, "/login?failed=wait", http.StatusSeeOther)
}

func (a *auth) deny(w http.ResponseWriter, r *http.Request) {
	if strings.HasPrefix(r.URL.Path, "/api/") {
		w.Header().Set("WWW-Authenticate", `Bearer realm="starling"`)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusUnauthorized)
		w.Write([]byte(`{"error":"this dashboard needs its access token: log in at /login, or send Authorization: Bearer <token>"}` + "\n"))
		return
	}
	http.Redirect(w, r, "/login", http.StatusSeeOther)
}

var loginTemplate = template.Must(template.New("login").Parse(`<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>Starling · log in</title>
  <link rel="icon" href="data:,">
  <link rel="stylesheet" href="app.css">
</head>
<body class="login">
  <form class="login-form panel" method="post" action="/login">
    <h1>Starling</h1>
    <p>This dashboard needs its access token.</p>
    {{if .Message}}<p class="login-error" role="alert">{{.Message}}</p>{{end}}
    <label for="token">Access token</label>
    <input id="token" name="token" type="password" autocomplete="current-password" required autofocus>
    <button type="submit">Log in</button>
  </form>
</body>
</html>
`))

func (a *auth) loginPage(w http.ResponseWriter, r *http.Request) {
	if !a.enabled {
		http.Redirect(w, r, "/", http.StatusSeeOther)
		return
	}
	msg := ""
	switch r.URL.Query().Get("failed") {
	case "1":
		msg = "That is not the token."
	case "wait":
		msg = "Too many wrong tokens: wait a minute."
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	loginTemplate.Execute(w, struct{ Message string }{msg})
}

func (a *auth) login(w http.ResponseWriter, r *http.Request) {
	if !a.enabled {
		http.Redirect(w, r, "/", http.StatusSeeOther)
		return
	}
	addr := clientAddr(r)
	r.Body = http.MaxBytesReader(w, r.Body, 4096)
	given := r.PostFormValue("token")
	switch {
	case a.throttled(addr):
		http.Redirect(w, r, "/login?failed=wait", http.StatusSeeOther)
	case !equal(given, a.token):
		a.failed(addr)
		http.Redirect(w, r, "/login?failed=1", http.StatusSeeOther)
	default:
		http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: a.cookie, Path: "/", MaxAge: 30 * 24 * 3600,
			HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: r.TLS != nil})
		http.Redirect(w, r, "/", http.StatusSeeOther)
	}
}

func (a *auth) logout(w http.ResponseWriter, r *http.Request) {
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: "", Path: "/", MaxAge: -1, HttpOnly: true, SameSite: http.SameSiteStrictMode})
	http.Redirect(w, r, "/login", http.StatusSeeOther)
}
