package auth

import (
	"context"
	"errors"
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

// Login checks a user name and password, as a Basic header or the token endpoint's
// password grant carries them. A password that is a trusted issuer's identity token
// stands for its holder, whatever the user name (`docker login -u ci -p "$OIDC_TOKEN"`);
// any other password is verified against the users file through the cache (bcrypt runs
// once per credential and users-file generation). Bad credentials are an
// *access.BadCredentialsError naming the account claimed; other errors are technical
// failures (the context ended while verifying).
func (b *Basic) Login(ctx context.Context, user, pass string) (access.Principal, error) {
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
			return access.Principal{}, err
		}
	}
	ok, err := b.Users.verify(ctx, user, pass)
	if err != nil {
		return access.Principal{}, err
	}
	if !ok {
		// The user name stays out of the error text (people type passwords into it); it
		// is carried apart, for attribution and throttling.
		return access.Principal{}, &access.BadCredentialsError{Account: user, Err: errWrongPassword}
	}
	p := access.Principal{Name: user, Method: access.MethodBasic, Groups: []string{}}
	if b.Groups != nil {
		p.Groups = b.Groups.For(user)
	}
	return p, nil
}

// looksLikeJWT reports whether a password has the shape of a compact JWS with a JSON
// header ("eyJ" is the base64url of `{"`): only those are offered to the IdentityVerifier.
func looksLikeJWT(s string) bool {
	return strings.HasPrefix(s, "eyJ") && strings.Count(s, ".") == 2
}
