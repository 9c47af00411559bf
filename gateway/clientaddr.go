package gateway

import (
	"net/http"
	"net/netip"
)

// ClientAddr is the client address of r as the pipeline establishes it: the peer, or
// behind one of the trusted proxies the nearest X-Forwarded-For entry that is not one.
// For handlers mounted beside the pipeline (the web UI's sign-in throttle), so that they
// and the pipeline name the same client.
func ClientAddr(r *http.Request, trusted []netip.Prefix) netip.Addr {
	client, _ := resolveClient(parsePeer(r.RemoteAddr), r.Header.Values("X-Forwarded-For"), trusted)
	return client
}
