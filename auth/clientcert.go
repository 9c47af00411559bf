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

// Challenge asks for Basic credentials, as Next does.
func (c *ClientCert) Challenge(r *http.Request) string { return c.Next.Challenge(r) }
