package gateway

import (
	"net/http"
	"net/netip"
	"strings"
)

// ClientAddr is the address the pipeline takes r to come from: the peer, or behind a
// peer in trusted the nearest X-Forwarded-For entry that is not a trusted proxy, as the
// log, the policy and the login throttle read it. For handlers in front of the pipeline
// (the web UI's sign-in) that must judge a client as the pipeline would.
func ClientAddr(r *http.Request, trusted []netip.Prefix) netip.Addr {
	ip, _ := resolveClient(parsePeer(r.RemoteAddr), r.Header.Values("X-Forwarded-For"), trustedProxies(trusted))
	return ip
}

// maxForwardedHops bounds how many X-Forwarded-For entries are read, right to left.
const maxForwardedHops = 32

// trustedProxies is the set of peers whose X-Forwarded-* headers are believed.
type trustedProxies []netip.Prefix

func (t trustedProxies) contains(a netip.Addr) bool {
	for _, p := range t {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// parsePeer reads http.Request.RemoteAddr ("ip:port"); invalid when it is not one (a
// handler called directly, a unix socket).
func parsePeer(remoteAddr string) netip.Addr {
	if ap, err := netip.ParseAddrPort(remoteAddr); err == nil {
		return ap.Addr().Unmap()
	}
	a, _ := netip.ParseAddr(remoteAddr)
	return a.Unmap()
}

// resolveClient finds the client address behind trusted proxies. An untrusted peer is the
// client and its X-Forwarded-For is ignored. Behind a trusted peer, X-Forwarded-For is
// read from the right (the entries the nearest proxies appended) and the first address
// that is not itself a trusted proxy is the client; reading stops at an entry that does
// not parse, since nothing to its left can be vouched for. chain is the entries accepted,
// left to right, from the client on: what is forwarded before the peer's own address.
func resolveClient(peer netip.Addr, xff []string, trusted trustedProxies) (client netip.Addr, chain []netip.Addr) {
	if !peer.IsValid() || !trusted.contains(peer) || len(xff) == 0 {
		return peer, nil
	}
	entries := splitForwarded(xff)
	client = peer
	first := len(entries)
	for i := len(entries) - 1; i >= 0 && len(entries)-i <= maxForwardedHops; i-- {
		a, ok := parseForwardedAddr(entries[i])
		if !ok {
			break
		}
		client, first = a, i
		if !trusted.contains(a) {
			break
		}
	}
	for _, e := range entries[first:] {
		a, _ := parseForwardedAddr(e)
		chain = append(chain, a)
	}
	return client, chain
}

// splitForwarded splits every X-Forwarded-For header line on commas, trimming spaces.
func splitForwarded(lines []string) []string {
	var out []string
	for _, l := range lines {
		for e := range strings.SplitSeq(l, ",") {
			out = append(out, strings.TrimSpace(e))
		}
	}
	return out
}

// parseForwardedAddr reads one X-Forwarded-For entry: an IP, or ip:port / [ipv6]:port as
// some proxies write.
func parseForwardedAddr(e string) (netip.Addr, bool) {
	if a, err := netip.ParseAddr(e); err == nil && a.Zone() == "" {
		return a.Unmap(), true
	}
	if ap, err := netip.ParseAddrPort(e); err == nil && ap.Addr().Zone() == "" {
		return ap.Addr().Unmap(), true
	}
	return netip.Addr{}, false
}

// forwardedProto is the scheme the client used. With TLS on it is https. Otherwise a
// trusted peer's X-Forwarded-Proto decides when it says http or https; else http.
func forwardedProto(r *http.Request, tls, trustedPeer bool) string {
	if tls || r.TLS != nil {
		return "https"
	}
	if trustedPeer {
		switch strings.ToLower(strings.TrimSpace(firstEntry(r.Header.Get("X-Forwarded-Proto")))) {
		case "https":
			return "https"
		}
	}
	return "http"
}

// forwardedHost is the host the client addressed: a trusted peer's X-Forwarded-Host when
// it is a plausible host[:port], else the request's Host.
func forwardedHost(r *http.Request, trustedPeer bool) string {
	if trustedPeer {
		if h := strings.TrimSpace(firstEntry(r.Header.Get("X-Forwarded-Host"))); validHost(h) {
			return h
		}
	}
	return r.Host
}

func firstEntry(v string) string {
	s, _, _ := strings.Cut(v, ",")
	return s
}

// validHost accepts host[:port] spelled with letters, digits, '.', '-', ':' and IPv6
// brackets; it guards the Location headers the gateway writes from header injection.
func validHost(h string) bool {
	if h == "" || len(h) > 255 {
		return false
	}
	for i := 0; i < len(h); i++ {
		c := h[i]
		if !isAlnum(c) && c != '.' && c != '-' && c != ':' && c != '[' && c != ']' {
			return false
		}
	}
	return true
}

// validRequestID accepts a trusted proxy's X-Request-Id when it is short and plain.
func validRequestID(id string) bool {
	if id == "" || len(id) > 128 {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !isAlnum(c) && c != '-' && c != '_' && c != '.' {
			return false
		}
	}
	return true
}
