package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"strconv"
	"time"

	"github.com/portcullis/portcullis/access"
	"github.com/portcullis/portcullis/errcode"
)

// Paths the token endpoint serves.
const (
	TokenPath = "/token"
	JWKSPath  = "/.well-known/jwks.json"
)

// TokenIssuer mints and redeems tokens for the token endpoint; the token package's
// Service implements it.
type TokenIssuer interface {
	// Mint signs an access token for p granting exactly granted, valid for TTL. An error
	// wrapping access.ErrBadCredentials means p's credentials cannot be carried in one.
	Mint(p access.Principal, granted []access.Resource) (string, error)
	TTL() time.Duration
	// MintRefresh returns "" for a principal that gets no refresh token.
	MintRefresh(p access.Principal) (string, error)
	// Redeem returns the user a refresh token stands for, or bad credentials.
	Redeem(ctx context.Context, refreshToken string) (access.Principal, error)
	// MarshalJWKS is the JSON Web Key Set that verifies the tokens minted now.
	MarshalJWKS() ([]byte, error)
}

// PasswordLogin checks the credentials of a token request: Authenticate reads a GET's
// Basic header (none is anonymous), Login a POSTed user name and password. auth.Basic
// implements both, through the users file's verification cache.
type PasswordLogin interface {
	Authenticator
	Login(ctx context.Context, user, pass string) (access.Principal, error)
}

// TokenEndpointConfig is what NewTokenEndpoint needs. Tokens, Logins, Authorizer,
// Service and Logger are required.
type TokenEndpointConfig struct {
	Tokens     TokenIssuer
	Logins     PasswordLogin
	Authorizer Authorizer
	// Service is the service name this endpoint issues tokens for; a request naming
	// another is refused.
	Service string
	// Realm names the Basic challenge sent with a 401 (DefaultRealm when empty).
	Realm          string
	Observers      []TokenObserver
	Logger         *slog.Logger
	TrustedProxies []netip.Prefix
	TLS            bool
	Now            func() time.Time
}

type tokenEndpoint struct {
	cfg     TokenEndpointConfig
	trusted trustedProxies
	now     func() time.Time
}

// NewTokenEndpoint returns the handler of the Docker registry token endpoint
// (TokenPath: GET with Basic credentials or none, POST with an OAuth2 form) and of the
// key set that verifies its tokens (JWKSPath). A token grants what was asked
// intersected with what the Authorizer grants the caller now; a partial grant is not an
// error. Refusals are JSON that both registry clients (the errcode envelope) and OAuth2
// clients ("error", "error_description") read; the reason goes to the log and the
// observers, never to the client.
func NewTokenEndpoint(cfg TokenEndpointConfig) (http.Handler, error) {
	var errs []error
	if cfg.Tokens == nil || cfg.Logins == nil || cfg.Authorizer == nil || cfg.Logger == nil {
		errs = append(errs, errors.New("gateway: token endpoint needs Tokens, Logins, Authorizer and Logger"))
	}
	if cfg.Service == "" {
		errs = append(errs, errors.New("gateway: token endpoint needs a Service name"))
	}
	if cfg.Logins != nil {
		// Realm and TrustedProxies follow the pipeline's rules: its Validate checks them.
		if err := (Config{Backend: http.NotFoundHandler(), Authenticator: cfg.Logins, Authorizer: AllowAuthenticated{},
			Logger: slog.New(slog.DiscardHandler), Realm: cfg.Realm, TrustedProxies: cfg.TrustedProxies}).Validate(); err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	if cfg.Realm == "" {
		cfg.Realm = DefaultRealm
	}
	te := &tokenEndpoint{cfg: cfg, trusted: trustedProxies(cfg.TrustedProxies), now: cfg.Now}
	if te.now == nil {
		te.now = time.Now
	}
	return te, nil
}

// tokenResponse is the token endpoint's answer: the Docker spec's token, expires_in,
// issued_at and refresh_token, with OAuth2's access_token (the same token) and scope.
type tokenResponse struct {
	Token        string `json:"token"`
	AccessToken  string `json:"access_token"`
	ExpiresIn    int    `json:"expires_in"`
	IssuedAt     string `json:"issued_at"`
	RefreshToken string `json:"refresh_token,omitempty"`
	Scope        string `json:"scope,omitempty"`
}

func (te *tokenEndpoint) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var c clientInfo
	newClient(&c, r, te.trusted, te.cfg.TLS, te.now())
	r = r.WithContext(withClient(r.Context(), &c)) // the client's address for the login throttle
	w.Header().Set(headerRequestID, c.id)
	switch r.URL.Path {
	case JWKSPath:
		te.serveJWKS(w, r)
		return
	case TokenPath:
	default:
		errcode.Write(w, r, errcode.New(errcode.Unsupported, "no such endpoint").WithStatus(http.StatusNotFound))
		return
	}
	ev := &TokenEvent{ID: c.id, Time: c.start, ClientIP: c.ip, UserAgent: r.UserAgent(), Principal: access.Anonymous()}
	ref := te.issue(w, r, &c, ev)
	if ref != nil {
		ev.Outcome, ev.Reason, ev.Status = ref.outcome, ref.reason, ref.err.status
		if ref.err.status == http.StatusUnauthorized {
			w.Header().Set("WWW-Authenticate", `Basic realm=`+quoteParam(te.cfg.Realm))
		}
		if ref.err.status == http.StatusMethodNotAllowed {
			w.Header().Set("Allow", "GET, POST")
		}
		if ref.retryAfter > 0 {
			w.Header().Set("Retry-After", strconv.FormatInt(int64((ref.retryAfter+time.Second-1)/time.Second), 10))
		}
		writeTokenError(w, ref.err)
	}
	te.record(r, ev)
}

// tokenRefusal is why a token request was not answered with a token.
type tokenRefusal struct {
	outcome    TokenOutcome
	reason     string // for the log and observers
	err        *tokenError
	retryAfter time.Duration // a throttled login: sent as Retry-After
}

// issue reads, authenticates and answers one token request, filling ev as it learns.
func (te *tokenEndpoint) issue(w http.ResponseWriter, r *http.Request, c *clientInfo, ev *TokenEvent) *tokenRefusal {
	ctx := r.Context()
	req, terr := parseTokenRequest(r)
	ev.Grant, ev.ClientID, ev.Asked = req.grant, req.clientID, req.scopes
	if terr != nil {
		ev.Grant = ""
		return &tokenRefusal{outcome: TokenInvalid, reason: "invalid token request: " + terr.message, err: terr}
	}
	if req.service != "" && req.service != te.cfg.Service {
		return &tokenRefusal{outcome: TokenInvalid, reason: fmt.Sprintf("token request for service %.64q", req.service),
			err: badTokenRequest("invalid_request", "this token service issues tokens for service %q only", te.cfg.Service)}
	}

	var p access.Principal
	var err error
	switch req.grant {
	case grantBasic:
		user, _, hasBasic := r.BasicAuth()
		ev.Account = user
		if hasBasic && req.account != "" && req.account != user {
			return &tokenRefusal{outcome: TokenInvalid, reason: "account parameter differs from the credentials",
				err: badTokenRequest("invalid_request", "the account parameter must name the user of the credentials")}
		}
		p, err = te.cfg.Logins.Authenticate(ctx, r)
	case grantPassword:
		ev.Account = req.username
		p, err = te.cfg.Logins.Login(ctx, req.username, req.password)
	case grantRefresh:
		p, err = te.cfg.Tokens.Redeem(ctx, req.refresh)
	}
	if acct := access.ClaimedAccount(err); acct != "" {
		ev.Account = acct
	}
	var throttled *access.ThrottledError
	switch {
	case errors.As(err, &throttled):
		// Too many failed logins, as on /v2/ (issue 12): 429 with Retry-After.
		if throttled.Account != "" {
			ev.Account = throttled.Account
		}
		return &tokenRefusal{outcome: TokenThrottled, reason: "login throttled (" + throttled.Reason + ")",
			err:        &tokenError{status: http.StatusTooManyRequests, code: "slow_down", message: "too many login attempts; retry later"},
			retryAfter: throttled.RetryAfter}
	case errors.Is(err, access.ErrBadCredentials):
		return refusedLogin(err)
	case err != nil:
		return te.failed("authentication error", err)
	}
	if p.IsAnonymous() {
		p = access.Anonymous()
	}
	if req.grant == grantRefresh && ev.Account == "" {
		ev.Account = p.Name
	}
	ev.Principal = p

	granted, err := te.grant(ctx, r, c, p, req.scopes)
	if err != nil {
		return te.failed("authorization error", err)
	}
	ev.Granted = granted
	tok, err := te.cfg.Tokens.Mint(p, granted)
	switch {
	case errors.Is(err, access.ErrBadCredentials): // an identity whose claims no token can carry
		return refusedLogin(err)
	case err != nil:
		return te.failed("minting a token", err)
	}
	resp := tokenResponse{Token: tok, AccessToken: tok, ExpiresIn: int(te.cfg.Tokens.TTL() / time.Second),
		IssuedAt: ev.Time.UTC().Format(time.RFC3339), Scope: scopeString(granted)}
	// A refresh token is issued when asked for, never on a refresh grant: the one the
	// client holds stays good (docker keeps it as its identity token; moby#39718).
	if req.offline && req.grant != grantRefresh {
		rt, err := te.cfg.Tokens.MintRefresh(p)
		if err != nil {
			return te.failed("minting a refresh token", err)
		}
		resp.RefreshToken, ev.Refresh = rt, rt != ""
	}
	ev.Outcome, ev.Status = TokenIssued, http.StatusOK
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store") // RFC 6749 5.1
	h.Set("Pragma", "no-cache")
	body, _ := json.Marshal(resp)
	_, _ = w.Write(append(body, '\n'))
	return nil
}

// refusedLogin is the 401 for credentials that did not verify: the client is told only
// that authentication failed; the reason goes to the log.
func refusedLogin(err error) *tokenRefusal {
	return &tokenRefusal{outcome: TokenRefused, reason: badCredentialsReason(err),
		err: &tokenError{status: http.StatusUnauthorized, code: "invalid_grant", message: "authentication failed"}}
}

func (te *tokenEndpoint) failed(what string, err error) *tokenRefusal {
	te.cfg.Logger.Error("token endpoint: "+what, "err", err)
	return &tokenRefusal{outcome: TokenFailed, reason: what,
		err: &tokenError{status: http.StatusInternalServerError, code: "server_error", message: "internal error"}}
}

// grant asks the Authorizer for the scopes and keeps, of each resource asked, the
// actions granted. The policy sees the token request itself (method, path /token, the
// client's address), and sees the request that uses the token again when it comes.
func (te *tokenEndpoint) grant(ctx context.Context, r *http.Request, c *clientInfo, p access.Principal, asked []access.Resource) ([]access.Resource, error) {
	granted := []access.Resource{}
	if len(asked) == 0 {
		return granted, nil
	}
	d, err := te.cfg.Authorizer.Authorize(ctx, access.Input{Principal: p, Access: asked,
		Request: access.Request{Method: r.Method, Path: r.URL.Path, ClientIP: c.ipStr, UserAgent: r.UserAgent()}})
	if err != nil {
		return nil, err
	}
	for _, res := range asked {
		g := access.Resource{Type: res.Type, Name: res.Name}
		for _, a := range res.Actions {
			if d.Allows(access.Resource{Type: res.Type, Name: res.Name, Actions: []string{a}}) {
				g.Actions = append(g.Actions, a)
			}
		}
		if len(g.Actions) > 0 {
			granted = append(granted, g)
		}
	}
	return granted, nil
}

// writeTokenError answers in both shapes token clients read: the registry envelope
// (docker, containerd and containers/image print its message) and RFC 6749 5.2's
// error and error_description (OAuth2 clients).
func writeTokenError(w http.ResponseWriter, e *tokenError) {
	var code errcode.Code
	switch e.status {
	case http.StatusUnauthorized:
		code = errcode.Unauthorized
	case http.StatusTooManyRequests:
		code = errcode.TooManyRequests
	default:
		code = errcode.Code(toUpper(e.code))
	}
	body, _ := json.Marshal(struct {
		Errors []*errcode.Error `json:"errors"`
		Error  string           `json:"error"`
		Desc   string           `json:"error_description"`
	}{[]*errcode.Error{errcode.New(code, e.message)}, e.code, e.message})
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(e.status)
	_, _ = w.Write(append(body, '\n'))
}

func toUpper(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'a' <= c && c <= 'z' {
			b[i] = c - 'a' + 'A'
		}
	}
	return string(b)
}

// serveJWKS answers the key set: every key that verifies our tokens now.
func (te *tokenEndpoint) serveJWKS(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		errcode.Write(w, r, errcode.New(errcode.Unsupported, "use GET"))
		return
	}
	body, err := te.cfg.Tokens.MarshalJWKS()
	if err != nil {
		answerError(w, r, te.cfg.Logger, "encoding the key set", internalError(), err)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "public, max-age=60") // keys change only by rotation, which keeps the old ones
	if r.Method == http.MethodHead {
		return
	}
	_, _ = w.Write(append(body, '\n'))
}

// record logs the token request and tells the observers.
func (te *tokenEndpoint) record(r *http.Request, ev *TokenEvent) {
	ctx := r.Context()
	if te.cfg.Logger.Enabled(ctx, slog.LevelInfo) {
		attrs := []slog.Attr{
			slog.String("request_id", ev.ID),
			slog.String("client_ip", addrString(ev.ClientIP)),
			slog.String("grant", ev.Grant),
			slog.String("account", logPath(ev.Account)),
			slog.String("client_id", logPath(ev.ClientID)),
			slog.String("asked", logPath(scopeString(ev.Asked))),
			slog.String("granted", logPath(scopeString(ev.Granted))),
			slog.Bool("refresh_token", ev.Refresh),
			slog.String("outcome", string(ev.Outcome)),
			slog.Int("status", ev.Status),
			slog.Duration("duration", te.now().Sub(ev.Time)),
		}
		if ev.Reason != "" {
			attrs = append(attrs, slog.String("reason", ev.Reason))
		}
		te.cfg.Logger.LogAttrs(ctx, slog.LevelInfo, "token", attrs...)
	}
	for _, o := range te.cfg.Observers {
		o.ObserveToken(ctx, *ev)
	}
}
