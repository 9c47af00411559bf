package certs

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"golang.org/x/crypto/acme"
	"golang.org/x/crypto/acme/autocert"
)

// ACMEOptions configures NewACME.
type ACMEOptions struct {
	// CacheDir keeps the account key and certificates across restarts (autocert.DirCache;
	// created 0700). Typically <data>/acme. Required: without it every restart would ask the
	// CA for new certificates and soon hit its rate limits.
	CacheDir string
	// Hosts are the only names certificates are requested for (the host policy). Each must
	// be a DNS name with at least one dot; ACME via autocert does not do IP addresses.
	Hosts []string
	// Email is the optional account contact, for expiry and incident notices from the CA.
	Email string
	// DirectoryURL is the ACME directory; empty means Let's Encrypt production
	// (autocert.DefaultACMEDirectory). Staging or a company's internal ACME CA go here.
	DirectoryURL string
	// HTTPClient talks to the ACME server, e.g. trusting a private ACME CA's root; nil means
	// http.DefaultClient.
	HTTPClient *http.Client
	// RenewBefore is how long before expiry a certificate is renewed (capped at 30 days by
	// autocert); zero means a third of the certificate's lifetime.
	RenewBefore time.Duration
	// Logger receives issuance events; nil discards them.
	Logger *slog.Logger
}

// ACME obtains and renews certificates from an ACME CA through autocert. Challenges are
// answered by TLS-ALPN-01 on the HTTPS listener (which must offer NextProtos) and, when
// HTTPChallenges answers on port 80, by HTTP-01 as well.
type ACME struct {
	m        *autocert.Manager
	hosts    []string
	logger   *slog.Logger
	notAfter atomic.Pointer[time.Time]
	onStored func(name string, notAfter time.Time) // tests: told of every certificate cached
}

// NewACME builds the autocert manager; certificates are requested on the first handshake
// for each host and renewed in the background.
func NewACME(opts ACMEOptions) (*ACME, error) {
	var errs []error
	if opts.CacheDir == "" {
		errs = append(errs, errors.New("ACME needs a cache directory (set the data directory)"))
	}
	if len(opts.Hosts) == 0 {
		errs = append(errs, errors.New("ACME needs at least one --hostname"))
	}
	n, err := parseHosts(opts.Hosts)
	if err != nil {
		errs = append(errs, err)
	}
	if len(n.IPs) > 0 {
		errs = append(errs, fmt.Errorf("ACME cannot certify IP addresses (%v); use host names", n.IPs))
	}
	for _, h := range n.DNS {
		if !strings.Contains(h, ".") || strings.HasPrefix(h, "*.") {
			errs = append(errs, fmt.Errorf("ACME host %q: need a fully qualified name without wildcard", h))
		}
	}
	if opts.RenewBefore < 0 {
		errs = append(errs, errors.New("ACME renew-before must not be negative"))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	a := &ACME{hosts: n.DNS, logger: opts.Logger}
	if a.logger == nil {
		a.logger = slog.New(slog.DiscardHandler)
	}
	client := &acme.Client{
		DirectoryURL: opts.DirectoryURL,
		HTTPClient:   opts.HTTPClient,
		UserAgent:    "portcullis",
	}
	if client.DirectoryURL == "" {
		client.DirectoryURL = autocert.DefaultACMEDirectory
	}
	a.m = &autocert.Manager{
		Prompt:      autocert.AcceptTOS,
		Cache:       &watchedCache{Cache: autocert.DirCache(opts.CacheDir), acme: a},
		HostPolicy:  autocert.HostWhitelist(n.DNS...),
		RenewBefore: opts.RenewBefore,
		Client:      client,
		Email:       opts.Email,
	}
	return a, nil
}

// GetCertificate returns the certificate for the requested name, obtaining it on first use.
func (a *ACME) GetCertificate(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
	cert, err := a.m.GetCertificate(hello)
	if err != nil {
		// Scanners ask for random names all day; only failures for our own names matter.
		level := slog.LevelDebug
		if slices.Contains(a.hosts, strings.ToLower(strings.TrimSuffix(hello.ServerName, "."))) {
			level = slog.LevelWarn
		}
		ctx := hello.Context()
		if ctx == nil {
			ctx = context.Background()
		}
		a.logger.Log(ctx, level, "ACME certificate unavailable", "server_name", hello.ServerName, "err", err)
		return nil, err
	}
	return cert, nil
}

// NextProtos are the ALPN protocols the HTTPS listener must offer for TLS-ALPN-01; pass them
// as ServerOptions.ExtraNextProtos.
func (a *ACME) NextProtos() []string { return []string{acme.ALPNProto} }

// HTTPChallenges answers HTTP-01 challenges: the requests under
// /.well-known/acme-challenge/ on port 80, which the caller routes here (package server
// does). Calling it turns HTTP-01 on; without it only TLS-ALPN-01 is used.
func (a *ACME) HTTPChallenges() http.Handler {
	challenges := a.m.HTTPHandler(nil)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// autocert checks the Host header, port included, against the host policy. A CA
		// validating on another port than 80 (an internal ACME CA, pebble) sends one.
		if host, _, err := net.SplitHostPort(r.Host); err == nil {
			r = r.Clone(r.Context())
			r.Host = host
		}
		challenges.ServeHTTP(w, r)
	})
}

// Hosts are the names certificates are requested for.
func (a *ACME) Hosts() []string { return slices.Clone(a.hosts) }

// NotAfter is the earliest expiry among certificates obtained or loaded so far, zero before
// the first one.
func (a *ACME) NotAfter() time.Time {
	if t := a.notAfter.Load(); t != nil {
		return *t
	}
	return time.Time{}
}

// Prefetch loads or obtains the certificate of every host now instead of on the first
// client's handshake, so start-up logs the expiry and problems show early. The listeners
// must already be serving, as the CA connects back to answer the challenges.
func (a *ACME) Prefetch(ctx context.Context) error {
	var errs []error
	for _, h := range a.hosts {
		// A hello like a modern client's, so autocert picks the ECDSA certificate.
		hello := &tls.ClientHelloInfo{
			ServerName:       h,
			CipherSuites:     []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256},
			SignatureSchemes: []tls.SignatureScheme{tls.ECDSAWithP256AndSHA256},
			SupportedCurves:  []tls.CurveID{tls.CurveP256},
		}
		// autocert takes no context (it bounds issuance at five minutes itself), so on
		// cancellation we stop waiting and let the attempt finish in the background.
		done := make(chan error, 1)
		go func() { _, err := a.m.GetCertificate(hello); done <- err }()
		select {
		case err := <-done:
			if err != nil {
				errs = append(errs, fmt.Errorf("obtaining certificate for %s: %w", h, err))
			}
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return errors.Join(errs...)
}
