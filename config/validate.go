package config

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"strings"
)

// Validate checks every field and returns all problems joined, each naming the key and
// saying how to fix it. It reads the file system (files that must exist) but changes
// nothing.
func (c Config) Validate() error {
	var errs []error
	bad := func(key, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", key, fmt.Sprintf(format, args...)))
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
		u, err := url.Parse(c.Upstream)
		switch {
		case err != nil:
			bad("upstream", "%q is not a URL: %v", c.Upstream, err)
		case u.Scheme != "http" && u.Scheme != "https":
			bad("upstream", "%q must start with http:// or https://", c.Upstream)
		case u.Host == "":
			bad("upstream", "%q has no host (write e.g. http://127.0.0.1:5000)", c.Upstream)
		case u.Path != "" && u.Path != "/", u.RawQuery != "", u.User != nil:
			bad("upstream", "%q must be scheme://host[:port] only, without path, query or credentials", c.Upstream)
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
	if c.LogFormat != "text" && c.LogFormat != "json" {
		bad("log_format", "%q: use text or json", c.LogFormat)
	}
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		bad("log_level", "%q: use debug, info, warn or error", c.LogLevel)
	}
	c.validateAudit(bad, checkFile)
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
		errs = append(errs, fmt.Errorf("trusted_proxy: %q is neither an address nor a CIDR (write e.g. 10.0.0.0/8)", s))
	}
	return out, errors.Join(errs...)
}

func joinPath(dir, name string) string { return filepath.Join(dir, name) }
