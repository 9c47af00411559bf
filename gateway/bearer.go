package gateway

import (
	"net/http"
	"strings"

	"github.com/portcullis/portcullis/access"
)

// BearerChallenge returns authn answering 401s with the Docker token challenge (token
// mode, --auth token): `Bearer realm="<realm>",service="<service>"`, then the scope the
// request needs and, when credentials were sent, why they were not enough
// (error="invalid_token" or "insufficient_scope"). An empty realm is the token endpoint
// of the host the client addressed, https://<host>/token (http with TLS off and no trusted
// proxy saying otherwise); set it behind a load balancer that rewrites hosts.
func BearerChallenge(authn Authenticator, realm, service string) Authenticator {
	return &tokenChallenger{Authenticator: authn, realm: realm, service: service}
}

type tokenChallenger struct {
	Authenticator
	realm, service string
}

var (
	_ Challenger = (*tokenChallenger)(nil)
	_ Identifier = (*tokenChallenger)(nil)
)

// Challenge implements Challenger.
func (b *tokenChallenger) Challenge(r *http.Request, c Challenge) string {
	realm := b.realm
	if realm == "" {
		cl := clientOf(r)
		realm = cl.proto + "://" + cl.host + "/token"
	}
	var s strings.Builder
	s.WriteString(`Bearer realm=`)
	s.WriteString(quoteParam(realm))
	s.WriteString(`,service=`)
	s.WriteString(quoteParam(b.service))
	if len(c.Access) > 0 {
		s.WriteString(`,scope="`)
		for i, a := range c.Access {
			if i > 0 {
				s.WriteByte(' ') // several scopes are one space-separated value, as distribution writes them
			}
			s.WriteString(strings.Trim(quoteParam(a.Scope()), `"`))
		}
		s.WriteByte('"')
	}
	if c.Error != "" {
		s.WriteString(`,error=`)
		s.WriteString(quoteParam(c.Error))
	}
	return s.String()
}

// quoteParam renders an auth-param value as an RFC 9110 quoted-string, dropping control
// characters (a header must not be split) and escaping quotes and backslashes.
func quoteParam(v string) string {
	var b strings.Builder
	b.WriteByte('"')
	for i := 0; i < len(v); i++ {
		switch c := v[i]; {
		case c == '"' || c == '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		case c < 0x20 || c == 0x7f:
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte('"')
	return b.String()
}

// Identify passes the wrapped authenticator's Identifier on, so the challenge does not
// hide it.
func (b *tokenChallenger) Identify(r *http.Request) (access.Principal, string, bool) {
	if id, ok := b.Authenticator.(Identifier); ok {
		return id.Identify(r)
	}
	return access.Anonymous(), "", false
}
