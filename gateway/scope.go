package gateway

import (
	"context"
	"net/netip"
	"time"

	"github.com/portcullis/portcullis/access"
)

// RequestScope is everything the pipeline learns about one request, in one place, so the
// access log, an Auditor and metrics read the same facts. Stages write it as the request
// goes in; everyone else reads it through the accessors. One request's goroutine owns it.
type RequestScope struct {
	id        string
	start     time.Time
	method    string
	clientIP  netip.Addr
	clientStr string // clientIP as text, computed once for the policy input and the log
	peer      netip.Addr
	viaProxy  []netip.Addr // X-Forwarded-For entries accepted from a trusted peer
	proto     string
	host      string
	route     Route
	principal access.Principal
	decision  access.Decision
	decided   bool
	denied    string // why the request was refused, for the log; "" when it was not
	upstream  int
	status    int
	bytesIn   int64
	bytesOut  int64
	rec       recorder // the response writer wrapper, allocated with the scope
}

type scopeKey struct{}

// ScopeFrom returns the request's scope, or nil outside the gateway's pipeline.
func ScopeFrom(ctx context.Context) *RequestScope {
	s, _ := ctx.Value(scopeKey{}).(*RequestScope)
	return s
}

func withScope(ctx context.Context, s *RequestScope) context.Context {
	return context.WithValue(ctx, scopeKey{}, s)
}

// Method is the request's HTTP method.
func (s *RequestScope) Method() string { return s.method }

// ID is the request id, also sent as X-Request-Id.
func (s *RequestScope) ID() string { return s.id }

// Start is when the gateway received the request.
func (s *RequestScope) Start() time.Time { return s.start }

// ClientIP is the client's address: the peer's, or the one trusted proxies vouch for.
func (s *RequestScope) ClientIP() netip.Addr { return s.clientIP }

// Proto is the scheme the client used: "https" or "http".
func (s *RequestScope) Proto() string { return s.proto }

// Host is the host the client addressed (from a trusted proxy's X-Forwarded-Host).
func (s *RequestScope) Host() string { return s.host }

// Route is the classified request; its Kind is empty when classification refused it.
func (s *RequestScope) Route() Route { return s.route }

// Principal is who the request authenticated as (anonymous before authentication).
func (s *RequestScope) Principal() access.Principal { return s.principal }

// Decision is the Authorizer's decision and whether one was made.
func (s *RequestScope) Decision() (access.Decision, bool) { return s.decision, s.decided }

// Refusal is why the gateway refused the request ("" when it did not): a classification,
// authentication or authorization failure, for the log and the audit trail.
func (s *RequestScope) Refusal() string { return s.denied }

// UpstreamStatus is the backend's status code, 0 when the request was not forwarded.
func (s *RequestScope) UpstreamStatus() int { return s.upstream }

// Status is the status code sent to the client (0 until one was sent; 499 when the client
// went away before an upstream answered).
func (s *RequestScope) Status() int { return s.status }

// BytesIn is the request body bytes read; BytesOut the response body bytes written.
func (s *RequestScope) BytesIn() int64 { return s.bytesIn }

// BytesOut is the response body bytes written to the client.
func (s *RequestScope) BytesOut() int64 { return s.bytesOut }
