package auth

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"strings"

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
	// Identities, if set, verifies a password that is a trusted issuer's identity token
	// (a CI job's OIDC JWT given to docker login); see Login.
	Identities IdentityVerifier
}

// Authenticate returns the anonymous principal for a request without an Authorization
// header, the user's principal for valid Basic credentials, and an error wrapping
// access.ErrBadCredentials for anything else: a wrong password, an unknown user, a malformed
// header, several Authorization headers, or another scheme (bearer tokens are not accepted
// yet). Other errors (the request was cancelled while verifying) are technical failures.
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
	return b.Login(ctx, user, pass) // login.go
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
