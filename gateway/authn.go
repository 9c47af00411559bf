package gateway

import (
	"context"
	"errors"
	"log/slog"
	"net/http"

	"github.com/portcullis/portcullis/access"
	"github.com/portcullis/portcullis/errcode"
)

// Authenticator says who sent a request. No credentials is (access.Anonymous(), nil);
// credentials that do not verify are an error wrapping access.ErrBadCredentials; any
// other error is a technical failure (a store that cannot be read), never a verdict.
type Authenticator interface {
	Authenticate(ctx context.Context, r *http.Request) (access.Principal, error)
}

// Challenger is an optional ability of an Authenticator: the WWW-Authenticate value sent
// with a 401 (a bearer challenge naming the token service and scope, say). It may read
// ScopeFrom(r.Context()).Route() for the access asked for. Without it, or when it returns
// "", the challenge is Basic with Config.Realm.
type Challenger interface {
	Challenge(r *http.Request) string
}

// authenticate records the principal in the scope. Bad credentials are a 401 with a
// message that does not say which part was wrong; a technical failure is a generic 500.
// The base route /v2/ needs a non-anonymous principal, so `docker login` checks the
// credentials it is given.
func (g *gateway) authenticate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := ScopeFrom(r.Context())
		p, err := g.authn.Authenticate(r.Context(), r)
		switch {
		case errors.Is(err, access.ErrBadCredentials):
			s.denied = "bad credentials"
			g.challenge(w, r, "authentication failed")
			return
		case err != nil:
			g.internalError(w, r, s, "authentication error", err)
			return
		}
		if p.IsAnonymous() {
			p = access.Anonymous()
		}
		s.principal = p
		if s.route.Kind == KindBase && p.IsAnonymous() {
			s.denied = "authentication required"
			g.challenge(w, r, "authentication required")
			return
		}
		next.ServeHTTP(w, r)
	})
}

// challenge answers 401 UNAUTHORIZED with the WWW-Authenticate challenge.
func (g *gateway) challenge(w http.ResponseWriter, r *http.Request, msg string) {
	v := ""
	if c, ok := g.authn.(Challenger); ok {
		v = c.Challenge(r)
	}
	if v == "" {
		v = g.basicChallenge
	}
	w.Header().Set("WWW-Authenticate", v)
	errcode.Write(w, r, errcode.New(errcode.Unauthorized, msg))
}

// internalError answers a technical failure with a generic 500 and logs the cause. When
// the client has gone away there is no one to answer: the scope records 499.
func (g *gateway) internalError(w http.ResponseWriter, r *http.Request, s *RequestScope, what string, err error) {
	s.denied = what
	if r.Context().Err() != nil {
		s.status = statusClientClosed
		return
	}
	g.log.LogAttrs(r.Context(), slog.LevelError, what,
		slog.String("request_id", s.id), slog.Any("error", err))
	errcode.Write(w, r, errcode.New(errcode.Unknown, "internal server error").Wrap(err))
}

// statusClientClosed is nginx's 499: the client closed the request before the answer.
const statusClientClosed = 499
