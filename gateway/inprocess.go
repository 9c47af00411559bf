package gateway

import (
	"net/http"

	"github.com/portcullis/portcullis/errcode"
)

// inProcess calls an in-process registry handler directly: no loopback hop.
type inProcess struct{ h http.Handler }

var _ http.Handler = inProcess{}

// NewInProcess returns a Backend that calls h (the bundled registry) in the same
// goroutine with the same *url.URL the gateway judged, after stripping the client's
// credentials and forwarding headers and setting X-Forwarded-For/-Proto/-Host as
// NewUpstream does, so h builds client-facing Location URLs.
func NewInProcess(h http.Handler) http.Handler { return inProcess{h: h} }

func (p inProcess) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !judged(w, r) {
		return
	}
	s := ScopeFrom(r.Context())
	prepareOutbound(r.Header, s)
	if s == nil {
		r.Header.Set("X-Forwarded-For", addrString(parsePeer(r.RemoteAddr)))
		r.Header.Set("X-Forwarded-Host", r.Host)
		r.Header.Set("X-Forwarded-Proto", forwardedProto(r, false, false))
	}
	rec, ok := w.(*recorder)
	p.h.ServeHTTP(w, r)
	if ok && rec.s == s { // the client's own response, not a gateway sub-request
		s.upstream = max(s.status, http.StatusOK)
	}
}

// judged guards "forward what you judged": inside the pipeline, the path handed to a
// backend must be the path Classify read, unescaped. A mismatch is a gateway bug and is
// refused rather than forwarded.
func judged(w http.ResponseWriter, r *http.Request) bool {
	s := ScopeFrom(r.Context())
	if s == nil || (r.URL.Path == s.route.Path && (r.URL.RawPath == "" || r.URL.RawPath == r.URL.Path)) {
		return true
	}
	errcode.Write(w, r, errcode.New(errcode.Unknown, "internal server error"))
	return false
}
