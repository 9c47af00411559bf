package gateway

import (
	"crypto/rand"
	"net/http"

	"github.com/portcullis/portcullis/access"
)

// newScope is the stage that opens the RequestScope: request id, start time, and the
// client's address, scheme and host, resolved once here (believing X-Forwarded-* only from
// trusted proxies) so every later stage, the log and the backend see the same values.
func (g *gateway) newScope(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := &RequestScope{start: g.now(), method: r.Method, principal: access.Anonymous()}
		s.peer = parsePeer(r.RemoteAddr)
		trusted := s.peer.IsValid() && g.trusted.contains(s.peer)
		s.clientIP, s.viaProxy = resolveClient(s.peer, r.Header.Values("X-Forwarded-For"), g.trusted)
		s.clientStr = addrString(s.clientIP)
		s.proto = forwardedProto(r, g.tls, trusted)
		s.host = forwardedHost(r, trusted)
		if id := r.Header.Get(headerRequestID); trusted && validRequestID(id) {
			s.id = id
		} else {
			s.id = rand.Text()
		}
		w.Header().Set(headerRequestID, s.id)
		r = r.WithContext(withScope(r.Context(), s))
		if r.Body != nil && r.Body != http.NoBody {
			r.Body = &countingBody{ReadCloser: r.Body, s: s}
		}
		s.rec = recorder{ResponseWriter: w, s: s}
		next.ServeHTTP(&s.rec, r)
	})
}
