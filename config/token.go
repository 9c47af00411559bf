package config

import (
	"fmt"
	"net/url"
	"os"
	"slices"
	"strings"
	"time"
)

// tokenAlgs are the accepted signing algorithms of trusted issuers' tokens: asymmetric
// only (HMAC would need a shared secret, and invites algorithm confusion).
var tokenAlgs = []string{"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512"}

// tokenProblems checks the token settings (issue 10), each problem naming its key.
func (c Config) tokenProblems() []error {
	var errs []error
	bad := func(key, format string, args ...any) {
		errs = append(errs, problemf(Source{}, key, format, args...))
	}
	plain := func(s string) bool { return s != "" && !strings.ContainsAny(s, "\"\\ \t\r\n") }

	switch c.Auth {
	case AuthBasic, AuthToken:
	default:
		bad("auth", "%q: use basic or token", c.Auth)
	}
	if c.TokenRealm != "" {
		u, err := url.Parse(c.TokenRealm)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || !plain(c.TokenRealm) {
			bad("token_realm", "%q must be an absolute URL such as https://registry.example.com/token", c.TokenRealm)
		}
	}
	if !plain(c.TokenServiceName()) {
		bad("token_service", "%q must be non-empty, without spaces, quotes or backslashes", c.TokenServiceName())
	}
	if !plain(c.TokenIssuer) {
		bad("token_issuer", "%q must be non-empty, without spaces, quotes or backslashes", c.TokenIssuer)
	} else if c.TokenIssuer == c.TokenServiceName() {
		bad("token_issuer", "%q is also the token service name; they must differ (refresh tokens are addressed to the issuer)", c.TokenIssuer)
	}
	if c.TokenTTL < 10*time.Second || c.TokenTTL > 24*time.Hour {
		bad("token_ttl", "%v: use between 10s and 24h (5m is usual)", c.TokenTTL)
	}
	if c.RefreshTTL < c.TokenTTL {
		bad("refresh_ttl", "%v is shorter than token_ttl %v", c.RefreshTTL, c.TokenTTL)
	}
	switch c.TokenAlg {
	case "ES256", "RS256":
	default:
		bad("token_alg", "%q: use ES256 or RS256", c.TokenAlg)
	}
	if c.TokenKey != "" {
		if _, err := os.Stat(c.TokenKey); err != nil {
			bad("token_key", "%v", err)
		}
	}
	switch c.UpstreamAuth {
	case "none":
	case AuthToken:
		if c.Upstream == "" {
			bad("upstream_auth", "token needs --upstream (tokens for the bundled registry would be pointless)")
		}
	default:
		bad("upstream_auth", "%q: use none or token", c.UpstreamAuth)
	}
	seen := map[string]bool{}
	for i, ti := range c.TrustedIssuers {
		entry := func(format string, args ...any) {
			bad("trusted_issuers", "entry %d: %s", i+1, fmt.Sprintf(format, args...))
		}
		if ti.Issuer == "" {
			entry("issuer is required")
		} else if seen[ti.Issuer] {
			entry("issuer %q is listed twice", ti.Issuer)
		}
		seen[ti.Issuer] = true
		if ti.Issuer == c.TokenIssuer {
			entry("issuer %q is this gateway's own token_issuer", ti.Issuer)
		}
		n := 0
		for _, set := range []bool{ti.JWKSURL != "", ti.JWKSFile != "", ti.Discovery} {
			if set {
				n++
			}
		}
		if n != 1 {
			entry("give exactly one of jwks_url, jwks_file and discovery: true")
		}
		if ti.JWKSURL != "" && !isHTTPSURL(ti.JWKSURL) {
			entry("jwks_url %q must be an https:// URL", ti.JWKSURL)
		}
		if ti.Discovery && !isHTTPSURL(ti.Issuer) {
			entry("discovery needs an https:// issuer, not %q", ti.Issuer)
		}
		for _, f := range []struct{ name, path string }{{"jwks_file", ti.JWKSFile}, {"ca_file", ti.CAFile}} {
			if f.path != "" {
				if _, err := os.Stat(f.path); err != nil {
					entry("%s: %v", f.name, err)
				}
			}
		}
		if ti.Audience == "" {
			entry("audience is required: the aud its tokens carry for this gateway")
		}
		for _, a := range ti.Algorithms {
			if !slices.Contains(tokenAlgs, a) {
				entry("algorithm %q: use %s", a, strings.Join(tokenAlgs, ", "))
			}
		}
	}
	return errs
}

func isHTTPSURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && u.Scheme == "https" && u.Host != ""
}
