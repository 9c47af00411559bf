package gateway

import (
	"context"
	"errors"
	"net/http"

	"github.com/portcullis/portcullis/access"
	"github.com/portcullis/portcullis/errcode"
)

// Authenticator says who sent a request. No credentials is (access.Anonymous(), nil);
// credentials that do not verify are an error wrapping access.ErrBadCredentials (an
// *access.BadCredentialsError names the account they claimed); any other error is a
// technical failure (a store that cannot be read), never a verdict.
type Authenticator interface {
	Authenticate(ctx context.Context, r *http.Request) (access.Principal, error)
}

// Challenge is what a 401 answers: the access the request needs (empty for the base
// route /v2/) and, as RFC 6750 names them, why the credentials sent were not enough:
// "" when none were sent, "invalid_token" when they did not verify, "insufficient_scope"
// when they verified but do not grant the access.
type Challenge struct {
	Access []access.Resource
	Error  string
}

// Challenge errors (RFC 6750 section 3.1).
const (
	ChallengeInvalidToken      = "invalid_token"
	ChallengeInsufficientScope = "insufficient_scope"
)

// Identifier is an optional ability of an Authenticator: who a request's credentials name,
// found cheaply (a cache of verified credentials; never a password hash), for requests
// refused before they are authenticated, so the log and the audit trail name who sent
// them (issue 12). ok reports a principal known good; otherwise account is the account
// the credentials claim (unverified), or "" when there are none.
type Identifier interface {
	Identify(r *http.Request) (p access.Principal, account string, ok bool)
}

// Challenger is an optional ability of an Authenticator: the WWW-Authenticate value sent
// with a 401 (a bearer challenge naming the token service and scope, say). Without it,
// or when it returns "", the challenge is Basic with Config.Realm.
type Challenger interface {
	Challenge(r *http.Request, c Challenge) string
}

// authenticate asks the Authenticator who is calling. Bad credentials are a 401 with a
// message that does not say which part was wrong; a technical failure is a generic 500.
// The base route /v2/ needs a non-anonymous principal, so `docker login` checks the
// credentials it is given. A principal the request's context carries (WithPrincipal,
// set only in process) is taken as it is: the Authenticator is not asked.
func (g *gateway) authenticate(r *http.Request, rt Route) (access.Principal, *refusal) {
	p, err := access.Principal{}, error(nil)
	if cp, ok := principalFrom(r.Context()); ok {
		p = cp
	} else {
		p, err = g.authn.Authenticate(r.Context(), r)
	}
	var throttled *access.ThrottledError
	switch {
	case errors.As(err, &throttled):
		// Too many failed logins (or verifications running): 429 with Retry-After, the
		// credentials neither accepted nor refused (issue 12). No challenge: asking for
		// credentials again is not the remedy, waiting is.
		return access.Anonymous(), &refusal{outcome: OutcomeThrottled,
			reason:     "login throttled (" + throttled.Reason + ")",
			err:        errcode.New(errcode.TooManyRequests, "too many login attempts; retry later"),
			retryAfter: throttled.RetryAfter, account: throttled.Account}
	case errors.Is(err, access.ErrBadCredentials):
		// The reason says what was wrong, for the log (an expired token, a wrong
		// password); the client is told only that authentication failed.
		ref := unauthenticated(badCredentialsReason(err), "authentication failed",
			Challenge{Access: rt.Access, Error: ChallengeInvalidToken})
		ref.account = access.ClaimedAccount(err)
		return access.Anonymous(), ref
	case err != nil:
		return access.Anonymous(), &refusal{outcome: OutcomeFailed, reason: "authentication error",
			err: internalError(), cause: err}
	}
	if p.IsAnonymous() {
		limit := p.Limit // an anonymous token's access claim limits it too
		p = access.Anonymous()
		p.Limit = limit
		if rt.Kind == KindBase {
			return p, unauthenticated("authentication required", "authentication required", Challenge{})
		}
	}
	return p, nil
}

// unauthenticated is a 401 UNAUTHORIZED refusal with a challenge.
func unauthenticated(reason, msg string, c Challenge) *refusal {
	return &refusal{outcome: OutcomeUnauthenticated, reason: reason,
		err: errcode.New(errcode.Unauthorized, msg), challenge: &c}
}

// challenge is the WWW-Authenticate value for a 401.
func (g *gateway) challenge(r *http.Request, c Challenge) string {
	if ch, ok := g.authn.(Challenger); ok {
		if v := ch.Challenge(r, c); v != "" {
			return v
		}
	}
	return g.basicChallenge
}
