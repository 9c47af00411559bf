package token

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// IssuerConfig is one trusted external issuer of identity tokens: a CI system's OIDC
// provider, say. Exactly one of JWKSURL, JWKSFile and Discovery says where its keys are.
type IssuerConfig struct {
	// Issuer is the iss its tokens carry, exactly (an https URL for OIDC providers).
	Issuer string
	// JWKSURL is where its JSON Web Key Set is served (https).
	JWKSURL string
	// JWKSFile is a local copy of its key set.
	JWKSFile string
	// Discovery finds the key set through Issuer/.well-known/openid-configuration.
	Discovery bool
	// CAFile, when set, is a PEM bundle trusted (besides the system's roots) for its
	// discovery document and key set.
	CAFile string
	// Audience is the aud its tokens must carry for this gateway; required, so that a
	// token minted for another service is refused.
	Audience string
	// Algorithms are the JWS algorithms accepted (default RS256); never HMAC or none.
	Algorithms []string
	// UsernameClaim names the principal (default "sub"); GroupsClaim, when set, holds
	// its groups (a list of strings, or one string).
	UsernameClaim, GroupsClaim string
}

// Timings of external key sets. Keys are fetched at start and every refreshEvery; a token
// with a kid the set lacks triggers a fetch (the issuer rotated), at most once per
// refetchGap; a failed fetch is retried after a backoff doubling from a second to
// maxBackoff, during which tokens needing new keys are refused at once rather than wait.
const (
	refreshEvery = 15 * time.Minute
	refetchGap   = 10 * time.Second
	maxBackoff   = 5 * time.Minute
	fetchTimeout = 10 * time.Second
	maxDocument  = 1 << 20
)

// signingAlgs are the asymmetric JWS algorithms an external issuer may be configured with.
var signingAlgs = []string{"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512"}

// issuerKeys is one trusted issuer: its configuration, its verifier, and its key set,
// fetched and refreshed independently of every other issuer.
type issuerKeys struct {
	cfg    IssuerConfig
	parser *jwt.Parser
	client *http.Client
	now    func() time.Time
	log    *slog.Logger

	mu       sync.Mutex
	keys     []JWK
	fetched  time.Time     // last successful fetch
	notUntil time.Time     // no fetch before this (refetch gap, or backoff after failures)
	failures int           // consecutive failed fetches
	flight   chan struct{} // closed when the fetch in progress ends; nil when none
}

func newIssuerKeys(c IssuerConfig, now func() time.Time, log *slog.Logger) (*issuerKeys, error) {
	if err := c.check(); err != nil {
		return nil, err
	}
	if len(c.Algorithms) == 0 {
		c.Algorithms = []string{"RS256"}
	}
	if c.UsernameClaim == "" {
		c.UsernameClaim = "sub"
	}
	tlsConf := &tls.Config{MinVersion: tls.VersionTLS12}
	if c.CAFile != "" {
		pool, err := x509.SystemCertPool()
		if err != nil {
			pool = x509.NewCertPool()
		}
		pem, err := os.ReadFile(c.CAFile)
		if err != nil {
			return nil, fmt.Errorf("trusted issuer %s: ca_file: %w", c.Issuer, err)
		}
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("trusted issuer %s: ca_file %s holds no PEM certificate", c.Issuer, c.CAFile)
		}
		tlsConf.RootCAs = pool
	}
	ik := &issuerKeys{
		cfg: c, now: now, log: log.With("issuer", c.Issuer),
		client: &http.Client{Timeout: fetchTimeout, Transport: &http.Transport{TLSClientConfig: tlsConf, Proxy: http.ProxyFromEnvironment}},
		parser: jwt.NewParser(jwt.WithValidMethods(c.Algorithms), jwt.WithLeeway(Leeway), jwt.WithTimeFunc(now),
			jwt.WithExpirationRequired(), jwt.WithIssuer(c.Issuer), jwt.WithAudience(c.Audience)),
	}
	return ik, nil
}

// check validates a configuration; config.Validate says the same to the user first.
func (c IssuerConfig) check() error {
	var errs []error
	if c.Issuer == "" {
		errs = append(errs, errors.New("issuer is required"))
	}
	n := 0
	for _, set := range []bool{c.JWKSURL != "", c.JWKSFile != "", c.Discovery} {
		if set {
			n++
		}
	}
	if n != 1 {
		errs = append(errs, errors.New("give exactly one of jwks_url, jwks_file and discovery: true"))
	}
	if c.JWKSURL != "" && !isHTTPS(c.JWKSURL) {
		errs = append(errs, fmt.Errorf("jwks_url %q must be an https:// URL", c.JWKSURL))
	}
	if c.Discovery && !isHTTPS(c.Issuer) {
		errs = append(errs, fmt.Errorf("discovery needs an https:// issuer, not %q", c.Issuer))
	}
	if c.Audience == "" {
		errs = append(errs, errors.New("audience is required (the aud its tokens carry for this gateway)"))
	}
	for _, a := range c.Algorithms {
		if !slices.Contains(signingAlgs, a) {
			errs = append(errs, fmt.Errorf("algorithm %q: use asymmetric ones (%s)", a, strings.Join(signingAlgs, ", ")))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("trusted issuer %q: %w", c.Issuer, err)
	}
	return nil
}

func isHTTPS(s string) bool {
	u, err := url.Parse(s)
	return err == nil && u.Scheme == "https" && u.Host != ""
}

// run fetches the keys now and every refreshEvery until ctx ends.
func (ik *issuerKeys) run(ctx context.Context) {
	for {
		ik.refresh(ctx, true)
		t := time.NewTimer(refreshEvery)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
	}
}

// verify verifies an identity token of this issuer.
func (ik *issuerKeys) verify(ctx context.Context, raw string, pk peek) (*verified, error) {
	if !slices.Contains(ik.cfg.Algorithms, pk.Alg) {
		return nil, fmt.Errorf("alg %q is not accepted from %s", pk.Alg, ik.cfg.Issuer)
	}
	keys := ik.keysFor(ctx, pk.Kid)
	claims := jwt.MapClaims{}
	_, err := ik.parser.ParseWithClaims(raw, claims, func(t *jwt.Token) (any, error) {
		var ks jwt.VerificationKeySet
		for _, k := range keys {
			if (pk.Kid == "" || k.Kid == pk.Kid) && (k.Alg == "" || k.Alg == t.Method.Alg()) && k.Use != "enc" {
				pub, err := k.PublicKey()
				if err == nil {
					ks.Keys = append(ks.Keys, pub)
				}
			}
		}
		if len(ks.Keys) == 0 {
			return nil, fmt.Errorf("no key of %s with id %q", ik.cfg.Issuer, pk.Kid)
		}
		return ks, nil
	})
	if err != nil {
		return nil, err
	}
	name, _ := claims[ik.cfg.UsernameClaim].(string)
	if name == "" {
		return nil, fmt.Errorf("no string claim %q to name the principal", ik.cfg.UsernameClaim)
	}
	exp, _ := claims.GetExpirationTime() // required: the parser checked it
	return &verified{
		until:    exp.Add(Leeway),
		subject:  name,
		external: true,
		claims:   claims,
		groups:   groupsClaim(claims[ik.cfg.GroupsClaim], ik.cfg.GroupsClaim != ""),
	}, nil
}

// groupsClaim reads a groups claim: a list of strings or one string; anything else is
// no groups.
func groupsClaim(v any, configured bool) []string {
	out := []string{}
	if !configured {
		return out
	}
	switch g := v.(type) {
	case string:
		if g != "" {
			out = append(out, g)
		}
	case []any:
		for _, x := range g {
			if s, ok := x.(string); ok && s != "" {
				out = append(out, s)
			}
		}
	}
	return out
}

// keysFor returns the key set, fetching it first when it lacks kid and a fetch is
// allowed now (the issuer may have rotated). Concurrent callers share one fetch; a caller
// waits at most until its ctx ends or the fetch times out.
func (ik *issuerKeys) keysFor(ctx context.Context, kid string) []JWK {
	ik.mu.Lock()
	keys := ik.keys
	ik.mu.Unlock()
	if hasKid(keys, kid) {
		return keys
	}
	ik.refresh(ctx, false)
	ik.mu.Lock()
	defer ik.mu.Unlock()
	return ik.keys
}

func hasKid(keys []JWK, kid string) bool {
	for _, k := range keys {
		if k.Kid == kid {
			return true
		}
	}
	return false
}

// refresh fetches the key set unless a fetch is not allowed yet (scheduled refreshes
// respect only the backoff), or joins the one in progress.
func (ik *issuerKeys) refresh(ctx context.Context, scheduled bool) {
	ik.mu.Lock()
	now := ik.now()
	if ch := ik.flight; ch != nil {
		ik.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
		}
		return
	}
	if now.Before(ik.notUntil) && (!scheduled || ik.failures > 0) {
		ik.mu.Unlock()
		return
	}
	ch := make(chan struct{})
	ik.flight = ch
	ik.mu.Unlock()

	go func() { // detached from the caller: a client that leaves does not cancel the fetch
		fctx, cancel := context.WithTimeout(context.Background(), fetchTimeout)
		defer cancel()
		keys, err := ik.fetch(fctx)
		ik.mu.Lock()
		now := ik.now()
		if err != nil {
			ik.failures++
			backoff := min(time.Second<<min(ik.failures-1, 16), maxBackoff)
			ik.notUntil = now.Add(backoff)
			ik.log.Warn("trusted issuer: fetching keys failed; its tokens with new keys are refused until a retry succeeds",
				"err", err, "retry_in", backoff, "failures", ik.failures)
		} else {
			if ik.failures > 0 || len(ik.keys) != len(keys) {
				ik.log.Info("trusted issuer: keys loaded", "keys", len(keys))
			}
			ik.keys, ik.fetched, ik.failures, ik.notUntil = keys, now, 0, now.Add(refetchGap)
		}
		ik.flight = nil
		ik.mu.Unlock()
		close(ch)
	}()
	select {
	case <-ch:
	case <-ctx.Done():
	}
}

// fetch reads the key set from its file, its URL, or the URL discovery names.
func (ik *issuerKeys) fetch(ctx context.Context) ([]JWK, error) {
	var data []byte
	var err error
	switch {
	case ik.cfg.JWKSFile != "":
		data, err = os.ReadFile(ik.cfg.JWKSFile)
	case ik.cfg.JWKSURL != "":
		data, err = ik.get(ctx, ik.cfg.JWKSURL)
	default:
		data, err = ik.discover(ctx)
	}
	if err != nil {
		return nil, err
	}
	var set JWKS
	if err := json.Unmarshal(data, &set); err != nil {
		return nil, fmt.Errorf("key set: %w", err)
	}
	var keys []JWK
	for _, k := range set.Keys {
		if _, err := k.PublicKey(); err == nil && k.Use != "enc" {
			keys = append(keys, k) // oct and unreadable keys are left out
		}
	}
	if len(keys) == 0 {
		return nil, errors.New("key set holds no usable EC or RSA signing key")
	}
	return keys, nil
}

// discover reads the OpenID Connect discovery document and then the key set it names. The
// document must name the configured issuer exactly (OpenID Connect Discovery 4.3).
func (ik *issuerKeys) discover(ctx context.Context) ([]byte, error) {
	doc, err := ik.get(ctx, strings.TrimSuffix(ik.cfg.Issuer, "/")+"/.well-known/openid-configuration")
	if err != nil {
		return nil, err
	}
	var d struct {
		Issuer  string `json:"issuer"`
		JWKSURI string `json:"jwks_uri"`
	}
	if err := json.Unmarshal(doc, &d); err != nil {
		return nil, fmt.Errorf("discovery document: %w", err)
	}
	if d.Issuer != ik.cfg.Issuer {
		return nil, fmt.Errorf("discovery document names issuer %q, not %q", d.Issuer, ik.cfg.Issuer)
	}
	if !isHTTPS(d.JWKSURI) {
		return nil, fmt.Errorf("discovery document's jwks_uri %q is not https", d.JWKSURI)
	}
	return ik.get(ctx, d.JWKSURI)
}

func (ik *issuerKeys) get(ctx context.Context, u string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/json")
	resp, err := ik.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s", u, resp.Status)
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxDocument+1))
	if err != nil {
		return nil, fmt.Errorf("GET %s: %w", u, err)
	}
	if len(b) > maxDocument {
		return nil, fmt.Errorf("GET %s: larger than 1 MiB", u)
	}
	return b, nil
}
