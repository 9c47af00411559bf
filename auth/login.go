package auth

import (
	"context"
	"errors"
	"net/netip"
	"strings"

	"github.com/portcullis/portcullis/access"
)

// IdentityVerifier verifies an identity token from a trusted issuer offered as a
// password. It returns the token's principal; an error wrapping access.ErrBadCredentials
// when the token is from a trusted issuer but does not verify; any other error when it is
// no such token, and the password is then checked against the users file. The token
// package's Service implements it.
type IdentityVerifier interface {
	VerifyIdentity(ctx context.Context, token string) (access.Principal, error)
}

// Login checks a user name and password as the token endpoint's password grant carries
// them, exactly as Authenticate checks a Basic header: the client's address for the
// throttle comes from ctx (access.WithClientIP).
func (b *Basic) Login(ctx context.Context, user, pass string) (access.Principal, error) {
	ip, _ := access.ClientIP(ctx)
	return b.login(ctx, ip, user, pass)
}

// login checks a user name and password. A password that is a trusted issuer's identity
// token stands for its holder, whatever the user name (`docker login -u ci -p
// "$OIDC_TOKEN"`); any other password is verified against the users file through the
// cache, the throttle and the verification slots (bcrypt runs once per credential and
// users-file generation). Bad credentials are an *access.BadCredentialsError naming the
// account claimed, and count as failed logins; other errors are a throttle's refusal or
// technical failures (the context ended while verifying).
func (b *Basic) login(ctx context.Context, ip netip.Addr, user, pass string) (access.Principal, error) {
	if b.Users == nil {
		return access.Principal{}, errors.New("basic: no users file configured") // fail closed
	}
	if b.Identities != nil && looksLikeJWT(pass) {
		p, err := b.Identities.VerifyIdentity(ctx, pass)
		switch {
		case err == nil:
			return p, nil
		case errors.Is(err, access.ErrBadCredentials):
			if access.ClaimedAccount(err) == "" {
				err = &access.BadCredentialsError{Account: user, Err: err}
			}
			if b.Limiter != nil {
				b.Limiter.Failed(ip, user)
			}
			if b.Metrics != nil {
				b.Metrics.LoginFailed()
			}
			return access.Principal{}, err
		}
	}
	return b.verifyPassword(ctx, ip, user, pass)
}

// looksLikeJWT reports whether a password has the shape of a compact JWS with a JSON
// header ("eyJ" is the base64url of `{"`): only those are offered to the IdentityVerifier.
func looksLikeJWT(s string) bool {
	return strings.HasPrefix(s, "eyJ") && strings.Count(s, ".") == 2
}
