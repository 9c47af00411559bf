package main

import (
	"context"
	"crypto/tls"
	"fmt"
	"log/slog"
	"net/http"
	"path/filepath"
	"time"

	"github.com/portcullis/portcullis/certs"
	"github.com/portcullis/portcullis/config"
	"github.com/portcullis/portcullis/server"
)

// tlsSetup is what serve needs from the TLS mode in effect.
type tlsSetup struct {
	config        *tls.Config
	notAfter      func() time.Time
	reloader      server.Reloader                 // tls=files: watches the files
	acmeChallenge http.Handler                    // tls=acme with a plain-HTTP listener: HTTP-01
	caFile        string                          // tls=self-signed: what clients trust
	obtain        func(ctx context.Context) error // tls=acme: obtain certificates once listening
}

// buildTLS returns nil for tls=off.
func buildTLS(cfg config.Config, logger *slog.Logger) (*tlsSetup, error) {
	logger = logger.With("component", "tls")
	opts := certs.ServerOptions{}
	if cfg.TLSClientCA != "" {
		pool, err := certs.LoadCertPool(cfg.TLSClientCA)
		if err != nil {
			return nil, fmt.Errorf("tls_client_ca: %w", err)
		}
		opts.ClientCAs, opts.ClientAuthOptional = pool, true
	}
	s := &tlsSetup{}
	switch cfg.TLS {
	case config.TLSOff:
		logger.Warn("TLS is off: serving plain HTTP; only do this behind a TLS-terminating proxy listed in trusted_proxy")
		return nil, nil
	case config.TLSSelfSigned:
		ss, err := certs.NewSelfSigned(certs.SelfSignedOptions{Dir: filepath.Join(cfg.Data, "certs"), Hosts: cfg.Hostname, Logger: logger})
		if err != nil {
			return nil, fmt.Errorf("self-signed TLS: %w", err)
		}
		s.config = certs.ServerConfig(ss.GetCertificate, opts)
		s.notAfter, s.caFile = ss.NotAfter, ss.CAFile()
	case config.TLSFiles:
		f, err := certs.NewFiles(cfg.TLSCert, cfg.TLSKey, logger)
		if err != nil {
			return nil, fmt.Errorf("tls files: %w", err)
		}
		s.config = certs.ServerConfig(f.GetCertificate, opts)
		s.notAfter, s.reloader = f.NotAfter, f
	case config.TLSACME:
		a, err := certs.NewACME(certs.ACMEOptions{
			CacheDir:     filepath.Join(cfg.Data, "acme"),
			Hosts:        cfg.Hostname,
			Email:        cfg.ACMEEmail,
			DirectoryURL: cfg.ACMEDirectory,
			Logger:       logger,
		})
		if err != nil {
			return nil, fmt.Errorf("acme: %w", err)
		}
		opts.ExtraNextProtos = a.NextProtos()
		s.config = certs.ServerConfig(a.GetCertificate, opts)
		s.notAfter, s.obtain = a.NotAfter, a.Prefetch
		if cfg.HTTPListenAddr() != "" {
			s.acmeChallenge = a.HTTPChallenges()
		}
	}
	if na := s.notAfter(); !na.IsZero() {
		logger.Info("serving certificate", "not_after", na.Format(time.RFC3339), "expires_in", time.Until(na).Round(time.Hour).String())
	}
	return s, nil
}

// prefetch obtains the ACME certificates now rather than on the first handshake; the
// listeners must be open, as the CA connects back to answer the challenges.
func (s *tlsSetup) prefetch(ctx context.Context, logger *slog.Logger) {
	if s.obtain == nil {
		return
	}
	if err := s.obtain(ctx); err != nil {
		logger.Error("ACME: could not obtain a certificate yet; clients will trigger another attempt", "err", err)
		return
	}
	logger.Info("ACME certificate ready", "not_after", s.notAfter().Format(time.RFC3339))
}
