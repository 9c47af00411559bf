package gateway

import (
	"context"
	"fmt"
	"net/http"
	"net/netip"
	"strconv"
	"sync"
	"time"

	"github.com/portcullis/portcullis/access"
	"github.com/portcullis/portcullis/errcode"
)

// Admitter decides whether an authorized request may start now: the limits that need to
// know who is calling, such as concurrent uploads per principal (issue 12). The pipeline
// consults it after authorization, before forwarding, so a request it turns away is
// attributed, logged and counted like any other refusal (OutcomeLimited). Admit returns
// a release func that the pipeline calls once the request has been answered, or a
// *Limited saying why not. It runs on every forwarded request and must be quick.
type Admitter interface {
	Admit(ctx context.Context, a Admission) (release func(), refused *Limited)
}

// Admission is what an Admitter decides on.
type Admission struct {
	Route     Route
	Method    string
	Principal access.Principal
	ClientIP  netip.Addr
}

// Limited is an Admitter's refusal: the client reads Err with a Retry-After header of
// RetryAfter (rounded up to whole seconds; none when zero); the log and the Record read
// Reason.
type Limited struct {
	Err        *errcode.Error
	RetryAfter time.Duration
	Reason     string
}

// admit asks the Admitter, when there is one; on a refusal the answer's Retry-After is
// set and the refusal returned for ServeHTTP to answer.
func (g *gateway) admit(w http.ResponseWriter, r *http.Request, x *exchange) (release func(), ref *refusal) {
	if g.admitter == nil {
		return func() {}, nil
	}
	release, lim := g.admitter.Admit(r.Context(), Admission{Route: x.route, Method: r.Method, Principal: x.principal, ClientIP: x.client.ip})
	if lim == nil {
		return release, nil
	}
	if lim.RetryAfter > 0 {
		secs := (lim.RetryAfter + time.Second - 1) / time.Second
		w.Header().Set("Retry-After", strconv.FormatInt(int64(secs), 10))
	}
	return nil, &refusal{outcome: OutcomeLimited, reason: lim.Reason, err: lim.Err}
}

// UploadLimit is an Admitter capping the uploads in flight: requests that carry blob or
// manifest bytes (POST, PUT and PATCH on upload and manifest routes), per principal and in
// total. A stalled upload holds its slot until the body idle timeout ends it (package
// server), so one account cannot take every slot, nor can all of them together take more
// than the process can hold. Anonymous callers, when the policy lets them push, are
// counted per client address. A zero cap is no cap. Memory is one map entry per
// principal with an upload in flight.
type UploadLimit struct {
	total, perPrincipal int
	retryAfter          time.Duration

	mu       sync.Mutex
	inFlight int
	per      map[string]int
}

var _ Admitter = (*UploadLimit)(nil)

// UploadRetryAfter is the Retry-After sent with an upload refused by UploadLimit: long
// enough for a client's other layers to make progress, short enough that a retry finds a
// slot once an upload has finished.
const UploadRetryAfter = 5 * time.Second

// NewUploadLimit returns an UploadLimit of total uploads in flight, perPrincipal of them
// for any one principal (0: no cap).
func NewUploadLimit(total, perPrincipal int) *UploadLimit {
	return &UploadLimit{total: total, perPrincipal: perPrincipal, retryAfter: UploadRetryAfter, per: map[string]int{}}
}

// IsUpload reports whether a request carries blob or manifest bytes.
func IsUpload(method string, k Kind) bool {
	switch method {
	case http.MethodPost, http.MethodPut, http.MethodPatch:
		return k == KindUploads || k == KindUpload || k == KindManifest
	}
	return false
}

// Admit implements Admitter.
func (l *UploadLimit) Admit(_ context.Context, a Admission) (func(), *Limited) {
	if !IsUpload(a.Method, a.Route.Kind) {
		return func() {}, nil
	}
	key := "user " + a.Principal.Name
	if a.Principal.IsAnonymous() {
		key = "anonymous " + a.ClientIP.String()
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.total > 0 && l.inFlight >= l.total {
		return nil, l.refuse("the gateway", l.total)
	}
	if l.perPrincipal > 0 && l.per[key] >= l.perPrincipal {
		return nil, l.refuse("this account", l.perPrincipal)
	}
	l.inFlight++
	l.per[key]++
	var once sync.Once
	return func() { once.Do(func() { l.release(key) }) }, nil
}

func (l *UploadLimit) refuse(whose string, limit int) *Limited {
	msg := fmt.Sprintf("too many uploads in flight for %s (%d); retry later", whose, limit)
	return &Limited{
		Err:        errcode.New(errcode.TooManyRequests, msg).WithDetail(map[string]any{"limit": limit}),
		RetryAfter: l.retryAfter,
		Reason:     "limited: " + msg,
	}
}

func (l *UploadLimit) release(key string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.inFlight--
	if l.per[key] <= 1 {
		delete(l.per, key)
	} else {
		l.per[key]--
	}
}

// InFlight is the number of uploads in flight (metrics).
func (l *UploadLimit) InFlight() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.inFlight
}
