package server

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
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
	// HeaderTimeout bounds the wait for a request's headers on the main listener: HTTP/1.1's
	// ReadHeaderTimeout (and TLS handshake), and for HTTP/2 the first request's HEADERS
	// after the handshake. Default 30s.
	HeaderTimeout time.Duration
	// BodyIdleTimeout ends a request on the main listener whose request body brings no
	// bytes, or whose response body is not taken, for this long while the server waits on
	// the client (see bodyIdle). Zero turns it off. It never limits a body that moves.
	BodyIdleTimeout time.Duration
	// MaxConnsPerIP caps the connections open at once on the main listener from one client
	// address (IPv6: one /64); more are closed when accepted. Zero turns it off.
	MaxConnsPerIP int
	// ConnLimitExempt lists peers MaxConnsPerIP does not count: trusted proxies.
	ConnLimitExempt []netip.Prefix
	// Limits is told each time a limit acts (metrics); nil for none.
	Limits LimitObserver
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

// LimitObserver is told each time one of the server's limits acts, by name: LimitConnsPerIP
// when a connection is refused, LimitBodyIdle when a request is ended by the body idle
// timeout. Calls come from many goroutines and must be quick.
type LimitObserver interface {
	LimitReached(limit string)
}

// The limits a LimitObserver hears of.
const (
	LimitConnsPerIP = "conns_per_ip"
	LimitBodyIdle   = "body_idle"
)

// Server timeouts; see the package doc.
const (
	readHeaderTimeout = 30 * time.Second // Config.HeaderTimeout's default
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
	headerTimeout := cfg.HeaderTimeout
	if headerTimeout <= 0 {
		headerTimeout = readHeaderTimeout
	}
	main := &http.Server{
		Handler:           s.bodyIdle(cfg.Handler),
		ReadHeaderTimeout: headerTimeout,
		// No ReadTimeout or WriteTimeout: a 10 GiB push takes minutes. Idle connections
		// are closed, and headers must arrive promptly (slowloris).
		IdleTimeout:    idleTimeout,
		MaxHeaderBytes: maxHeaderBytes,
		ErrorLog:       errorLog,
	}
	if cfg.TLS != nil {
		main.Handler = s.bodyIdle(hsts(hstsMaxAge)(cfg.Handler))
		main.TLSConfig = cfg.TLS
		if err := serveHTTP2Batched(main, headerTimeout); err != nil {
			return nil, fmt.Errorf("http/2: %w", err)
		}
	}
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return nil, fmt.Errorf("main listener: %w", err)
	}
	ln = newCapListener(ln, cfg.MaxConnsPerIP, cfg.ConnLimitExempt, s.connRefused)
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

// bodyIdle wraps h in the body idle timeout, which logs and counts the requests it ends.
func (s *Server) bodyIdle(h http.Handler) http.Handler {
	return bodyIdle(s.cfg.BodyIdleTimeout, func(r *http.Request, direction string) {
		s.logger.Info("ending request: the client moved no body bytes within the body idle timeout",
			"remote", r.RemoteAddr, "method", r.Method, "path", r.URL.Path,
			"body", direction, "timeout", s.cfg.BodyIdleTimeout)
		s.limitReached(LimitBodyIdle)
	})(h)
}

// connRefused logs and counts a connection refused over the per-IP cap. The log is at
// Debug: a client hammering the port must not flood it; the metric counts every one.
func (s *Server) connRefused(addr netip.Addr) {
	s.logger.Debug("connection refused: too many open from this address", "client", addr, "max", s.cfg.MaxConnsPerIP)
	s.limitReached(LimitConnsPerIP)
}

func (s *Server) limitReached(limit string) {
	if s.cfg.Limits != nil {
		s.cfg.Limits.LimitReached(limit)
	}
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
