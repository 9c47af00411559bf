package auth

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"strings"
	"time"

	"github.com/portcullis/portcullis/access"
)

// DefaultRealm is the realm Basic challenges name when Basic.Realm is empty.
const DefaultRealm = "portcullis"

// Basic authenticates HTTP Basic credentials (RFC 7617) against an htpasswd file.
type Basic struct {
	// Users verifies passwords; required.
	Users *Htpasswd
	// Groups, if set, gives each principal its groups.
	Groups *Groups
	// Realm is named in the challenge; DefaultRealm when empty.
	Realm string
	// Limiter, if set, throttles password verifications by client address and account
	// (a *Throttle). Credentials answered from the cache never reach it.
	Limiter Limiter
	// RefusalDelay, if positive, holds a login the Limiter refuses that long (at most its
	// RetryAfter, and no longer than the request lives) before the refusal is returned: a
	// guesser waits for each 429 instead of sending thousands a second, so guessing costs
	// the gateway next to nothing and other clients keep their latency. The held request
	// costs what an idle connection costs, and connections per address are capped.
	RefusalDelay time.Duration
	// Metrics, if set, counts failed and throttled logins.
	Metrics LoginMetrics
	// Identities, if set, verifies a password that is a trusted issuer's identity token
	// (a CI job's OIDC JWT given to docker login); see Login.
	Identities IdentityVerifier
}

// Authenticate returns the anonymous principal for a request without an Authorization
// header, the user's principal for valid Basic credentials, and an error wrapping
// access.ErrBadCredentials for anything else: a wrong password, an unknown user, a malformed
// header, several Authorization headers, or another scheme (bearer tokens are not accepted
// yet). A verification the Limiter refuses, or that finds no free verification slot, is an
// *access.ThrottledError (access.ErrThrottled). Other errors (the request was cancelled
// while verifying) are technical failures.
func (b *Basic) Authenticate(ctx context.Context, r *http.Request) (access.Principal, error) {
	values := r.Header.Values("Authorization")
	switch len(values) {
	case 0:
		return access.Anonymous(), nil
	case 1:
	default:
		return access.Principal{}, fmt.Errorf("basic: several Authorization headers: %w", access.ErrBadCredentials)
	}
	if b.Users == nil {
		return access.Principal{}, errors.New("basic: no users file configured") // fail closed
	}
	user, pass, err := parseBasic(values[0])
	if err != nil {
		return access.Principal{}, fmt.Errorf("basic: %w: %w", err, access.ErrBadCredentials)
	}
	return b.login(ctx, clientIP(r), user, pass) // login.go
}

// verifyPassword checks a password against the users file, through the cache, the
// throttle and the verification slots.
func (b *Basic) verifyPassword(ctx context.Context, ip netip.Addr, user, pass string) (access.Principal, error) {
	// Credentials that verified before pass at once: a client whose credentials are
	// right is never held back by the throttle or the verification slots (issue 12).
	if b.Users.cachedValid(user, pass) {
		return b.principal(user), nil
	}
	if b.Limiter != nil {
		if err := b.Limiter.Allow(ip, user); err != nil {
			b.countThrottled(err)
			b.holdRefusal(ctx, err)
			return access.Principal{}, err
		}
	}
	ok, err := b.Users.verify(ctx, user, pass)
	if errors.Is(err, errBusy) {
		err := &access.ThrottledError{RetryAfter: time.Second, Account: user, Reason: "busy"}
		b.countThrottled(err)
		return access.Principal{}, err
	}
	if err != nil {
		return access.Principal{}, err
	}
	if !ok {
		if b.Limiter != nil {
			b.Limiter.Failed(ip, user)
		}
		if b.Metrics != nil {
			b.Metrics.LoginFailed()
		}
		// The user name stays out of the error text (people type passwords into it); it
		// is carried apart, for attribution and throttling.
		return access.Principal{}, &access.BadCredentialsError{Account: user, Err: errWrongPassword}
	}
	if b.Limiter != nil {
		b.Limiter.Succeeded(ip, user)
	}
	return b.principal(user), nil
}

// Identify says who a request's Basic credentials name without verifying anything that
// costs: the principal when they are in the cache of verified credentials (ok), else the
// account they claim (unverified), or "" when there are none. The gateway calls it to
// attribute requests it refuses before authenticating them (issue 12).
func (b *Basic) Identify(r *http.Request) (p access.Principal, account string, ok bool) {
	values := r.Header.Values("Authorization")
	if len(values) != 1 || b.Users == nil {
		return access.Anonymous(), "", false
	}
	user, pass, err := parseBasic(values[0])
	if err != nil {
		return access.Anonymous(), "", false
	}
	if !b.Users.cachedValid(user, pass) {
		return access.Anonymous(), user, false
	}
	return b.principal(user), user, true
}

func (b *Basic) principal(user string) access.Principal {
	p := access.Principal{Name: user, Method: access.MethodBasic, Groups: []string{}}
	if b.Groups != nil {
		p.Groups = b.Groups.For(user)
	}
	return p
}

// holdRefusal waits RefusalDelay, or the refusal's RetryAfter if that is shorter, or until
// ctx ends.
func (b *Basic) holdRefusal(ctx context.Context, err error) {
	d := b.RefusalDelay
	var te *access.ThrottledError
	if errors.As(err, &te) && te.RetryAfter < d {
		d = te.RetryAfter
	}
	if d <= 0 {
		return
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}

func (b *Basic) countThrottled(err error) {
	var te *access.ThrottledError
	if b.Metrics != nil && errors.As(err, &te) {
		b.Metrics.LoginThrottled(te.Reason)
	}
}

// clientIP is the client's address as the gateway established it, or the peer's.
func clientIP(r *http.Request) netip.Addr {
	if ip, ok := access.ClientIP(r.Context()); ok {
		return ip
	}
	ap, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil {
		return netip.Addr{}
	}
	return ap.Addr().Unmap()
}

// Challenge returns the WWW-Authenticate value asking for Basic credentials.
func (b *Basic) Challenge(*http.Request) string {
	realm := b.Realm
	if realm == "" {
		realm = DefaultRealm
	}
	return `Basic realm=` + quote(realm)
}

// Errors parseBasic returns; they say what was wrong with the header, never what it held.
var (
	errNotBasic   = errors.New("authorization scheme is not Basic")
	errMalformed  = errors.New("malformed Basic credentials")
	errNoColon    = errors.New("no colon between user and password in Basic credentials")
	errEmptyUser  = errors.New("empty user name in Basic credentials")
	errUserNotOK  = errors.New("user name in Basic credentials contains a control character")
	errEmptyValue = errors.New("empty Authorization header")

	errWrongPassword = errors.New("basic: wrong user or password")
)

// parseBasic reads an Authorization header value strictly: the scheme "Basic" in any case,
// one or more spaces, then standard padded base64 (canonical: no stray bits, no spaces or
// line breaks) of "user:password" with a non-empty user free of control characters. The
// password may contain colons; it is everything after the first one (RFC 7617 section 2).
func parseBasic(header string) (user, pass string, err error) {
	if header == "" {
		return "", "", errEmptyValue
	}
	scheme, rest, _ := strings.Cut(header, " ")
	if !strings.EqualFold(scheme, "Basic") {
		return "", "", errNotBasic
	}
	enc := strings.TrimLeft(rest, " ")
	if enc == "" {
		return "", "", errMalformed
	}
	if strings.ContainsAny(enc, "\r\n") {
		// The decoder skips CR and LF even in strict mode; refuse them.
		return "", "", errMalformed
	}
	// Decode into a stack buffer for the usual short credentials: one allocation (the
	// string) per request instead of two.
	var small [192]byte
	buf := small[:]
	if n := strictBase64.DecodedLen(len(enc)); n > len(small) {
		buf = make([]byte, n)
	}
	n, err := strictBase64.Decode(buf, []byte(enc))
	if err != nil {
		return "", "", errMalformed
	}
	user, pass, ok := strings.Cut(string(buf[:n]), ":")
	if !ok {
		return "", "", errNoColon
	}
	if user == "" {
		return "", "", errEmptyUser
	}
	if validUser(user) != nil {
		return "", "", errUserNotOK
	}
	return user, pass, nil
}

// strictBase64 refuses non-canonical encodings, so a header has exactly one spelling.
var strictBase64 = base64.StdEncoding.Strict()

// quote renders s as an RFC 9110 quoted-string: backslash and double quote are escaped, and
// control characters (which could split the header) are dropped.
func quote(s string) string {
	var b strings.Builder
	b.Grow(len(s) + 2)
	b.WriteByte('"')
	for _, c := range []byte(s) {
		switch {
		case c == '"' || c == '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		case c < 0x20 && c != '\t', c == 0x7f:
			// dropped
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte('"')
	return b.String()
}
