package main

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"time"

	"github.com/portcullis/portcullis/access"
	"github.com/portcullis/portcullis/auth"
	"github.com/portcullis/portcullis/config"
	"github.com/portcullis/portcullis/gateway"
	"github.com/portcullis/portcullis/server"
	"github.com/portcullis/portcullis/token"
)

// tokens is the token service and what it adds to the gateway (issue 10): the token
// endpoint and JWKS beside the pipeline, token mode's authenticator, identity tokens as
// passwords, and tokens for the upstream. Nil when the configuration needs no tokens.
type tokens struct {
	svc     *token.Service
	keys    *token.Keys
	issuers int // trusted issuers configured
}

// buildTokens opens the signing keys (creating DATA/token on first start) and the token
// service, when the configuration needs one; nil otherwise.
func buildTokens(cfg config.Config, users *auth.Htpasswd, groups *auth.Groups, logger *slog.Logger) (*tokens, error) {
	if !cfg.NeedsTokens() {
		return nil, nil
	}
	logger = logger.With("component", "token")
	keys, err := token.OpenKeys(token.KeysOptions{
		Dir: cfg.TokenDir(), KeyFile: cfg.TokenKey, Alg: cfg.TokenAlg,
		// A retired key verifies until the longest token it may have signed expired:
		// refresh tokens, access tokens, or the upstream's few minutes.
		Lifetime: max(cfg.RefreshTTL, cfg.TokenTTL, 5*time.Minute),
		Logger:   logger,
	})
	if err != nil {
		return nil, fmt.Errorf("token keys: %w", err)
	}
	tc := token.Config{
		Keys: keys, Issuer: cfg.TokenIssuer, Service: cfg.TokenServiceName(),
		TTL: cfg.TokenTTL, RefreshTTL: cfg.RefreshTTL, X5C: cfg.TokenX5C, Users: users, Logger: logger,
	}
	if groups != nil { // a nil *auth.Groups is not a nil interface
		tc.Groups = groups
	}
	for _, ti := range cfg.TrustedIssuers {
		tc.Trusted = append(tc.Trusted, token.IssuerConfig{
			Issuer: ti.Issuer, JWKSURL: ti.JWKSURL, JWKSFile: ti.JWKSFile, Discovery: ti.Discovery, CAFile: ti.CAFile,
			Audience: ti.Audience, Algorithms: ti.Algorithms, UsernameClaim: ti.UsernameClaim, GroupsClaim: ti.GroupsClaim,
		})
	}
	svc, err := token.New(tc)
	if err != nil {
		return nil, err
	}
	logger.Info("token service", "auth", cfg.Auth, "service", svc.Service(), "issuer", svc.Issuer(),
		"kid", keys.CurrentKID(), "token_ca", keys.CAFile(), "x5c", svc.X5C(), "trusted_issuers", len(cfg.TrustedIssuers))
	return &tokens{svc: svc, keys: keys, issuers: len(cfg.TrustedIssuers)}, nil
}

// reloaders keep the signing keys current (after `gateway token rotate`, or a new
// --token-key file) and trusted issuers' key sets fresh.
func (t *tokens) reloaders() []server.Reloader {
	rs := []server.Reloader{t.keys}
	if t.issuers > 0 {
		rs = append(rs, issuerKeys{t.svc})
	}
	return rs
}

// issuerKeys runs the trusted issuers' key refreshes while the server serves; SIGHUP
// fetches them now (an issuer in backoff after failures waits its turn).
type issuerKeys struct{ svc *token.Service }

func (issuerKeys) Name() string                       { return "trusted issuers" }
func (i issuerKeys) Run(ctx context.Context)          { i.svc.Run(ctx) }
func (i issuerKeys) Reload(ctx context.Context) error { i.svc.RefreshIssuers(ctx); return nil }

// authenticator is the pipeline's authenticator when tokens are configured: the login
// (which takes identity tokens as passwords); in token mode bearer tokens too, and the
// bearer challenge (outermost, so it is what the gateway asks for a 401 also behind
// client certificates).
func (t *tokens) authenticator(cfg config.Config, login *auth.Basic, groups *auth.Groups) gateway.Authenticator {
	var a interface {
		gateway.Authenticator
		Challenge(*http.Request) string // what auth.ClientCert wraps
	} = login
	if cfg.Auth == config.AuthToken {
		a = &auth.Bearer{Tokens: t.svc, Basic: login}
	}
	if cfg.TLSClientCA != "" {
		a = &auth.ClientCert{Next: a, Groups: groups}
	}
	if cfg.Auth == config.AuthToken {
		return gateway.BearerChallenge(a, cfg.TokenRealm, t.svc.Service())
	}
	return a
}

// upstreamCredentials is what the upstream backend presents with each request: with
// --upstream-auth token, a token for exactly the access granted; nil otherwise.
func (t *tokens) upstreamCredentials(cfg config.Config) func(context.Context, []access.Resource, string) (string, error) {
	if t == nil || cfg.UpstreamAuth != config.AuthToken {
		return nil
	}
	return t.svc.UpstreamAuthorization
}

// mount puts the token endpoint and the JWKS in front of the pipeline.
func (t *tokens) mount(pipeline http.Handler, cfg config.Config, login *auth.Basic, authz gateway.Authorizer,
	proxies []netip.Prefix, tls bool, observers []gateway.TokenObserver, logger *slog.Logger) (http.Handler, error) {
	endpoint, err := gateway.NewTokenEndpoint(gateway.TokenEndpointConfig{
		Tokens: t.svc, Logins: login, Authorizer: authz, Service: t.svc.Service(),
		Realm: cfg.Realm, Logger: logger, TrustedProxies: proxies, TLS: tls, Observers: observers,
	})
	if err != nil {
		return nil, fmt.Errorf("token endpoint: %w", err)
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case gateway.TokenPath, gateway.JWKSPath:
			endpoint.ServeHTTP(w, r)
		default:
			pipeline.ServeHTTP(w, r)
		}
	}), nil
}
