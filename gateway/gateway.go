package gateway

import (
	"errors"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/portcullis/portcullis/access"
	"github.com/portcullis/portcullis/errcode"
)

// gateway holds the validated configuration the pipeline uses.
type gateway struct {
	backend        http.Handler
	authn          Authenticator
	authz          Authorizer
	admitter       Admitter // optional: limits consulted after authorization (admit.go)
	observers      []Observer
	gates          []WriteGate // the observers that are also WriteGates
	log            *slog.Logger
	basicChallenge string
	trusted        trustedProxies
	tls            bool
	now            func() time.Time // Config.Now, time.Now by default
}

// New validates cfg and returns the handler for the whole server: the registry API under
// /v2/, docker search at /v1/search, and a 404 envelope for everything else.
func New(cfg Config) (http.Handler, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	realm := cfg.Realm
	if realm == "" {
		realm = DefaultRealm
	}
	g := &gateway{
		backend:        cfg.Backend,
		authn:          cfg.Authenticator,
		authz:          cfg.Authorizer,
		admitter:       cfg.Admitter,
		observers:      cfg.Observers,
		log:            cfg.Logger,
		basicChallenge: `Basic realm="` + realm + `"`,
		trusted:        trustedProxies(cfg.TrustedProxies),
		tls:            cfg.TLS,
		now:            cfg.Now,
	}
	if g.now == nil {
		g.now = time.Now
	}
	for _, o := range cfg.Observers {
		if wg, ok := o.(WriteGate); ok {
			g.gates = append(g.gates, wg)
		}
	}
	return g, nil
}

// exchange is one request's bookkeeping, allocated once: what the gateway established
// about the client (immutable once made), the response wrapper and the body counter
// (written only as the response and body pass through them), and the facts the pipeline
// has learnt so far (written only by ServeHTTP, from what each stage returns).
type exchange struct {
	client clientInfo
	resp   response
	body   countingBody
	hdr    [3]string // the values of the headers every answer carries

	route       Route
	credentials string
	account     string
	principal   access.Principal
	decision    access.Decision
	decided     bool
	outcome     Outcome
	reason      string
}

// ServeHTTP is the pipeline, top to bottom: classify the request, authenticate the
// caller, authorize the access, forward (or serve the catalog and search). Each stage is
// a function over explicit values that returns what it found or a refusal; a refusal is
// answered and ends the request. The deferred finish recovers a panic and hands one
// immutable Record to the access log and the observers.
func (g *gateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	x := &exchange{principal: access.Anonymous()}
	newClient(&x.client, r, g.trusted, g.tls, g.now())
	// Every answer's headers, the backend's too (nosniff: issue 12), their values held in
	// x rather than allocated one by one (setHeaders).
	x.hdr = [3]string{apiVersion, x.client.id, "nosniff"}
	setHeaders(w.Header(), x.hdr[:], headerAPIVersion, headerRequestID, headerNoSniff)
	x.resp.ResponseWriter = w
	x.resp.holdFlush = isWrite(r.Method)
	x.credentials = credentialsOf(r) // before a backend strips Authorization
	if _, ok := principalFrom(r.Context()); ok {
		x.credentials = CredentialsSession // the web UI's, on behalf of a signed-in user
	}
	if r.Body != nil && r.Body != http.NoBody {
		x.body.ReadCloser = r.Body
		r.Body = &x.body
	}
	r = r.WithContext(withClient(r.Context(), &x.client))
	defer g.finish(x, r)
	w = &x.resp

	rt, ref := classify(r)
	x.route = rt
	if ref != nil {
		g.identify(r, x) // so the refusal names who sent it
		g.refuse(w, r, x, ref)
		return
	}

	p, ref := g.authenticate(r, rt)
	x.principal, x.account = p, p.Name
	if ref != nil {
		g.refuse(w, r, x, ref)
		return
	}

	req := access.Request{Method: r.Method, Path: rt.Path, ClientIP: x.client.ipStr, UserAgent: r.UserAgent()}
	if rt.Kind != KindBase { // the base route needs only a principal, which authenticate required
		d, ref := g.authorize(r, req, p, rt)
		x.decision, x.decided = d, ref == nil || ref.outcome == OutcomeDenied
		if ref != nil {
			g.refuse(w, r, x, ref)
			return
		}
		if rt.Kind == KindUploads && !mountAllowed(rt, d) {
			if rt.MountFrom != "" {
				x.reason = "mount from " + rt.MountFrom + " dropped: no pull access"
			}
			rt, r = withoutMount(rt, r)
			x.route = rt
		}
	}

	// Issue 11, "nothing lost": a push or delete is not forwarded while an Observer that
	// must record it (the audit trail with --audit-fail closed) cannot; reads go on.
	if ref := g.writeGate(r); ref != nil {
		g.refuse(w, r, x, ref)
		return
	}

	// Admission (issue 12): limits that need the principal, such as concurrent uploads;
	// a slot taken here is given back once the request has been answered.
	release, ref := g.admit(w, r, x)
	if ref != nil {
		g.refuse(w, r, x, ref)
		return
	}
	defer release()

	// What was granted travels with the request, for a backend that proves it upstream
	// (--upstream-auth token) and the catalog's own requests (grant.go): in the client
	// value r's context already carries, so no copy of r per request.
	x.client.setGrant(p, rt)
	x.outcome = OutcomeForwarded
	switch rt.Kind {
	case KindCatalog:
		x.outcome = OutcomeServed
		g.serveCatalog(w, r, req, p)
	case KindSearch:
		x.outcome = OutcomeServed
		g.serveSearch(w, r, req, p)
	default:
		g.forward(w, r, rt)
	}
}

// classify reads the request into a Route, or refuses it: paths, methods and queries
// another reader could take differently, and form bodies (see checkBody).
func classify(r *http.Request) (Route, *refusal) {
	rt, err := Classify(r.Method, r.URL)
	if err == nil {
		if e := checkBody(r); e != nil {
			err = e
		}
	}
	if err != nil {
		e := asErrcode(err)
		return rt, &refusal{outcome: OutcomeRefused, reason: "refused: " + e.Message, err: e}
	}
	return rt, nil
}

// forward hands the request to the backend, after checking that it still names the path
// Classify judged, unescaped ("forward what you judged"): a mismatch is a gateway bug,
// refused rather than forwarded.
func (g *gateway) forward(w http.ResponseWriter, r *http.Request, rt Route) {
	if r.URL.Path != rt.Path || (r.URL.RawPath != "" && r.URL.RawPath != r.URL.Path) {
		answerError(w, r, g.log, "forwarding a path other than the one judged", internalError(),
			errors.New("path "+r.URL.Path+" is not the judged "+rt.Path))
		return
	}
	g.backend.ServeHTTP(w, r)
}

// writeGate asks every WriteGate whether a write may go on; nil for reads.
func (g *gateway) writeGate(r *http.Request) *refusal {
	if !isWrite(r.Method) {
		return nil
	}
	for _, wg := range g.gates {
		if err := wg.Ready(); err != nil {
			return &refusal{outcome: OutcomeFailed, reason: "write refused: " + err.Error(),
				err: errcode.New(errcode.Unavailable, err.Error())}
		}
	}
	return nil
}

// isWrite reports whether a request of this method changes the registry: a push
// (POST, PUT, PATCH) or a delete.
func isWrite(method string) bool {
	switch method {
	case http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete:
		return true
	}
	return false
}

// credentialsOf names the kind of credentials r presents (see Record.Credentials).
func credentialsOf(r *http.Request) string {
	a := r.Header.Get("Authorization")
	if a == "" {
		if r.TLS != nil && len(r.TLS.VerifiedChains) > 0 {
			return "mtls"
		}
		return ""
	}
	scheme, _, _ := strings.Cut(a, " ")
	switch {
	case strings.EqualFold(scheme, "basic"):
		return "basic"
	case strings.EqualFold(scheme, "bearer"):
		return "bearer"
	}
	return "other"
}

// refusal is a stage's reason to end a request, with what the client reads.
type refusal struct {
	outcome Outcome
	// reason is what the log and the audit trail read.
	reason string
	// err is what the client reads.
	err *errcode.Error
	// challenge adds WWW-Authenticate to the answer (a 401).
	challenge *Challenge
	// cause, when set, is a technical failure: logged, never shown.
	cause error
	// account is the account refused credentials claimed.
	account string
	// retryAfter, when set, is sent as Retry-After (a throttled login).
	retryAfter time.Duration
}

// identify notes who sent a request refused before it was authenticated, when the
// Authenticator can tell cheaply (Identifier): never a password hash for a refusal.
func (g *gateway) identify(r *http.Request, x *exchange) {
	if p, ok := principalFrom(r.Context()); ok {
		x.principal, x.account = p, p.Name
		return
	}
	id, ok := g.authn.(Identifier)
	if !ok {
		return
	}
	p, account, verified := id.Identify(r)
	if verified {
		x.principal = p
	}
	x.account = account
}

// refuse answers ref and notes its outcome and reason.
func (g *gateway) refuse(w http.ResponseWriter, r *http.Request, x *exchange, ref *refusal) {
	x.outcome, x.reason = ref.outcome, ref.reason
	if ref.account != "" {
		x.account = ref.account
	}
	if ref.retryAfter > 0 {
		w.Header().Set("Retry-After", strconv.FormatInt(int64((ref.retryAfter+time.Second-1)/time.Second), 10))
	}
	switch {
	case ref.cause != nil:
		answerError(w, r, g.log, ref.reason, ref.err, ref.cause)
	case ref.challenge != nil:
		w.Header().Set("WWW-Authenticate", g.challenge(r, *ref.challenge))
		errcode.Write(w, r, ref.err)
	default:
		errcode.Write(w, r, ref.err)
	}
}

// finish runs when ServeHTTP returns or panics. A panic is logged with its stack and
// answered with a 500 while the response has not started; once it has, the response is
// aborted (http.ErrAbortHandler), since a half-written body cannot become an error.
// http.ErrAbortHandler itself is passed on untouched: it is how handlers ask net/http to
// abort. Either way the request is recorded first.
func (g *gateway) finish(x *exchange, r *http.Request) {
	p := recover()
	if p != nil {
		x.outcome, x.reason = OutcomeFailed, "panic"
		if err, ok := p.(error); ok && errors.Is(err, http.ErrAbortHandler) {
			// A backend abandoning a response it had begun: an upstream that died mid-blob
			// makes httputil.ReverseProxy abort (issue 12). Not a bug; say what it was.
			x.reason = "response aborted mid-body"
		} else {
			g.log.LogAttrs(r.Context(), slog.LevelError, "panic serving request",
				slog.String("request_id", x.client.id),
				slog.String("method", r.Method),
				slog.String("path", logPath(r.URL.Path)),
				slog.Any("panic", p),
				slog.String("stack", string(debug.Stack())))
			if x.resp.status == 0 {
				h := x.resp.Header()
				clear(h) // whatever the panicking handler meant to send
				h.Set(headerAPIVersion, apiVersion)
				h.Set(headerRequestID, x.client.id)
				errcode.Write(&x.resp, r, internalError())
				p = nil
			} else {
				p = http.ErrAbortHandler
			}
		}
	}
	rec := g.record(x, r)
	g.logRecord(r, &rec)
	for _, o := range g.observers {
		o.Observe(r.Context(), rec)
	}
	if p != nil {
		panic(p)
	}
}

// record builds the Record of a request that has been answered.
func (g *gateway) record(x *exchange, r *http.Request) Record {
	status := x.resp.status
	switch {
	case status != 0:
	case r.Context().Err() != nil:
		status = statusClientClosed
	default:
		status = http.StatusOK // net/http's answer to a handler that wrote nothing
		x.resp.noteHeaders()   // with the headers it set
	}
	upstream := 0
	if x.outcome == OutcomeForwarded && !x.resp.ownAnswer && status != statusClientClosed {
		upstream = status
	}
	return Record{
		ID:             x.client.id,
		Start:          x.client.start,
		Duration:       g.now().Sub(x.client.start),
		Method:         r.Method,
		Path:           r.URL.Path,
		ClientIP:       x.client.ip,
		Proto:          x.client.proto,
		Host:           x.client.host,
		UserAgent:      r.UserAgent(),
		Route:          x.route,
		Account:        x.account,
		Principal:      x.principal,
		Decision:       x.decision,
		Decided:        x.decided,
		Outcome:        x.outcome,
		Reason:         x.reason,
		Status:         status,
		UpstreamStatus: upstream,
		BytesIn:        x.body.n,
		BytesOut:       x.resp.bytesOut,
		Digest:         x.resp.digest,
		MediaType:      mediaType(r, &x.resp),
		ContentLength:  contentLength(x.resp.contentLength),
		Credentials:    x.credentials,
	}
}

// mediaType is the request body's Content-Type for a request that sends one, otherwise
// the response's.
func mediaType(r *http.Request, resp *response) string {
	if ct := r.Header.Get("Content-Type"); ct != "" && isWrite(r.Method) {
		return ct
	}
	return resp.contentType
}

// contentLength parses a Content-Length header; -1 when absent or not a length.
func contentLength(s string) int64 {
	if s == "" {
		return -1
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 {
		return -1
	}
	return n
}

func asErrcode(err error) *errcode.Error {
	var e *errcode.Error
	if errors.As(err, &e) {
		return e
	}
	return internalError().Wrap(err)
}
