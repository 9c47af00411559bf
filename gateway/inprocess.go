package gateway

import "net/http"

// inProcess calls an in-process registry handler directly: no loopback hop.
type inProcess struct{ h http.Handler }

var _ http.Handler = inProcess{}

// NewInProcess returns a Backend that calls h (the bundled registry) in the same
// goroutine with the same *url.URL the gateway judged, after stripping the client's
// credentials and forwarding headers and setting X-Forwarded-For/-Proto/-Host as
// NewUpstream does, so h builds client-facing Location URLs.
func NewInProcess(h http.Handler) http.Handler { return inProcess{h: h} }

func (p inProcess) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	prepareOutbound(r.Header, clientOf(r))
	p.h.ServeHTTP(w, r)
}
