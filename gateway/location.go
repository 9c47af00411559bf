package gateway

import (
	"net/url"
	"strings"
)

// clientLocation rewrites a Location header from the upstream so the client never sees
// the upstream's address nor a scheme downgrade: an absolute URL on the upstream's host,
// or on the client-facing host, becomes the client-facing scheme and host (a relative
// reference when the client's host is unknown), with the upstream's path prefix removed.
// Relative references and URLs on other hosts (a storage redirect) are left alone.
func clientLocation(loc string, target *url.URL, c *clientInfo) string {
	u, err := url.Parse(loc)
	if err != nil || u.Host == "" {
		return loc
	}
	onUpstream := sameAuthority(u, target)
	onClient := c.host != "" && strings.EqualFold(u.Host, c.host)
	if !onUpstream && !onClient {
		return loc
	}
	if onUpstream && target.Path != "" {
		if p, ok := strings.CutPrefix(u.Path, target.Path); ok && strings.HasPrefix(p, "/") {
			u.Path, u.RawPath = p, ""
		}
	}
	u.User = nil
	if c.host != "" {
		u.Scheme, u.Host = c.proto, c.host
	} else {
		u.Scheme, u.Host = "", ""
	}
	return u.String()
}

// sameAuthority compares hosts and ports, filling in the scheme's default port.
func sameAuthority(a, b *url.URL) bool {
	return strings.EqualFold(a.Hostname(), b.Hostname()) && portOf(a) == portOf(b)
}

func portOf(u *url.URL) string {
	if p := u.Port(); p != "" {
		return p
	}
	switch strings.ToLower(u.Scheme) {
	case "https":
		return "443"
	case "http":
		return "80"
	}
	return ""
}
