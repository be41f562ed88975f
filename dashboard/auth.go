package dashboard

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"html/template"
	"net/http"
	"strings"
	"sync"
	"time"
)

// The optional access token. With one set, every request but /healthz and the login form
// must carry it: as "Authorization: Bearer <token>" (scripts), or as the session cookie the
// login form sets (browsers). The cookie holds an HMAC of the token, not the token, and is
// HttpOnly and SameSite=Strict, so other sites' pages cannot send it. Comparisons take
// constant time.

const sessionCookie = "starling_session"

type auth struct {
	token   []byte
	session string // the cookie value that proves the token

	mu       sync.Mutex // guards the failure count
	failures int
	since    time.Time
}

func newAuth(token string) *auth {
	a := &auth{}
	if token != "" {
		a.token = []byte(token)
		mac := hmac.New(sha256.New, a.token)
		mac.Write([]byte("starling dashboard session v1"))
		a.session = hex.EncodeToString(mac.Sum(nil))
	}
	return a
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

func (a *auth) allowed(r *http.Request) bool {
	if a.token == nil || open(r) {
		return true
	}
	if bearer, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok {
		return subtle.ConstantTimeCompare([]byte(bearer), a.token) == 1
	}
	if c, err := r.Cookie(sessionCookie); err == nil {
		return subtle.ConstantTimeCompare([]byte(c.Value), []byte(a.session)) == 1
	}
	return false
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
	if a.token == nil {
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

// maxFailures wrong tokens a minute are let through; more wait for the minute to pass.
const maxFailures = 10

func (a *auth) login(w http.ResponseWriter, r *http.Request) {
	if a.token == nil {
		http.Redirect(w, r, "/", http.StatusSeeOther)
		return
	}
	a.mu.Lock()
	if time.Since(a.since) > time.Minute {
		a.failures, a.since = 0, time.Now()
	}
	tooMany := a.failures >= maxFailures
	a.mu.Unlock()
	r.Body = http.MaxBytesReader(w, r.Body, 4096)
	given := r.PostFormValue("token")
	switch {
	case tooMany:
		http.Redirect(w, r, "/login?failed=wait", http.StatusSeeOther)
	case subtle.ConstantTimeCompare([]byte(given), a.token) != 1:
		a.mu.Lock()
		a.failures++
		a.mu.Unlock()
		http.Redirect(w, r, "/login?failed=1", http.StatusSeeOther)
	default:
		http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: a.session, Path: "/", MaxAge: 30 * 24 * 3600,
			HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: r.TLS != nil})
		http.Redirect(w, r, "/", http.StatusSeeOther)
	}
}

func (a *auth) logout(w http.ResponseWriter, r *http.Request) {
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: "", Path: "/", MaxAge: -1, HttpOnly: true, SameSite: http.SameSiteStrictMode})
	http.Redirect(w, r, "/login", http.StatusSeeOther)
}
