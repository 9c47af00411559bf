package auth

import (
	"context"
	"fmt"
	"net/http"
	"strings"

	"github.com/portcullis/portcullis/access"
)

// TokenVerifier verifies a bearer token and returns the principal it stands for (with
// Limit set to an access token's access claim), or an error wrapping
// access.ErrBadCredentials saying why it does not verify. The token package's Service
// implements it.
type TokenVerifier interface {
	VerifyToken(ctx context.Context, token string) (access.Principal, error)
}

// Bearer authenticates in token mode (--auth token): an `Authorization: Bearer` token
// through Tokens, and Basic credentials as Basic does, so curl and scripts keep working
// with a password; each is verified once and then found in a cache.
type Bearer struct {
	Tokens TokenVerifier
	Basic  *Basic
}

// Authenticate returns the anonymous principal without an Authorization header, the
// token's principal for a bearer token, and defers everything else to Basic (which
// refuses other schemes and several headers).
func (b *Bearer) Authenticate(ctx context.Context, r *http.Request) (access.Principal, error) {
	values := r.Header.Values("Authorization")
	if len(values) != 1 {
		return b.Basic.Authenticate(ctx, r)
	}
	scheme, rest, _ := strings.Cut(values[0], " ")
	if !strings.EqualFold(scheme, "Bearer") {
		return b.Basic.Authenticate(ctx, r)
	}
	tok := strings.TrimLeft(rest, " ")
	if tok == "" {
		return access.Principal{}, fmt.Errorf("bearer: empty token: %w", access.ErrBadCredentials)
	}
	return b.Tokens.VerifyToken(ctx, tok)
}

// Challenge is Basic's challenge; in token mode the gateway sends the bearer challenge
// instead (gateway.BearerChallenge).
func (b *Bearer) Challenge(r *http.Request) string { return b.Basic.Challenge(r) }

// Identify is Basic's for Basic credentials; a bearer token is not looked at (verifying
// one is what Authenticate is for), so a refused request that carried one is anonymous.
func (b *Bearer) Identify(r *http.Request) (access.Principal, string, bool) {
	if scheme, _, _ := strings.Cut(r.Header.Get("Authorization"), " "); strings.EqualFold(scheme, "Bearer") {
		return access.Anonymous(), "", false
	}
	return b.Basic.Identify(r)
}
