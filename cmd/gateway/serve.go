package main

import (
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/portcullis/portcullis/access"
	"github.com/portcullis/portcullis/config"
	"github.com/portcullis/portcullis/gateway"
	"github.com/portcullis/portcullis/registry"
)

func runServe(ctx context.Context, args []string, stderr io.Writer) int {
	cfg, code := loadConfig("serve", args, stderr)
	if code != 0 {
		return code
	}
	logger := newLogger(cfg, stderr)
	if err := serve(ctx, cfg, logger); err != nil {
		logger.Error("gateway stopped", "err", err)
		return 1
	}
	return 0
}

// loadConfig parses flags, reads and validates the configuration. A non-zero code means
// the problems were printed and the command should exit with it.
func loadConfig(name string, args []string, stderr io.Writer) (config.Config, int) {
	cfg, code := readConfig(name, args, stderr, nil)
	if code != 0 {
		return cfg, code
	}
	if err := cfg.Validate(); err != nil {
		printProblems(stderr, err)
		return cfg, 1
	}
	return cfg, 0
}

// readConfig parses the configuration flags (and any a subcommand adds with extra) and
// reads the configuration from its sources, without validating it.
func readConfig(name string, args []string, stderr io.Writer, extra func(*flag.FlagSet)) (config.Config, int) {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	if extra != nil {
		extra(fs)
	}
	loader := config.NewLoader(fs, os.LookupEnv)
	if err := fs.Parse(args); err != nil {
		return config.Config{}, 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "gateway %s: unexpected argument %q\n", name, fs.Arg(0))
		return config.Config{}, 2
	}
	cfg, err := loader.Load()
	if err != nil {
		printProblems(stderr, err)
		return cfg, 1
	}
	return cfg, 0
}

func printProblems(w io.Writer, err error) {
	fmt.Fprintln(w, "gateway: configuration problems:")
	for _, e := range unjoin(err) {
		fmt.Fprintf(w, "  - %v\n", e)
	}
}

func unjoin(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out []error
		for _, e := range j.Unwrap() {
			out = append(out, unjoin(e)...)
		}
		return out
	}
	return []error{err}
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
	var reloaders []reloader

	users, groups, err := buildUsers(cfg, logger)
	if err != nil {
		return err
	}
	reloaders = append(reloaders, reloader{"htpasswd", users.Run, users.Reload})
	if groups != nil {
		reloaders = append(reloaders, reloader{"groups", groups.Run, groups.Reload})
	}
	tok, err := buildTokens(cfg, users, groups, logger) // token.go; nil unless tokens are configured
	if err != nil {
		return err
	}
	if tok != nil {
		reloaders = append(reloaders, tok.reloaders()...)
	}
	authz, authzReloader, err := buildAuthorizer(ctx, cfg, logger)
	if err != nil {
		return err
	}
	if authzReloader != nil {
		reloaders = append(reloaders, *authzReloader)
	}
	backend, err := buildBackend(cfg, logger, tok.upstreamCredentials(cfg))
	if err != nil {
		return err
	}
	proxies, _ := cfg.TrustedPrefixes() // validated
	metrics := newMetrics()
	handler, err := gateway.New(gateway.Config{
		Backend:        backend,
		Authenticator:  newAuthenticator(cfg, users, groups, tok),
		Authorizer:     authz,
		Logger:         logger,
		Realm:          cfg.Realm,
		TrustedProxies: proxies,
		TLS:            cfg.TLS != config.TLSOff,
		Observers:      []gateway.Observer{metrics},
	})
	if err != nil {
		return fmt.Errorf("building the request pipeline: %w", err)
	}
	if tok != nil {
		if handler, err = tok.mount(handler, cfg, users, groups, authz, proxies, logger); err != nil {
			return err
		}
	}
	handler = metrics.inFlight(handler)

	tlsSetup, err := buildTLS(cfg, logger)
	if err != nil {
		return err
	}
	if tlsSetup != nil {
		handler = gateway.HSTS(365 * 24 * time.Hour)(handler)
		if tlsSetup.reloader != nil {
			reloaders = append(reloaders, *tlsSetup.reloader)
		}
		metrics.certExpiry(tlsSetup.notAfter)
	}

	main := &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: 30 * time.Second,
		// No ReadTimeout or WriteTimeout: a 10 GiB push takes minutes. Idle connections
		// are closed, and headers must arrive promptly (slowloris).
		IdleTimeout:    2 * time.Minute,
		MaxHeaderBytes: 64 << 10,
		ErrorLog:       slog.NewLogLogger(logger.Handler(), slog.LevelDebug),
	}
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	if tlsSetup != nil {
		main.TLSConfig = tlsSetup.config
		if err := serveHTTP2Batched(main); err != nil {
			ln.Close()
			return fmt.Errorf("http/2: %w", err)
		}
		ln = tls.NewListener(ln, tlsSetup.config)
	}
	servers := []*http.Server{main}
	listeners := []net.Listener{ln}

	if addr := cfg.HTTPListenAddr(); addr != "" && tlsSetup != nil {
		_, port, _ := net.SplitHostPort(ln.Addr().String())
		var h http.Handler = gateway.RedirectToHTTPS(port)
		if tlsSetup.httpHandler != nil {
			h = tlsSetup.httpHandler(h)
		}
		hl, err := net.Listen("tcp", addr)
		if err != nil {
			ln.Close()
			return fmt.Errorf("http_listen: %w", err)
		}
		servers = append(servers, &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: time.Minute})
		listeners = append(listeners, hl)
	}
	if cfg.MetricsListen != "" {
		ml, err := net.Listen("tcp", cfg.MetricsListen)
		if err != nil {
			for _, l := range listeners {
				l.Close()
			}
			return fmt.Errorf("metrics_listen: %w", err)
		}
		servers = append(servers, &http.Server{Handler: metrics.handler(), ReadHeaderTimeout: 10 * time.Second})
		listeners = append(listeners, ml)
	}

	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	for _, r := range reloaders {
		go r.run(runCtx)
	}
	go reloadOnHangup(runCtx, reloaders, logger)

	errc := make(chan error, len(servers))
	for i, s := range servers {
		go func() {
			if err := s.Serve(listeners[i]); !errors.Is(err, http.ErrServerClosed) {
				errc <- err
			}
		}()
	}
	announce(cfg, ln.Addr(), tlsSetup, logger)
	if tlsSetup != nil && tlsSetup.prefetch != nil {
		go func() {
			if err := tlsSetup.prefetch(runCtx); err != nil {
				logger.Error("ACME: could not obtain a certificate yet; clients will trigger another attempt", "err", err)
				return
			}
			logger.Info("ACME certificate ready", "not_after", tlsSetup.notAfter().Format(time.RFC3339))
		}()
	}

	select {
	case <-ctx.Done():
		logger.Info("shutting down: refusing new connections, letting in-flight requests finish", "timeout", cfg.ShutdownTimeout)
	case err := <-errc:
		cancel()
		shutdown(servers, cfg.ShutdownTimeout, logger)
		return err
	}
	shutdown(servers, cfg.ShutdownTimeout, logger)
	return nil
}

func shutdown(servers []*http.Server, timeout time.Duration, logger *slog.Logger) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	for _, s := range servers {
		if err := s.Shutdown(ctx); err != nil {
			logger.Warn("in-flight requests did not finish in time; closing them", "err", err)
			s.Close()
		}
	}
}

// reloader is one thing that reloads itself from files (users, groups, policy,
// certificates): run watches until ctx ends; reload is the SIGHUP path. Both keep the
// last good version on failure and log why.
type reloader struct {
	name   string
	run    func(ctx context.Context)
	reload func() error
}

// reloadOnHangup reloads every reloader on SIGHUP; each keeps its last good state on
// failure and logs why.
func reloadOnHangup(ctx context.Context, rs []reloader, logger *slog.Logger) {
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	for {
		select {
		case <-ctx.Done():
			return
		case <-hup:
			logger.Info("SIGHUP: reloading users, groups, policy and certificates")
			for _, r := range rs {
				if err := r.reload(); err != nil {
					logger.Error("reload failed; keeping the last good version", "what", r.name, "err", err)
				}
			}
		}
	}
}

func buildBackend(cfg config.Config, logger *slog.Logger, creds func(context.Context, []access.Resource, string) (string, error)) (http.Handler, error) {
	if cfg.Upstream != "" {
		u, _ := url.Parse(cfg.Upstream) // validated
		h, err := gateway.NewUpstream(u, gateway.UpstreamOptions{Logger: logger, Credentials: creds})
		if err != nil {
			return nil, fmt.Errorf("upstream: %w", err)
		}
		return h, nil
	}
	reg, err := registry.New(registry.Options{Root: registryRoot(cfg), Logger: logger.With("component", "registry")})
	if err != nil {
		return nil, fmt.Errorf("bundled registry: %w", err)
	}
	return gateway.NewInProcess(reg), nil
}

func registryRoot(cfg config.Config) string { return filepath.Join(cfg.Data, "registry") }
