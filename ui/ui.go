package ui

import (
	"bytes"
	"context"
	"embed"
	"errors"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"net/netip"
	"strings"
	"time"

	"github.com/portcullis/portcullis/access"
	"github.com/portcullis/portcullis/gateway"
)

// Login checks a user name and a password (or a trusted issuer's identity token given as
// the password) as the registry API does: *auth.Basic is one. Bad credentials are an
// error wrapping access.ErrBadCredentials; too many failures an *access.ThrottledError;
// the client's address for the throttle is in ctx (access.WithClientIP).
type Login interface {
	Login(ctx context.Context, user, pass string) (access.Principal, error)
}

// Config is what the web UI needs.
type Config struct {
	// Pipeline is the gateway's request pipeline (gateway.New): every page is built from
	// requests to it as the signed-in user. Required.
	Pipeline http.Handler
	// Authorizer is the pipeline's: asked whether to show Delete and the audit view.
	// Required.
	Authorizer gateway.Authorizer
	// Login checks sign-ins. Required.
	Login Login
	// KeyFile holds the key sessions are signed with, created (0600) when missing, so
	// sessions survive a restart. Required.
	KeyFile string
	// SessionTTL is how long a sign-in lasts. Default 1h.
	SessionTTL time.Duration
	// PublicHost is the registry host named in pull commands (host[:port]); empty: the
	// Host the browser addressed.
	PublicHost string
	// Audit, when set, is the audit trail the audit view reads.
	Audit *AuditSource
	// ClientIP says which address a request comes from, for the login throttle; default
	// the connection's peer.
	ClientIP func(*http.Request) netip.Addr
	// Logger receives technical failures; required.
	Logger *slog.Logger
	// Now is the clock; time.Now by default.
	Now func() time.Time
	// MaxRevoked bounds the signed-out sessions remembered; default 65536.
	MaxRevoked int
	// OnLoginFailed, when set, is told of every refused sign-in (the audit trail's
	// login_failed), on the request's goroutine.
	OnLoginFailed func(context.Context, LoginFailure)
}

// LoginFailure is a refused sign-in: the account claimed (unverified, never the
// password), from where, and the status answered (401, or 429 when throttled).
type LoginFailure struct {
	Time      time.Time
	Account   string
	ClientIP  netip.Addr
	UserAgent string
	Status    int
}

// AuditSource names the audit trail's files and the key verifying its checkpoints.
type AuditSource struct {
	// Files returns the trail's files, rotated ones included (any order).
	Files func() []string
	// PublicKeyFile is the checkpoint public key; empty or missing: the chain alone is checked.
	PublicKeyFile string
}

// DefaultSessionTTL is how long a sign-in lasts unless configured.
const DefaultSessionTTL = time.Hour

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// contentSecurityPolicy allows the page's own stylesheet and script and nothing else:
// no inline script or style, no other origin, no framing.
const contentSecurityPolicy = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; " +
	"connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

type ui struct {
	cfg   Config
	keys  *sealer
	pages map[string]*template.Template
	log   *slog.Logger
	now   func() time.Time
	mux   *http.ServeMux
}

// New validates cfg, loads (or creates) the session key and returns the handler for
// everything under /ui/.
func New(cfg Config) (http.Handler, error) {
	var errs []error
	if cfg.Pipeline == nil {
		errs = append(errs, errors.New("ui: Pipeline is required"))
	}
	if cfg.Authorizer == nil {
		errs = append(errs, errors.New("ui: Authorizer is required"))
	}
	if cfg.Login == nil {
		errs = append(errs, errors.New("ui: Login is required"))
	}
	if cfg.KeyFile == "" {
		errs = append(errs, errors.New("ui: KeyFile is required"))
	}
	if cfg.Logger == nil {
		errs = append(errs, errors.New("ui: Logger is required"))
	}
	if cfg.SessionTTL < 0 {
		errs = append(errs, errors.New("ui: SessionTTL must not be negative"))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	if cfg.SessionTTL == 0 {
		cfg.SessionTTL = DefaultSessionTTL
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.MaxRevoked <= 0 {
		cfg.MaxRevoked = 1 << 16
	}
	if cfg.ClientIP == nil {
		cfg.ClientIP = peerIP
	}
	key, err := loadKey(cfg.KeyFile)
	if err != nil {
		return nil, err
	}
	u := &ui{
		cfg:  cfg,
		keys: &sealer{key: key, revoked: newRevocations(cfg.MaxRevoked, cfg.Now)},
		log:  cfg.Logger.With("component", "ui"),
		now:  cfg.Now,
	}
	if u.pages, err = parsePages(); err != nil {
		return nil, err
	}
	u.routes()
	return u, nil
}

// routes registers every page.
func (u *ui) routes() {
	m := http.NewServeMux()
	static, _ := fs.Sub(staticFS, "static")
	files := http.StripPrefix("/ui/static/", http.FileServerFS(static))
	m.Handle("GET /ui/static/{file}", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-cache")
		files.ServeHTTP(w, r)
	}))
	m.HandleFunc("GET /ui/{$}", u.home)
	m.HandleFunc("GET /ui/login", u.loginForm)
	m.HandleFunc("POST /ui/login", u.loginPost)
	m.HandleFunc("POST /ui/logout", u.logout)
	m.HandleFunc("GET /ui/repos", u.signedIn(u.repos))
	m.HandleFunc("GET /ui/r/", u.signedIn(u.repo))
	m.HandleFunc("GET /ui/m/", u.signedIn(u.manifest))
	m.HandleFunc("POST /ui/delete", u.signedIn(u.deletePost))
	m.HandleFunc("GET /ui/audit", u.signedIn(u.auditPage))
	m.HandleFunc("/ui/", func(w http.ResponseWriter, r *http.Request) {
		s, _ := u.session(r)
		u.fail(w, r, s, http.StatusNotFound, "page not found")
	})
	u.mux = m
}

// ServeHTTP sets the headers every answer carries, then routes.
func (u *ui) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Security-Policy", contentSecurityPolicy)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "same-origin")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Cross-Origin-Opener-Policy", "same-origin")
	h.Set("Cross-Origin-Resource-Policy", "same-origin")
	h.Set("Cache-Control", "no-store")
	if r.Method == http.MethodPost {
		r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	}
	u.mux.ServeHTTP(w, r)
}

// home sends a browser on to its repositories, or to sign in.
func (u *ui) home(w http.ResponseWriter, r *http.Request) {
	if _, ok := u.session(r); ok {
		http.Redirect(w, r, "/ui/repos", http.StatusFound)
		return
	}
	http.Redirect(w, r, "/ui/login", http.StatusFound)
}

// handlerFunc is a page that needs a signed-in user.
type handlerFunc func(w http.ResponseWriter, r *http.Request, s session)

// signedIn runs h with the request's session; without one, a GET goes to the sign-in
// page and anything else is refused as a forged form would be.
func (u *ui) signedIn(h handlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		s, ok := u.session(r)
		if !ok {
			if r.Method == http.MethodGet {
				http.Redirect(w, r, "/ui/login", http.StatusFound)
				return
			}
			u.fail(w, r, session{}, http.StatusForbidden, "invalid CSRF token")
			return
		}
		h(w, r, s)
	}
}

// session returns the request's session, if its cookie holds a valid one.
func (u *ui) session(r *http.Request) (session, bool) {
	c, err := r.Cookie(sessionCookie)
	if err != nil {
		return session{}, false
	}
	s, err := u.keys.open(c.Value, u.now())
	return s, err == nil
}

// page is what every template gets: the layout's facts and the page's own data.
type page struct {
	Title    string
	User     string
	CSRF     string
	CanAudit bool
	Data     any
}

// render writes a page with status code.
func (u *ui) render(w http.ResponseWriter, r *http.Request, s session, code int, name, title string, data any) {
	t, ok := u.pages[name]
	if !ok {
		panic("ui: no template " + name)
	}
	p := page{Title: title, Data: data}
	if s.ID != "" {
		p.User, p.CSRF = s.User, u.keys.csrfToken(s)
		p.CanAudit = u.cfg.Audit != nil && u.allowed(r, s, auditResource, http.MethodGet, "/ui/audit")
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout", p); err != nil {
		u.log.Error("rendering a page", "page", name, "err", err)
		http.Error(w, "internal server error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(code)
	_, _ = w.Write(buf.Bytes())
}

// errorData is the error page's.
type errorData struct{ Message string }

// fail answers with the error page.
func (u *ui) fail(w http.ResponseWriter, r *http.Request, s session, code int, msg string) {
	u.render(w, r, s, code, "error", http.StatusText(code), errorData{Message: msg})
}

// failErr answers a technical failure: logged, shown as a generic 500 (or 502 when the
// registry did not answer as it should).
func (u *ui) failErr(w http.ResponseWriter, r *http.Request, s session, what string, err error) {
	if errors.Is(err, context.Canceled) {
		return
	}
	u.log.Error(what, "user", s.User, "path", r.URL.Path, "err", err)
	u.fail(w, r, s, http.StatusInternalServerError, what+" failed; the gateway's log says why")
}

func parsePages() (map[string]*template.Template, error) {
	names, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		return nil, err
	}
	out := map[string]*template.Template{}
	for _, n := range names {
		name := strings.TrimSuffix(strings.TrimPrefix(n, "templates/"), ".html")
		if name == "layout" {
			continue
		}
		t, err := template.New(name).Funcs(funcs).ParseFS(templateFS, "templates/layout.html", n)
		if err != nil {
			return nil, err
		}
		out[name] = t
	}
	return out, nil
}

func peerIP(r *http.Request) netip.Addr {
	ap, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil {
		return netip.Addr{}
	}
	return ap.Addr().Unmap()
}
