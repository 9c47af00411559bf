package token

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"errors"
	"fmt"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/portcullis/portcullis/access"
)

// MintRefresh signs a refresh token for a user who logged in with a password: good for
// RefreshTTL, reusable (docker keeps it as its identity token and sends it again and
// again; rotating it breaks docker login, moby#39718), addressed to the issuer rather
// than the service so no registry accepts it, and bound to the user's password entry.
// Anyone who did not log in with a password gets none (""): the anonymous principal, and
// holders of identity tokens, whose own token a refresh token must not outlive (they log
// in again with a fresh one).
func (s *Service) MintRefresh(p access.Principal) (string, error) {
	if p.Method != access.MethodBasic || p.Name == "" || s.users == nil {
		return "", nil
	}
	stamp, ok := s.users.Stamp(p.Name)
	if !ok {
		return "", nil
	}
	now := s.now().Truncate(time.Second)
	c := &Claims{
		Issuer: s.issuer, Subject: p.Name, Audience: s.issuer,
		IssuedAt: now.Unix(), ExpiresAt: now.Add(s.refreshTTL).Unix(),
		ID: newJTI(), Access: []access.Resource{},
		Binding: binding(s.keys.signing().bind, p.Name, stamp),
	}
	return s.sign(c, false) // no registry accepts it: no x5c
}

// Redeem verifies a refresh token and returns the user it stands for, as a password login
// would (method basic, the user's groups now). It fails, wrapping
// access.ErrBadCredentials, when the token does not verify or has expired, and when its
// user has been removed or has a new password since it was issued.
func (s *Service) Redeem(_ context.Context, raw string) (access.Principal, error) {
	pk, err := readToken(raw)
	if err != nil {
		return access.Principal{}, &access.BadCredentialsError{Err: fmt.Errorf("refresh token: %w", err)}
	}
	fail := func(err error) (access.Principal, error) {
		return access.Principal{}, &access.BadCredentialsError{Account: pk.Subject, Err: fmt.Errorf("refresh token: %w", err)}
	}
	if pk.Issuer != s.issuer {
		return fail(fmt.Errorf("issuer %q is not this gateway", pk.Issuer))
	}
	var c Claims
	t, err := s.refreshParser.ParseWithClaims(raw, &c, s.ownKey)
	if err != nil {
		return fail(err)
	}
	if c.Subject == "" || c.Binding == "" || s.users == nil {
		return fail(errors.New("not a refresh token"))
	}
	stamp, ok := s.users.Stamp(c.Subject)
	if !ok {
		return fail(errors.New("the user is no longer in the users file"))
	}
	kid, _ := t.Header["kid"].(string)
	k := s.keys.lookup(kid) // ownKey found it a moment ago
	if k == nil || !hmac.Equal([]byte(binding(k.bind, c.Subject, stamp)), []byte(c.Binding)) {
		return fail(errors.New("the user's password has changed since it was issued"))
	}
	p := access.Principal{Name: c.Subject, Method: access.MethodBasic, Groups: []string{}}
	if s.groups != nil {
		p.Groups = s.groups.For(c.Subject)
	}
	return p, nil
}

// binding is HMAC-SHA256(key secret, user NUL stamp), truncated to 128 bits: what a refresh
// token carries of the password entry. It reveals nothing of the entry (the key is
// secret, so not even a weak unsalted hash can be tested against it offline) and changes
// whenever the entry does.
func binding(secret []byte, user string, stamp [32]byte) string {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(user))
	m.Write([]byte{0})
	m.Write(stamp[:])
	return b64.EncodeToString(m.Sum(nil)[:16])
}

var _ jwt.Keyfunc = (*Service)(nil).ownKey
