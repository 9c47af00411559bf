package config

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"
)

// Validate checks every field and returns all problems joined, each a *Problem naming
// the key and saying how to fix it. It reads the file system (files that must exist) but
// changes nothing. Loader.Load adds where each key was set.
func (c Config) Validate() error {
	var errs []error
	bad := func(key, format string, args ...any) {
		errs = append(errs, problemf(Source{}, key, format, args...))
	}
	checkAddr := func(key, addr string) {
		if _, port, err := net.SplitHostPort(addr); err != nil || port == "" {
			bad(key, "%q is not host:port (write e.g. :8443 or 127.0.0.1:8443)", addr)
		}
	}
	checkFile := func(key, path string) {
		if path == "" {
			return
		}
		if _, err := os.Stat(path); err != nil {
			bad(key, "%s: %v", path, errors.Unwrap(err))
		}
	}

	checkAddr("listen", c.Listen)
	if c.Data == "" {
		bad("data", "is empty; name a directory the gateway may write to, e.g. ./data")
	}
	checkFile("htpasswd", c.Htpasswd)
	checkFile("groups", c.Groups)
	checkFile("policy", c.Policy)
	if c.Upstream != "" {
		if msg := checkUpstream(c.Upstream); msg != "" {
			bad("upstream", "%q %s", c.Upstream, msg)
		}
	}
	switch c.TLS {
	case TLSSelfSigned, TLSOff:
	case TLSFiles:
		if c.TLSCert == "" || c.TLSKey == "" {
			bad("tls", "files needs both tls_cert and tls_key (--tls-cert, --tls-key)")
		}
		checkFile("tls_cert", c.TLSCert)
		checkFile("tls_key", c.TLSKey)
	case TLSACME:
		if len(c.Hostname) == 0 {
			bad("tls", "acme needs at least one hostname (--hostname registry.example.com)")
		}
		for _, h := range c.Hostname {
			if _, err := netip.ParseAddr(h); err == nil || !strings.Contains(h, ".") {
				bad("hostname", "%q cannot get an ACME certificate: use a DNS name such as registry.example.com", h)
			}
		}
		if c.ACMEDirectory != "" {
			if u, err := url.Parse(c.ACMEDirectory); err != nil || u.Scheme != "https" || u.Host == "" {
				bad("acme_directory", "%q must be an https:// URL", c.ACMEDirectory)
			}
		}
	default:
		bad("tls", "%q is not a mode: use self-signed, files, acme or off", c.TLS)
	}
	if c.TLS != TLSFiles && (c.TLSCert != "" || c.TLSKey != "") {
		bad("tls_cert", "is set but tls is %q; add --tls files or remove it", c.TLS)
	}
	if c.TLSClientCA != "" {
		if c.TLS == TLSOff {
			bad("tls_client_ca", "needs TLS; it cannot be used with tls off")
		}
		checkFile("tls_client_ca", c.TLSClientCA)
	}
	for _, h := range c.Hostname {
		if h == "" || strings.ContainsAny(h, " /:@") {
			bad("hostname", "%q is not a host name", h)
		}
	}
	if msg := c.checkPublicURL(); msg != "" {
		bad("public_url", "%q %s", c.PublicURL, msg)
	}
	if a := c.HTTPListenAddr(); a != "" {
		checkAddr("http_listen", a)
		if c.TLS == TLSOff {
			bad("http_listen", "redirects to HTTPS, which tls off does not serve; remove it")
		}
	}
	if c.MetricsListen != "" {
		checkAddr("metrics_listen", c.MetricsListen)
	}
	if _, err := c.TrustedPrefixes(); err != nil {
		errs = append(errs, err)
	}
	if c.Realm == "" || strings.ContainsAny(c.Realm, "\"\\\r\n") {
		bad("realm", "%q must be non-empty, without quotes, backslashes or line breaks", c.Realm)
	}
	if c.ShutdownTimeout <= 0 {
		bad("shutdown_timeout", "must be positive, e.g. 60s")
	}
	if c.HeaderTimeout <= 0 {
		bad("header_timeout", "must be positive, e.g. 30s")
	}
	if c.UI && (c.UISessionTTL < time.Minute || c.UISessionTTL > 7*24*time.Hour) {
		bad("ui_session_ttl", "must be between 1m and 168h, e.g. 1h")
	}
	if c.BodyIdleTimeout < 0 {
		bad("body_idle_timeout", "must be 0 (off) or positive, e.g. 60s")
	}
	for _, f := range []struct {
		key string
		n   int
	}{{"max_uploads", c.MaxUploads}, {"max_uploads_per_user", c.MaxUploadsPerUser}, {"max_conns_per_ip", c.MaxConnsPerIP}} {
		if f.n < 0 {
			bad(f.key, "must be 0 (no cap) or positive")
		}
	}
	if c.LogFormat != "text" && c.LogFormat != "json" {
		bad("log_format", "%q: use text or json", c.LogFormat)
	}
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		bad("log_level", "%q: use debug, info, warn or error", c.LogLevel)
	}
	c.validateAudit(bad, checkFile)
	errs = append(errs, c.tokenProblems()...) // token.go
	return errors.Join(errs...)
}

// TrustedPrefixes parses TrustedProxy; a bare address is a single-address prefix.
func (c Config) TrustedPrefixes() ([]netip.Prefix, error) {
	var out []netip.Prefix
	var errs []error
	for _, s := range c.TrustedProxy {
		if p, err := netip.ParsePrefix(s); err == nil {
			out = append(out, p.Masked())
			continue
		}
		if a, err := netip.ParseAddr(s); err == nil {
			out = append(out, netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()))
			continue
		}
		errs = append(errs, problemf(Source{}, "trusted_proxy", "%q is neither an address nor a CIDR (write e.g. 10.0.0.0/8)", s))
	}
	return out, errors.Join(errs...)
}

func joinPath(dir, name string) string { return filepath.Join(dir, name) }

// pathSegment is what an upstream's path prefix may hold between slashes: the URL's
// unreserved characters, so the prefix needs no escaping and reads one way only.
var pathSegment = regexp.MustCompile(`^[A-Za-z0-9._~-]+$`)

// checkUpstream says what is wrong with an upstream URL, or "". It may carry a path
// prefix (http://mirror:5000/registry), which the gateway puts before every path it
// forwards; a query, a fragment or credentials have no meaning there.
func checkUpstream(s string) string {
	lower := strings.ToLower(s)
	if !strings.HasPrefix(lower, "http://") && !strings.HasPrefix(lower, "https://") {
		return "must start with http:// or https://"
	}
	u, err := url.Parse(s)
	switch {
	case err != nil:
		return fmt.Sprintf("is not a URL: %v", errors.Unwrap(err))
	case u.Hostname() == "" || u.Opaque != "":
		return "has no host (write e.g. http://127.0.0.1:5000)"
	case u.User != nil:
		return "must not hold credentials; the gateway sends the upstream none"
	case u.RawQuery != "" || u.ForceQuery || u.Fragment != "" || strings.Contains(s, "#"):
		return "must be scheme://host[:port][/path], without a query or fragment"
	}
	if p := strings.TrimSuffix(u.EscapedPath(), "/"); p != "" {
		for _, seg := range strings.Split(p[1:], "/") {
			if !pathSegment.MatchString(seg) || seg == "." || seg == ".." {
				return "has a path prefix with an empty, dot or escaped segment; write it plainly, e.g. http://mirror:5000/registry"
			}
		}
	}
	return ""
}
