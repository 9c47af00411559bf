package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"

	"github.com/portcullis/portcullis/access"
	"github.com/portcullis/portcullis/audit"
	"github.com/portcullis/portcullis/config"
	"github.com/portcullis/portcullis/gateway"
	"github.com/portcullis/portcullis/health"
	"github.com/portcullis/portcullis/metrics"
	"github.com/portcullis/portcullis/notify"
	"github.com/portcullis/portcullis/registry"
	"github.com/portcullis/portcullis/server"
)

func runServe(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	l, code := parseFlags("serve", args, stdout, stderr, nil)
	if l == nil {
		return code
	}
	cfg, err := l.Load()
	if err := errors.Join(err, validateLimits(cfg)); err != nil {
		printProblems(stderr, err)
		return 1
	}
	logger := newLogger(cfg, stderr)
	if err := serve(ctx, cfg, logger); err != nil {
		logger.Error("gateway stopped", "err", err)
		return 1
	}
	return 0
}

func newLogger(cfg config.Config, w io.Writer) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(cfg.LogLevel)) // validated
	opts := &slog.HandlerOptions{Level: level}
	if cfg.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// serve builds every dependency from cfg and serves until ctx is cancelled, then shuts
// down gracefully within cfg.ShutdownTimeout.
func serve(ctx context.Context, cfg config.Config, logger *slog.Logger) error {
	if err := os.MkdirAll(cfg.Data, 0o700); err != nil {
		return fmt.Errorf("creating data directory: %w", err)
	}
	users, groups, err := buildUsers(cfg, logger)
	if err != nil {
		return err
	}
	reloaders := []server.Reloader{users}
	if groups != nil {
		reloaders = append(reloaders, groups)
	}
	tok, err := buildTokens(cfg, users, groups, logger) // token.go; nil unless tokens are configured
	if err != nil {
		return err
	}
	if tok != nil {
		reloaders = append(reloaders, tok.reloaders()...)
	}
	authz, policyReloader, err := buildAuthorizer(ctx, cfg, logger)
	if err != nil {
		return err
	}
	if policyReloader != nil {
		reloaders = append(reloaders, policyReloader)
	}
	ts, err := buildTLS(cfg, logger)
	if err != nil {
		return err
	}
	backend, attached, err := buildBackend(cfg, logger, tok.upstreamCredentials(cfg))
	if err != nil {
		return err
	}
	defer attached.Close()
	proxies, _ := cfg.TrustedPrefixes() // validated
	prom := metrics.New()
	trail, err := buildTrail(cfg, logger)
	if err != nil {
		return err
	}
	notifier, err := buildNotifier(cfg, backend, logger)
	if err != nil {
		return err
	}
	// Issue 11: the audit trail and the notifications are written last, on the way out.
	defer closeAudit(trail, notifier, logger)
	// The audit trail is the last observer: with --audit-fail closed it aborts the answer
	// to a write it could not record, and the others have counted the request by then.
	observers := []gateway.Observer{prom}
	if notifier != nil {
		observers = append(observers, notifier)
		prom.NotificationEndpoints(notifier.Stats)
	}
	if trail != nil {
		observers = append(observers, trail)
		prom.AuditSinks(trail.Stats)
	}
	uploads := gateway.NewUploadLimit(cfg.MaxUploads, cfg.MaxUploadsPerUser)
	prom.UploadsInFlight(uploads)
	login := newLogin(cfg, users, groups, prom)
	if tok != nil {
		login.Identities = tok.svc // a trusted issuer's identity token as a password
	}
	handler, err := gateway.New(gateway.Config{
		Backend:        backend,
		Authenticator:  newAuthenticator(cfg, login, groups, tok),
		Authorizer:     authz,
		Logger:         logger,
		Realm:          cfg.Realm,
		TrustedProxies: proxies,
		TLS:            ts != nil,
		Admitter:       uploads,
		Observers:      observers,
	})
	if err != nil {
		return fmt.Errorf("building the request pipeline: %w", err)
	}
	pipeline := handler
	if tok != nil {
		var tokenObservers []gateway.TokenObserver
		if trail != nil {
			tokenObservers = append(tokenObservers, trail) // token_issued, and failed logins at /token
		}
		if handler, err = tok.mount(handler, cfg, login, authz, proxies, ts != nil, tokenObservers, logger); err != nil {
			return err
		}
	}
	if handler, err = mountUI(handler, pipeline, cfg, login, authz, proxies, trail, logger); err != nil { // ui.go
		return err
	}

	sc := server.Config{
		Listen:          cfg.Listen,
		Handler:         prom.InFlight(handler),
		OpsListen:       cfg.MetricsListen,
		ShutdownTimeout: cfg.ShutdownTimeout,
		HeaderTimeout:   cfg.HeaderTimeout,
		BodyIdleTimeout: cfg.BodyIdleTimeout,
		MaxConnsPerIP:   cfg.MaxConnsPerIP,
		ConnLimitExempt: proxies,
		Limits:          prom,
		Logger:          logger,
	}
	if ts != nil {
		sc.TLS, sc.HTTPListen, sc.ACMEChallenge = ts.config, cfg.HTTPListenAddr(), ts.acmeChallenge
		if ts.reloader != nil {
			reloaders = append(reloaders, ts.reloader)
		}
		prom.CertExpiry(ts.notAfter)
	}
	sc.Ops = map[string]http.Handler{
		"/metrics": prom.Handler(),
		"/healthz": health.Live(),
		"/readyz":  health.Ready(health.DefaultTimeout, readiness(cfg, ts, users, authz, trail)...),
	}
	if trail != nil {
		recordReloads(trail, reloaders)
		reloaders = append(reloaders, trail) // SIGHUP reopens the audit log (logrotate)
	}
	sc.Reloaders = reloaders
	srv, err := server.Listen(sc)
	if err != nil {
		return err
	}
	announce(cfg, srv.Addr(), ts, logger)
	if ts != nil {
		go ts.prefetch(ctx, logger)
	}
	if b, ok := backend.(bundledBackend); ok {
		go b.purgeUploads(ctx, cfg.UploadPurgeAge, cfg.UploadPurgeInterval, logger)
	}
	return srv.Serve(ctx)
}

// closeAudit writes the audit trail's last checkpoint and gives the remote sinks and
// notification endpoints closeTimeout to deliver their queues; the rest is spilled for
// the next start.
func closeAudit(trail *audit.Trail, notifier *notify.Notifier, logger *slog.Logger) {
	ctx, cancel := context.WithTimeout(context.Background(), closeTimeout)
	defer cancel()
	if notifier != nil {
		if err := notifier.Close(ctx); err != nil {
			logger.Error("notifications at shutdown", "err", err)
		}
	}
	if trail != nil {
		if err := trail.Close(ctx); err != nil {
			logger.Error("audit trail at shutdown", "err", err)
		}
	}
}

// buildBackend returns the upstream proxy or the bundled registry, and what to close once
// serving has stopped: the bundled registry's Attach, which `gateway gc --delete` waits
// for on every replica serving the directory (deploy/scaleout/README.md, the GC rule).
func buildBackend(cfg config.Config, logger *slog.Logger, creds func(context.Context, []access.Resource, string) (string, error)) (http.Handler, io.Closer, error) {
	if cfg.Upstream != "" {
		u, _ := url.Parse(cfg.Upstream) // validated
		h, err := gateway.NewUpstream(u, gateway.UpstreamOptions{Logger: logger, Credentials: creds})
		if err != nil {
			return nil, nil, fmt.Errorf("upstream: %w", err)
		}
		return h, io.NopCloser(nil), nil
	}
	attached, err := registry.Attach(registryRoot(cfg))
	if err != nil {
		return nil, nil, fmt.Errorf("bundled registry: %w", err)
	}
	reg, err := registry.New(registry.Options{Root: registryRoot(cfg), Logger: logger.With("component", "registry")})
	if err != nil {
		attached.Close()
		return nil, nil, fmt.Errorf("bundled registry: %w", err)
	}
	return bundledBackend{gateway.NewInProcess(reg), reg}, attached, nil
}

// bundledBackend is the bundled registry's handler, with the registry for the upload purge.
type bundledBackend struct {
	http.Handler
	reg *registry.Registry
}

func registryRoot(cfg config.Config) string { return filepath.Join(cfg.Data, "registry") }
