package token

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"
	"unsafe"

	"github.com/golang-jwt/jwt/v5"
	lru "github.com/hashicorp/golang-lru/v2"

	"github.com/portcullis/portcullis/access"
)

// Defaults of Config.
const (
	DefaultIssuer     = "portcullis"
	DefaultTTL        = 5 * time.Minute
	DefaultRefreshTTL = 30 * 24 * time.Hour
	defaultCacheSize  = 4096
)

// Stamps says whether a user still has the password entry a refresh token was bound
// to: a fingerprint of the user's htpasswd entry, which changes with the password, and
// false once the user is gone. auth.Htpasswd implements it.
type Stamps interface {
	Stamp(user string) ([32]byte, bool)
}

// Groups gives a password user's groups when one of their tokens is used, so that a
// change to the groups file takes effect at once. auth.Groups implements it.
type Groups interface {
	For(user string) []string
}

// Config is what New needs. Keys and Service are required.
type Config struct {
	Keys *Keys
	// Issuer is the iss of every token minted here (what a registry's auth.token.issuer
	// must say). Default DefaultIssuer. It is also the audience of refresh tokens, so it
	// must differ from Service: a refresh token is then worthless to a registry.
	Issuer string
	// Service is the aud of access tokens: the service name clients send to /token and a
	// registry's auth.token.service.
	Service string
	// TTL is an access token's lifetime (DefaultTTL); RefreshTTL a refresh token's
	// (DefaultRefreshTTL).
	TTL, RefreshTTL time.Duration
	// Users binds refresh tokens to password entries; without it none are issued.
	Users Stamps
	// Groups gives password users' groups at each use of their tokens; nil: none.
	Groups Groups
	// Trusted are the external issuers whose identity tokens are accepted (CI jobs).
	Trusted []IssuerConfig
	// X5C puts the signing key's certificate chain (x5c) in the header of the access
	// tokens clients get (from /token, and refreshed): what a registry that verifies them
	// itself against the token CA needs (distribution 2.8 reads our kid as a libtrust key
	// id, which it is not). Off, a token for one scope is about 420 bytes rather than
	// 1.1 KiB on every request; the gateway verifies both by kid.
	// Tokens minted for the upstream always carry x5c, refresh tokens never (no registry
	// accepts them).
	X5C bool
	// CacheSize bounds the verified tokens remembered (default 4096).
	CacheSize int
	// Now is the clock (time.Now when nil).
	Now func() time.Time
	// Logger receives external issuers' key fetches and failures; nil discards them.
	Logger *slog.Logger
}

// Service mints and verifies tokens. It is safe for concurrent use.
type Service struct {
	keys       *Keys
	issuer     string
	service    string
	ttl        time.Duration
	refreshTTL time.Duration
	x5c        bool
	users      Stamps
	groups     Groups
	now        func() time.Time
	log        *slog.Logger

	accessParser, refreshParser *jwt.Parser
	trusted                     map[string]*issuerKeys
	cache                       *lru.Cache[[sha256.Size]byte, *verified]
	upstream                    *lru.Cache[string, upstreamToken]
}

// New validates cfg and returns the service.
func New(cfg Config) (*Service, error) {
	if cfg.Keys == nil || cfg.Service == "" {
		return nil, errors.New("token: Config needs Keys and Service")
	}
	if cfg.Issuer == "" {
		cfg.Issuer = DefaultIssuer
	}
	if cfg.Issuer == cfg.Service {
		return nil, fmt.Errorf("token: issuer and service are both %q; they must differ (refresh tokens are addressed to the issuer)", cfg.Issuer)
	}
	if cfg.TTL <= 0 {
		cfg.TTL = DefaultTTL
	}
	if cfg.RefreshTTL <= 0 {
		cfg.RefreshTTL = DefaultRefreshTTL
	}
	if cfg.CacheSize <= 0 {
		cfg.CacheSize = defaultCacheSize
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	s := &Service{
		keys: cfg.Keys, issuer: cfg.Issuer, service: cfg.Service, ttl: cfg.TTL, refreshTTL: cfg.RefreshTTL, x5c: cfg.X5C,
		users: cfg.Users, groups: cfg.Groups, now: cfg.Now, log: orDiscard(cfg.Logger),
		trusted: map[string]*issuerKeys{},
	}
	own := func(aud string) *jwt.Parser {
		return jwt.NewParser(jwt.WithValidMethods([]string{ES256, RS256}), jwt.WithLeeway(Leeway),
			jwt.WithTimeFunc(s.now), jwt.WithExpirationRequired(), jwt.WithIssuer(s.issuer), jwt.WithAudience(aud))
	}
	s.accessParser, s.refreshParser = own(s.service), own(s.issuer)
	for _, ic := range cfg.Trusted {
		ik, err := newIssuerKeys(ic, s.now, s.log)
		if err != nil {
			return nil, err
		}
		if ic.Issuer == s.issuer {
			return nil, fmt.Errorf("token: trusted issuer %q is this gateway's own issuer name", ic.Issuer)
		}
		if _, dup := s.trusted[ic.Issuer]; dup {
			return nil, fmt.Errorf("token: trusted issuer %q is listed twice", ic.Issuer)
		}
		s.trusted[ic.Issuer] = ik
	}
	var err error
	if s.cache, err = lru.New[[sha256.Size]byte, *verified](cfg.CacheSize); err != nil {
		return nil, err
	}
	if s.upstream, err = lru.New[string, upstreamToken](1024); err != nil {
		return nil, err
	}
	return s, nil
}

// Run fetches every trusted issuer's keys in the background and keeps them fresh until
// ctx ends. Issuers are independent: one that is down delays nobody else.
func (s *Service) Run(ctx context.Context) {
	for _, ik := range s.trusted {
		go ik.run(ctx)
	}
	<-ctx.Done()
}

// RefreshIssuers fetches every trusted issuer's key set now (SIGHUP), each as its backoff
// allows; it returns when they are done or ctx ends.
func (s *Service) RefreshIssuers(ctx context.Context) {
	var wg sync.WaitGroup
	for _, ik := range s.trusted {
		wg.Go(func() { ik.refresh(ctx, true) })
	}
	wg.Wait()
}

// Service is the service name access tokens are minted for.
func (s *Service) Service() string { return s.service }

// Issuer is the iss of the tokens minted here.
func (s *Service) Issuer() string { return s.issuer }

// Keys are the signing keys.
func (s *Service) Keys() *Keys { return s.keys }

// TTL is an access token's lifetime.
func (s *Service) TTL() time.Duration { return s.ttl }

// X5C reports whether the access tokens clients get carry x5c (Config.X5C).
func (s *Service) X5C() bool { return s.x5c }

// ErrTooLarge is why Mint refuses a token that would be larger than MaxTokenSize (an
// identity token with huge claims, which the verifier would refuse): the error wraps
// access.ErrBadCredentials, since those credentials cannot be used here.
var ErrTooLarge = errors.New("token: the token would be larger than 8 KiB (identity claims too large)")

// Mint signs an access token for p granting exactly granted, valid for TTL, with x5c in
// its header when Config.X5C says so. The anonymous principal's token has no subject; a
// principal authenticated by a trusted issuer's identity token (method bearer) carries its
// claims and groups along.
func (s *Service) Mint(p access.Principal, granted []access.Resource) (string, error) {
	tok, _, err := s.mint(p, granted, s.ttl, s.x5c)
	return tok, err
}

func (s *Service) mint(p access.Principal, granted []access.Resource, ttl time.Duration, x5c bool) (string, time.Time, error) {
	now := s.now().Truncate(time.Second)
	if granted == nil {
		granted = []access.Resource{}
	}
	c := &Claims{
		Issuer: s.issuer, Subject: p.Name, Audience: s.service,
		IssuedAt: now.Unix(), ExpiresAt: now.Add(ttl).Unix(),
		ID: newJTI(), Access: granted,
	}
	if p.IsAnonymous() {
		c.Subject = ""
	}
	if p.Method == access.MethodBearer {
		c.Identity, c.Groups = p.Claims, p.Groups
	}
	tok, err := s.sign(c, x5c)
	if errors.Is(err, ErrTooLarge) {
		err = &access.BadCredentialsError{Account: p.Name, Err: err}
	}
	return tok, now, err
}

// sign signs c with the current key. The header is alg and kid (the JWK thumbprint, by
// which the gateway and distribution v3 find the key), and with x5c the key's
// certificate chain from the token CA (what distribution 2.8 verifies against its
// rootcertbundle: about 600 bytes of a token's 1.1 KiB, sent with every request). No
// typ: it is optional (RFC 7519 5.1) and no registry reads it.
func (s *Service) sign(c *Claims, x5c bool) (string, error) {
	k := s.keys.signing()
	t := jwt.NewWithClaims(k.method, c)
	delete(t.Header, "typ")
	t.Header["kid"] = k.kid
	if x5c {
		t.Header["x5c"] = k.x5c
	}
	out, err := t.SignedString(k.signer)
	if err != nil {
		return "", fmt.Errorf("token: signing: %w", err)
	}
	if len(out) > MaxTokenSize {
		return "", ErrTooLarge
	}
	return out, nil
}

// newJTI is a token's jti: 96 random bits, unique enough for tokens that live minutes
// (rand.Text's 130 bits took 10 more bytes on every request).
func newJTI() string {
	var b [12]byte
	rand.Read(b[:])
	return b64.EncodeToString(b[:])
}

// verified is what a token was found to say, remembered by its hash until it expires.
type verified struct {
	until    time.Time // exp plus Leeway
	subject  string
	external bool // a trusted issuer's identity token, presented as it is
	claims   map[string]any
	groups   []string         // from the token; nil for password users (asked at each use)
	limit    *access.Decision // the access claim; nil for identity tokens
}

// principal builds the principal a verified token stands for now.
func (s *Service) principal(v *verified) access.Principal {
	if v.subject == "" {
		p := access.Anonymous()
		p.Limit = v.limit
		return p
	}
	p := access.Principal{Name: v.subject, Method: access.MethodBearer, Claims: v.claims, Groups: v.groups, Limit: v.limit}
	if v.groups == nil {
		p.Groups = []string{}
		if s.groups != nil {
			p.Groups = s.groups.For(v.subject)
		}
	}
	return p
}

// ErrUntrustedIssuer says a JWT offered as an identity token is from no trusted issuer:
// not a verdict on the credentials, which may be a password that merely looks like one.
var ErrUntrustedIssuer = errors.New("token: not from a trusted issuer")

// VerifyToken verifies a bearer token: an access token minted here, or an identity token
// from a trusted issuer. It returns the principal the token stands for: for an access
// token, one whose Limit is the token's access claim. A token that does not verify is an
// error wrapping access.ErrBadCredentials (an *access.BadCredentialsError naming the
// subject it claimed) whose text says why, for the log. A token seen before costs a hash
// and a cache lookup, no signature check, until it expires.
func (s *Service) VerifyToken(ctx context.Context, raw string) (access.Principal, error) {
	v, err := s.verify(ctx, raw, true)
	if err != nil {
		return access.Principal{}, err
	}
	return s.principal(v), nil
}

// VerifyIdentity verifies a trusted issuer's identity token given as a password (docker
// login -u anything -p "$OIDC_TOKEN"). ErrUntrustedIssuer, unwrapped, means the password
// is no such token; other failures wrap access.ErrBadCredentials.
func (s *Service) VerifyIdentity(ctx context.Context, raw string) (access.Principal, error) {
	v, err := s.verify(ctx, raw, false)
	if err != nil {
		return access.Principal{}, err
	}
	return s.principal(v), nil
}

func (s *Service) verify(ctx context.Context, raw string, own bool) (*verified, error) {
	if len(raw) > MaxTokenSize {
		return nil, &access.BadCredentialsError{Err: errTooLarge}
	}
	now := s.now()
	key := hashToken(raw)
	if v, ok := s.cache.Get(key); ok && now.Before(v.until) && (own || v.external) {
		return v, nil
	}
	pk, err := readToken(raw)
	if err != nil {
		if !own {
			return nil, ErrUntrustedIssuer
		}
		return nil, &access.BadCredentialsError{Err: err}
	}
	var v *verified
	switch ik := s.trusted[pk.Issuer]; {
	case ik != nil:
		v, err = ik.verify(ctx, raw, pk)
	case !own:
		return nil, ErrUntrustedIssuer
	case pk.Issuer == s.issuer:
		v, err = s.verifyAccess(raw)
	default:
		err = fmt.Errorf("issuer %q is neither this gateway nor a trusted issuer", pk.Issuer)
	}
	if err != nil {
		return nil, &access.BadCredentialsError{Account: pk.Subject, Err: fmt.Errorf("bearer token: %w", err)}
	}
	s.cache.Add(key, v)
	return v, nil
}

// hashToken is the cache key of a token: its SHA-256, so the cache holds no token, taken
// over the string's own bytes (SHA-256 only reads them) rather than a copy: a token is
// up to 1.1 KiB, hashed on every request.
func hashToken(raw string) [sha256.Size]byte {
	return sha256.Sum256(unsafe.Slice(unsafe.StringData(raw), len(raw)))
}

// verifyAccess verifies an access token minted here: one of our keys, our issuer, our
// service as the audience, within its validity (Leeway either side).
func (s *Service) verifyAccess(raw string) (*verified, error) {
	var c Claims
	if _, err := s.accessParser.ParseWithClaims(raw, &c, s.ownKey); err != nil {
		return nil, err
	}
	v := &verified{
		until:   time.Unix(c.ExpiresAt, 0).Add(Leeway),
		subject: c.Subject,
		limit:   &access.Decision{Granted: c.Access},
	}
	if c.Identity != nil {
		v.claims, v.groups = c.Identity, c.Groups
		if v.groups == nil {
			v.groups = []string{}
		}
	}
	return v, nil
}

// ownKey is the jwt key function for tokens minted here: the key the kid names, if it
// may still verify, and only for its own algorithm.
func (s *Service) ownKey(t *jwt.Token) (any, error) {
	kid, _ := t.Header["kid"].(string)
	k := s.keys.lookup(kid)
	if k == nil {
		return nil, fmt.Errorf("unknown key id %q", kid)
	}
	if t.Method.Alg() != k.alg {
		return nil, fmt.Errorf("alg %s does not fit key %q (%s)", t.Method.Alg(), kid, k.alg)
	}
	return k.public, nil
}

// MarshalJWKS is the JSON of the key set that verifies the tokens minted here now
// (Keys.JWKS), as /.well-known/jwks.json serves it.
func (s *Service) MarshalJWKS() ([]byte, error) { return json.Marshal(s.keys.JWKS()) }
