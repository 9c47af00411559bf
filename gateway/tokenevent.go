package gateway

import (
	"context"
	"net/netip"
	"time"

	"github.com/portcullis/portcullis/access"
)

// TokenOutcome says how the token endpoint disposed of a request.
type TokenOutcome string

// Token request outcomes.
const (
	// TokenIssued: a token was issued (possibly granting less than asked, or nothing).
	TokenIssued TokenOutcome = "issued"
	// TokenRefused: the credentials did not verify (401).
	TokenRefused TokenOutcome = "refused"
	// TokenThrottled: too many failed logins from the client or for the account (429).
	TokenThrottled TokenOutcome = "throttled"
	// TokenInvalid: the request itself was wrong (400, 405).
	TokenInvalid TokenOutcome = "invalid"
	// TokenFailed: a technical failure (500).
	TokenFailed TokenOutcome = "failed"
)

// TokenEvent is the account of one request to the token endpoint, built once it has been
// answered: who asked (the account the credentials claimed, never a password), what was
// asked and granted, how it ended. Failed logins are attributable by Account and
// ClientIP, for the audit trail and login throttling. Its slices are shared: observers
// must not modify them.
type TokenEvent struct {
	ID        string // request id, also in X-Request-Id
	Time      time.Time
	ClientIP  netip.Addr
	UserAgent string
	// Grant is "basic" (GET with Basic credentials, or none: anonymous), "password" or
	// "refresh_token" (the OAuth2 POST flow); "" when the request could not be read.
	Grant    string
	ClientID string
	// Account is the account the credentials claimed ("" for none): the Basic or form
	// user name, or a refresh or identity token's subject. Unverified when Outcome is
	// TokenRefused.
	Account string
	// Principal is who the token was issued to (anonymous unless issued).
	Principal access.Principal
	Asked     []access.Resource
	Granted   []access.Resource
	// Refresh says a refresh token was issued too.
	Refresh bool
	Outcome TokenOutcome
	// Reason says why a request was refused, invalid or failed.
	Reason string
	Status int
}

// TokenObserver is told about every token request once it has been answered (the audit
// trail, login throttling). ObserveToken runs on the request's goroutine; it must be
// quick and deal with its own failures.
type TokenObserver interface {
	ObserveToken(ctx context.Context, ev TokenEvent)
}
