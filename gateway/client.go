package gateway

import (
	"context"
	"crypto/rand"
	"net/http"
	"net/netip"
	"strings"
	"time"

	"github.com/portcullis/portcullis/access"
)

// clientInfo is what the gateway establishes about a request's sender once, when the request
// arrives: the request id, the client's address (believing X-Forwarded-* only from
// trusted proxies), scheme and host. It is not changed afterwards. The pipeline hands it
// to the backends through the request context (read only), so the X-Forwarded-* headers
// they send and the Location headers they rewrite name what the log names.
type clientInfo struct {
	id       string
	start    time.Time
	peer     netip.Addr
	ip       netip.Addr
	ipStr    string       // ip as text, computed once for the policy input and the log
	viaProxy []netip.Addr // X-Forwarded-For entries accepted from a trusted peer
	proto    string
	host     string

	// grant is what the pipeline allowed the request (GrantOf), set once when the request
	// has been judged, before any backend sees it; granted says it has been. It travels
	// in the context value the client already does, so judging a request costs no
	// context or request copy of its own (grant.go).
	grant   Grant
	granted bool
}

// newClient fills c from r. With trusted nil, every peer is the client.
func newClient(c *clientInfo, r *http.Request, trusted trustedProxies, tlsOn bool, now time.Time) {
	c.start = now
	c.peer = parsePeer(r.RemoteAddr)
	isTrusted := c.peer.IsValid() && trusted.contains(c.peer)
	c.ip, c.viaProxy = resolveClient(c.peer, r.Header.Values("X-Forwarded-For"), trusted)
	c.ipStr = addrString(c.ip)
	c.proto = forwardedProto(r, tlsOn, isTrusted)
	c.host = forwardedHost(r, isTrusted)
	if id := r.Header.Get(headerRequestID); isTrusted && validRequestID(id) {
		c.id = id
	} else {
		c.id = rand.Text()
	}
}

type clientKey struct{}

// withClient puts c in ctx, and its address for authenticators that limit per client
// (access.ClientIP: auth's login throttle).
func withClient(ctx context.Context, c *clientInfo) context.Context {
	return access.WithClientIP(context.WithValue(ctx, clientKey{}, c), c.ip)
}

// clientOf returns the client the pipeline established for r; for a backend used on its
// own, outside the pipeline, one read from r alone (no proxy is trusted).
func clientOf(r *http.Request) *clientInfo {
	if c, ok := r.Context().Value(clientKey{}).(*clientInfo); ok {
		return c
	}
	c := &clientInfo{}
	newClient(c, r, nil, false, time.Time{})
	c.id = ""
	return c
}

// forwardedFor is the X-Forwarded-For value to send: the chain trusted proxies vouched
// for, then the peer.
func (c *clientInfo) forwardedFor() string {
	if len(c.viaProxy) == 0 {
		if c.peer == c.ip {
			return c.ipStr
		}
		return addrString(c.peer)
	}
	var b strings.Builder
	for _, a := range c.viaProxy {
		b.WriteString(a.String())
		b.WriteString(", ")
	}
	b.WriteString(c.peer.String())
	return b.String()
}

func addrString(a netip.Addr) string {
	if !a.IsValid() {
		return ""
	}
	return a.String()
}
