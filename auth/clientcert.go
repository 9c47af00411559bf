package auth

import (
	"context"
	"net/http"
	"strings"

	"github.com/portcullis/portcullis/access"
)

// ClientCert lets a verified TLS client certificate (mTLS, --tls-client-ca) stand for a
// user: a request that carries no Authorization header but presented a certificate that
// chains to a configured client CA becomes the principal named by the certificate's
// subject common name, with method "mtls" and the groups the groups file gives that name.
// Credentials in an Authorization header always win and go to Next.
type ClientCert struct {
	// Next authenticates everything else (Basic); required.
	Next interface {
		Authenticate(ctx context.Context, r *http.Request) (access.Principal, error)
		Challenge(r *http.Request) string
	}
	// Groups, if set, gives each certificate principal its groups.
	Groups *Groups
}

// Authenticate implements the gateway's Authenticator.
func (c *ClientCert) Authenticate(ctx context.Context, r *http.Request) (access.Principal, error) {
	p, err := c.Next.Authenticate(ctx, r)
	if err != nil || !p.IsAnonymous() {
		return p, err
	}
	// VerifiedChains is set only when the chain verified against the client CAs; an
	// unverified certificate (ClientAuth optional) leaves it empty and the caller anonymous.
	if r.TLS == nil || len(r.TLS.VerifiedChains) == 0 || len(r.TLS.VerifiedChains[0]) == 0 {
		return p, nil
	}
	leaf := r.TLS.VerifiedChains[0][0]
	name := leaf.Subject.CommonName
	if name == "" || strings.Contains(name, ":") || validUser(name) != nil {
		return p, nil
	}
	q := access.Principal{Name: name, Method: access.MethodMTLS, Groups: []string{}}
	if c.Groups != nil {
		q.Groups = c.Groups.For(name)
	}
	return q, nil
}

// Identify says who sent r without verifying anything that costs: Basic credentials as
// Next identifies them (when it can), else a verified client certificate's principal.
func (c *ClientCert) Identify(r *http.Request) (access.Principal, string, bool) {
	if id, ok := c.Next.(interface {
		Identify(*http.Request) (access.Principal, string, bool)
	}); ok && len(r.Header.Values("Authorization")) > 0 {
		return id.Identify(r)
	}
	if len(r.Header.Values("Authorization")) > 0 {
		return access.Anonymous(), "", false
	}
	p, err := c.Authenticate(r.Context(), r) // no Authorization header: the certificate alone, no hash
	if err != nil || p.IsAnonymous() {
		return access.Anonymous(), "", false
	}
	return p, p.Name, true
}

// Challenge asks for Basic credentials, as Next does.
func (c *ClientCert) Challenge(r *http.Request) string { return c.Next.Challenge(r) }
