package token

import (
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/portcullis/portcullis/access"
)

// Claims are the claims of the tokens this package mints. The registered ones and access
// are the Docker registry token spec's (distribution's ClaimSet): aud is one string,
// which is all distribution 2.8 reads (v3 reads a string or a list), and access is what
// was granted. The private ones are the package's own; registries ignore them.
//
// Every byte rides on every request, so a token holds what registries read and little
// more: iss, aud, exp and access (what distribution 2.8 and v3 check, with nbf, which an
// absent one passes), sub (the user they log; none for the anonymous), iat and a short
// jti. No nbf, which would equal iat. Tokens minted before had one, and typ and x5c in
// the header; they verify alike (nbf is checked when present).
type Claims struct {
	Issuer    string            `json:"iss"`
	Subject   string            `json:"sub,omitempty"`
	Audience  string            `json:"aud"`
	ExpiresAt int64             `json:"exp"`
	NotBefore int64             `json:"nbf,omitempty"`
	IssuedAt  int64             `json:"iat"`
	ID        string            `json:"jti"`
	Access    []access.Resource `json:"access"`
	// Binding, in a refresh token, ties it to the password entry its user had when it
	// was issued (see binding): a new password or a removed user makes it worthless.
	Binding string `json:"pwd,omitempty"`
	// Identity and Groups, in an access token minted for the holder of a trusted
	// issuer's identity token, are that token's verified claims and groups, so that the
	// policy sees the same principal when the access token comes back.
	Identity map[string]any `json:"identity,omitempty"`
	Groups   []string       `json:"groups,omitempty"`
}

var _ jwt.Claims = (*Claims)(nil)

func numericDate(s int64) (*jwt.NumericDate, error) {
	if s == 0 {
		return nil, nil
	}
	return jwt.NewNumericDate(time.Unix(s, 0)), nil
}

// GetExpirationTime implements jwt.Claims.
func (c *Claims) GetExpirationTime() (*jwt.NumericDate, error) { return numericDate(c.ExpiresAt) }

// GetIssuedAt implements jwt.Claims.
func (c *Claims) GetIssuedAt() (*jwt.NumericDate, error) { return numericDate(c.IssuedAt) }

// GetNotBefore implements jwt.Claims.
func (c *Claims) GetNotBefore() (*jwt.NumericDate, error) { return numericDate(c.NotBefore) }

// GetIssuer implements jwt.Claims.
func (c *Claims) GetIssuer() (string, error) { return c.Issuer, nil }

// GetSubject implements jwt.Claims.
func (c *Claims) GetSubject() (string, error) { return c.Subject, nil }

// GetAudience implements jwt.Claims.
func (c *Claims) GetAudience() (jwt.ClaimStrings, error) {
	if c.Audience == "" {
		return nil, nil
	}
	return jwt.ClaimStrings{c.Audience}, nil
}
