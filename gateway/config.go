package gateway

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"time"
)

// DefaultRealm is the Basic realm used when Config.Realm is empty.
const DefaultRealm = "portcullis"

// Config is everything New needs. Backend, Authenticator, Authorizer and Logger are
// required; the rest have the defaults written on each field.
type Config struct {
	// Backend receives every request the gateway lets through, with the path it judged:
	// NewInProcess for the bundled registry, NewUpstream for a registry at a URL.
	Backend http.Handler
	// Authenticator says who is calling.
	Authenticator Authenticator
	// Authorizer decides what the caller may do: the policy package's engine (the gateway
	// command uses its built-in default policy unless one is configured), or
	// AllowAuthenticated{} in tests and embeddings.
	Authorizer Authorizer
	// Observers are told of every request with its Record once it has been answered:
	// metrics, the audit trail. The access log (Logger) reads the same Record.
	Observers []Observer
	// Logger receives the access log (Info, one line per request) and errors.
	Logger *slog.Logger
	// Realm is the Basic realm of the default challenge. Default DefaultRealm. It may
	// not contain '"', '\' or control characters.
	Realm string
	// TrustedProxies are the peers whose Forwarded-style headers (X-Forwarded-For,
	// -Proto, -Host, X-Request-Id) are believed. Default none: every peer is the client.
	// Each must be a masked prefix, e.g. 10.0.0.0/8 or 192.0.2.7/32.
	TrustedProxies []netip.Prefix
	// TLS says the gateway itself serves HTTPS, so clients are on https whatever a proxy
	// says. With TLS off, a trusted proxy's X-Forwarded-Proto decides.
	TLS bool
	// Now is the clock for request start times and durations. Default time.Now.
	Now func() time.Time
}

// Validate reports every problem with c at once, joined.
func (c Config) Validate() error {
	var errs []error
	if c.Backend == nil {
		errs = append(errs, errors.New("gateway: Backend is required: use NewInProcess(registry) or NewUpstream(url)"))
	}
	if c.Authenticator == nil {
		errs = append(errs, errors.New("gateway: Authenticator is required"))
	}
	if c.Authorizer == nil {
		errs = append(errs, errors.New("gateway: Authorizer is required: use gateway.AllowAuthenticated{} for 'any logged-in user may do anything'"))
	}
	for i, o := range c.Observers {
		if o == nil {
			errs = append(errs, fmt.Errorf("gateway: Observers[%d] is nil", i))
		}
	}
	if c.Logger == nil {
		errs = append(errs, errors.New("gateway: Logger is required"))
	}
	for i := 0; i < len(c.Realm); i++ {
		if b := c.Realm[i]; b == '"' || b == '\\' || b < 0x20 || b == 0x7f {
			errs = append(errs, fmt.Errorf("gateway: Realm %q: remove quotes, backslashes and control characters", c.Realm))
			break
		}
	}
	for i, p := range c.TrustedProxies {
		switch {
		case !p.IsValid():
			errs = append(errs, fmt.Errorf("gateway: TrustedProxies[%d] is not a valid prefix", i))
		case p != p.Masked():
			errs = append(errs, fmt.Errorf("gateway: TrustedProxies[%d] %s has host bits set: write %s", i, p, p.Masked()))
		}
	}
	return errors.Join(errs...)
}
