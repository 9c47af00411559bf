package server

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"sync"
	"time"
)

// Config says what to serve where. Listen and Handler are required.
type Config struct {
	// Listen is the main listener's address; port 0 picks a free one (see Server.Addr).
	Listen string
	// Handler answers every request on the main listener: the request pipeline.
	Handler http.Handler
	// TLS, when set, makes the main listener HTTPS, with HTTP/2 and HSTS. Nil serves plain
	// HTTP, for a TLS-terminating proxy in front.
	TLS *tls.Config
	// HTTPListen, when set along with TLS, is a plain-HTTP listener redirecting to HTTPS.
	// Without TLS there is nothing to redirect to, and it is ignored.
	HTTPListen string
	// ACMEChallenge answers ACME HTTP-01 challenges, the requests under
	// /.well-known/acme-challenge/ on HTTPListen; nil answers them 404.
	ACMEChallenge http.Handler
	// OpsListen, when set, is the operations listener's address. It serves Ops only; keep
	// it off the public network.
	OpsListen string
	// Ops maps http.ServeMux patterns to the operations listener's handlers ("/metrics").
	Ops map[string]http.Handler
	// Reloaders run while the server serves, and each is reloaded on SIGHUP.
	Reloaders []Reloader
	// ShutdownTimeout bounds how long in-flight requests may run once the context ends;
	// then their connections are closed.
	ShutdownTimeout time.Duration
	// Logger receives start, shutdown and connection-error messages; nil discards them.
	Logger *slog.Logger
}

// Reloader is something that keeps itself current from files: Run watches until ctx ends;
// Reload is SIGHUP's forced reload. Both keep the last good version when the new one is
// broken, and log why; Reload also returns it. internal/reload's Value implements it, and
// so do auth.Htpasswd, auth.Groups, policy.Reloader and certs.Files.
type Reloader interface {
	Name() string
	Run(ctx context.Context)
	Reload(ctx context.Context) error
}

// Server timeouts; see the package doc.
const (
	readHeaderTimeout = 30 * time.Second
	idleTimeout       = 2 * time.Minute
	maxHeaderBytes    = 64 << 10
	// The redirect and operations listeners answer short requests only.
	sideReadHeaderTimeout = 10 * time.Second
	sideIdleTimeout       = time.Minute
)

// Server is a set of listeners, open and ready to serve.
type Server struct {
	cfg    Config
	logger *slog.Logger
	// servers and listeners pair up; the main one is first, the operations one last, so
	// /metrics answers while requests drain.
	servers   []*http.Server
	listeners []net.Listener
	// hangup receives the signals that reload; nil means SIGHUP (tests send their own).
	hangup <-chan os.Signal
}

// Listen opens every listener cfg names. When one cannot be opened, those already open
// are closed and the error says which listener failed.
func Listen(cfg Config) (*Server, error) {
	s := &Server{cfg: cfg, logger: cfg.Logger}
	if s.logger == nil {
		s.logger = slog.New(slog.DiscardHandler)
	}
	errorLog := slog.NewLogLogger(s.logger.Handler(), slog.LevelDebug)
	main := &http.Server{
		Handler:           cfg.Handler,
		ReadHeaderTimeout: readHeaderTimeout,
		// No ReadTimeout or WriteTimeout: a 10 GiB push takes minutes. Idle connections
		// are closed, and headers must arrive promptly (slowloris).
		IdleTimeout:    idleTimeout,
		MaxHeaderBytes: maxHeaderBytes,
		ErrorLog:       errorLog,
	}
	if cfg.TLS != nil {
		main.Handler = hsts(hstsMaxAge)(cfg.Handler)
		main.TLSConfig = cfg.TLS
		if err := serveHTTP2Batched(main); err != nil {
			return nil, fmt.Errorf("http/2: %w", err)
		}
	}
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return nil, fmt.Errorf("main listener: %w", err)
	}
	if cfg.TLS != nil {
		ln = tls.NewListener(ln, cfg.TLS)
	}
	s.servers, s.listeners = append(s.servers, main), append(s.listeners, ln)

	if cfg.TLS != nil && cfg.HTTPListen != "" {
		_, port, _ := net.SplitHostPort(ln.Addr().String())
		redirect := &http.Server{
			Handler:           redirectToHTTPS(port, cfg.ACMEChallenge),
			ReadHeaderTimeout: sideReadHeaderTimeout,
			IdleTimeout:       sideIdleTimeout,
			ErrorLog:          errorLog,
		}
		if err := s.listen("plain-HTTP listener", cfg.HTTPListen, redirect); err != nil {
			return nil, err
		}
	}
	if cfg.OpsListen != "" {
		mux := http.NewServeMux()
		for pattern, h := range cfg.Ops {
			mux.Handle(pattern, h)
		}
		ops := &http.Server{
			Handler:           mux,
			ReadHeaderTimeout: sideReadHeaderTimeout,
			IdleTimeout:       sideIdleTimeout,
			ErrorLog:          errorLog,
		}
		if err := s.listen("operations listener", cfg.OpsListen, ops); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// listen adds srv on a new listener at addr; on failure it closes every listener opened.
func (s *Server) listen(what, addr string, srv *http.Server) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		for _, l := range s.listeners {
			l.Close()
		}
		return fmt.Errorf("%s: %w", what, err)
	}
	s.servers, s.listeners = append(s.servers, srv), append(s.listeners, ln)
	return nil
}

// Addr is the main listener's address, with the port it got.
func (s *Server) Addr() net.Addr { return s.listeners[0].Addr() }

// Serve serves on every listener and runs the reloaders until ctx ends, then shuts down
// gracefully (see the package doc) and returns nil. If a listener fails first, it shuts
// the others down the same way and returns that error.
func (s *Server) Serve(ctx context.Context) error {
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	var running sync.WaitGroup
	for _, r := range s.cfg.Reloaders {
		running.Go(func() { r.Run(runCtx) })
	}
	running.Go(func() { s.reloadOnHangup(runCtx) })

	errc := make(chan error, len(s.servers))
	for i, srv := range s.servers {
		go func() {
			if err := srv.Serve(s.listeners[i]); !errors.Is(err, http.ErrServerClosed) {
				errc <- err
			}
		}()
	}
	var err error
	select {
	case <-ctx.Done():
		s.logger.Info("shutting down: refusing new connections, letting in-flight requests finish", "timeout", s.cfg.ShutdownTimeout)
	case err = <-errc:
	}
	cancel()
	s.shutdown()
	running.Wait()
	return err
}

// shutdown stops every server from accepting, waits for in-flight requests (HTTP/2
// connections get GOAWAY) until ShutdownTimeout has passed, then closes what is left.
func (s *Server) shutdown() {
	ctx, cancel := context.WithTimeout(context.Background(), s.cfg.ShutdownTimeout)
	defer cancel()
	for _, srv := range s.servers {
		if err := srv.Shutdown(ctx); err != nil {
			s.logger.Warn("in-flight requests did not finish in time; closing them", "err", err)
			srv.Close()
		}
	}
}
