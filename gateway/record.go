package gateway

import (
	"context"
	"net/netip"
	"time"

	"github.com/portcullis/portcullis/access"
)

// Outcome says how the gateway disposed of a request.
type Outcome string

// The outcomes, in the order the pipeline can reach them.
const (
	// OutcomeRefused: the request was malformed or ambiguous (path, method, query, form
	// body) and was refused before anyone was asked who sent it.
	OutcomeRefused Outcome = "refused"
	// OutcomeUnauthenticated: credentials were missing where needed, or did not verify.
	OutcomeUnauthenticated Outcome = "unauthenticated"
	// OutcomeThrottled: credentials were not verified because too many logins failed
	// from the client's address or for the account, or too many verifications were
	// running (429 with Retry-After).
	OutcomeThrottled Outcome = "throttled"
	// OutcomeDenied: the policy did not grant the access the request needs.
	OutcomeDenied Outcome = "denied"
	// OutcomeLimited: authorized, but a limit turned the request away for now (too many
	// uploads in flight: 429 with Retry-After).
	OutcomeLimited Outcome = "limited"
	// OutcomeFailed: a technical failure (authenticator, authorizer, catalog, panic).
	OutcomeFailed Outcome = "failed"
	// OutcomeServed: answered by the gateway itself (the filtered catalog, search).
	OutcomeServed Outcome = "served"
	// OutcomeForwarded: handed to the backend; Status is the backend's answer unless the
	// gateway had to answer for it (502, 504), which UpstreamStatus 0 tells.
	OutcomeForwarded Outcome = "forwarded"
)

// Record is the account of one request, built once when the pipeline has answered it and
// never changed afterwards: the access log, metrics and the audit trail all read this one
// value, so they count the same facts. Its slices and maps (Route.Access,
// Principal.Groups, Principal.Claims, Decision.Granted) are shared with the pipeline:
// observers read them and must not modify them.
type Record struct {
	// ID is the request id, also sent to the client and the backend as X-Request-Id.
	ID string
	// Start is when the gateway received the request; Duration how long it took to answer.
	Start    time.Time
	Duration time.Duration
	// Method and Path are the request's, Path as sent (as judged, when Route.Kind is set).
	// The query is never recorded: it can carry tokens.
	Method string
	Path   string
	// ClientIP is the client's address: the peer's, or the one trusted proxies vouch for.
	ClientIP netip.Addr
	// Proto ("https" or "http") and Host are what the client used.
	Proto string
	Host  string
	// UserAgent is the client's User-Agent header, as sent.
	UserAgent string
	// Route is the request's classification; Route.Kind is empty when it was refused
	// before one was made.
	Route Route
	// Account is the account the request's credentials named: the principal's name, or,
	// when they did not verify, the account they claimed (as sent, unverified; never a
	// password). "" when none were sent.
	Account string
	// Principal is who the request authenticated as (anonymous when it did not).
	Principal access.Principal
	// Decision is the Authorizer's, when Decided.
	Decision access.Decision
	Decided  bool
	// Outcome is how the gateway disposed of the request.
	Outcome Outcome
	// Reason says why a request was refused, denied or failed, or how a forwarded one was
	// changed (a mount whose source may not be pulled); "" otherwise.
	Reason string
	// Status is the status code sent to the client; 499 when the client went away before
	// anything was sent.
	Status int
	// UpstreamStatus is the backend's status for a forwarded request; 0 when the backend
	// did not answer (not forwarded, unreachable, timed out, client gone).
	UpstreamStatus int
	// BytesIn is the request body bytes read; BytesOut the response body bytes written.
	BytesIn  int64
	BytesOut int64
	// Digest is the response's Docker-Content-Digest: for a manifest push, the digest the
	// tag now points to, as the backend answered it.
	Digest string
	// MediaType is the Content-Type of the request body for a request that sends one
	// (PUT, POST, PATCH: a manifest push names its media type there), otherwise the
	// response's. ContentLength is the response's Content-Length header, -1 when it sent
	// none (a HEAD answers the size of what a GET would send). Notifications read both.
	MediaType     string
	ContentLength int64
	// Credentials is the kind of credentials the request presented, verified or not:
	// "basic" or "bearer" (the Authorization scheme), "other" for another scheme, "mtls"
	// for a verified client certificate without an Authorization header, "session" for
	// a principal the context carried (WithPrincipal: the web UI), "" for none.
	// Failed logins are counted by it.
	Credentials string
}

// Observer is told about every request once the pipeline has answered it: metrics and the
// audit trail. Observe runs on the request's goroutine before the pipeline returns to
// net/http, so a record is written before the response is complete; it must be quick, and
// deal with its own failures (it cannot change a response that has been written).
type Observer interface {
	Observe(ctx context.Context, rec Record)
}

// WriteGate is an optional ability of an Observer that must record every write it is told
// of, and so must refuse writes while it cannot: the audit trail with --audit-fail closed
// while its file cannot be written (issue 11, "nothing lost"). The pipeline asks it
// before a push or delete (PUT, POST, PATCH, DELETE) goes to the backend; reads never
// ask.
type WriteGate interface {
	// Ready reports whether a write may go to the backend now. An error refuses the
	// request with 503 UNAVAILABLE, the error's text as the message: say what is wrong
	// and that reads continue.
	Ready() error
}
