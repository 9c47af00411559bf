package server

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/portcullis/portcullis/certs"
	"github.com/portcullis/portcullis/internal/reload"
	"github.com/portcullis/portcullis/internal/testenv"
)

var _ Reloader = (*reload.Value[int])(nil)

// testTLS is the production TLS config (certs.ServerConfig) over a fresh self-signed CA,
// and a client that trusts the CA and does not follow redirects.
func testTLS(t *testing.T) (*tls.Config, *http.Client) {
	t.Helper()
	ss, err := certs.NewSelfSigned(certs.SelfSignedOptions{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	pool, err := certs.LoadCertPool(ss.CAFile())
	if err != nil {
		t.Fatal(err)
	}
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}, ForceAttemptHTTP2: true}
	t.Cleanup(tr.CloseIdleConnections)
	client := &http.Client{Transport: tr, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	return certs.ServerConfig(ss.GetCertificate, certs.ServerOptions{}), client
}

// freeAddr returns a loopback address nobody listens on (the port was free a moment ago).
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// busyAddr returns an address held by a listener until the test ends.
func busyAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	return ln.Addr().String()
}

// running is a Server serving until the test ends or stop is called.
type running struct {
	*Server
	stop context.CancelFunc
	done chan error
}

func start(t *testing.T, cfg Config) *running {
	t.Helper()
	if cfg.ShutdownTimeout == 0 {
		cfg.ShutdownTimeout = 10 * time.Second
	}
	s, err := Listen(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	r := &running{Server: s, stop: cancel, done: make(chan error, 1)}
	go func() { r.done <- s.Serve(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := r.wait(t); err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	return r
}

// wait returns what Serve returned; the timeout is a hang guard.
func (r *running) wait(t *testing.T) error {
	t.Helper()
	select {
	case err := <-r.done:
		r.done <- err // for a later wait
		return err
	case <-time.After(30 * time.Second):
		t.Fatal("Serve did not return")
		return nil
	}
}

func get(t *testing.T, c *http.Client, method, url string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp, string(body)
}

// TestListenClosesOnError: when a listener cannot be opened, Listen names it and closes
// the ones it had opened already, so their addresses are free again.
func TestListenClosesOnError(t *testing.T) {
	tlsCfg, _ := testTLS(t)
	busy := map[string]bool{}
	taken := func() string { a := busyAddr(t); busy[a] = true; return a }
	tests := []struct {
		name     string
		cfg      Config
		wantText string
	}{
		{"main busy", Config{Listen: taken()}, "main listener"},
		{"plain-HTTP busy", Config{Listen: freeAddr(t), TLS: tlsCfg, HTTPListen: taken()}, "plain-HTTP listener"},
		{"operations busy", Config{Listen: freeAddr(t), TLS: tlsCfg, HTTPListen: freeAddr(t), OpsListen: taken()}, "operations listener"},
		{"operations busy without TLS", Config{Listen: freeAddr(t), OpsListen: taken()}, "operations listener"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.cfg.Handler = http.NotFoundHandler()
			s, err := Listen(tt.cfg)
			if s != nil || err == nil || !strings.Contains(err.Error(), tt.wantText) {
				t.Fatalf("Listen = %v, %v; want an error naming the %s", s, err, tt.wantText)
			}
			for _, addr := range []string{tt.cfg.Listen, tt.cfg.HTTPListen, tt.cfg.OpsListen} {
				if addr == "" || busy[addr] {
					continue
				}
				ln, err := net.Listen("tcp", addr)
				if err != nil {
					t.Fatalf("%s was left open: %v", addr, err)
				}
				ln.Close()
			}
		})
	}
}

// TestListeners serves all three listeners: the main one over TLS with HSTS, the plain-HTTP
// one redirecting to it and routing ACME challenge paths, and the operations one serving
// only its handlers.
func TestListeners(t *testing.T) {
	tlsCfg, client := testTLS(t)
	challenge := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "answer for "+r.URL.Path)
	})
	s := start(t, Config{
		Listen:        "127.0.0.1:0",
		Handler:       http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "registry "+r.Proto) }),
		TLS:           tlsCfg,
		HTTPListen:    "127.0.0.1:0",
		ACMEChallenge: challenge,
		OpsListen:     "127.0.0.1:0",
		Ops:           map[string]http.Handler{"/metrics": http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "metrics") })},
	})
	_, port, _ := net.SplitHostPort(s.Addr().String())
	plain, ops := "http://"+s.listeners[1].Addr().String(), "http://"+s.listeners[2].Addr().String()

	resp, body := get(t, client, "GET", "https://"+s.Addr().String()+"/v2/")
	if body != "registry HTTP/2.0" || resp.Header.Get("Strict-Transport-Security") != "max-age=31536000" {
		t.Errorf("main listener: %q, HSTS %q; want HTTP/2 and a year of HSTS", body, resp.Header.Get("Strict-Transport-Security"))
	}
	tests := []struct {
		method, url string
		wantCode    int
		wantLoc     string
		wantBody    string
	}{
		{"GET", plain + "/v2/x/manifests/1?a=b", 301, "https://127.0.0.1:" + port + "/v2/x/manifests/1?a=b", ""},
		{"HEAD", plain + "/v2/", 301, "https://127.0.0.1:" + port + "/v2/", ""},
		{"PUT", plain + "/v2/x/manifests/1", 308, "https://127.0.0.1:" + port + "/v2/x/manifests/1", ""},
		{"GET", plain + "/.well-known/acme-challenge/tok", 200, "", "answer for /.well-known/acme-challenge/tok"},
		{"GET", ops + "/metrics", 200, "", "metrics"},
		{"GET", ops + "/v2/", 404, "", ""},
	}
	for _, tt := range tests {
		resp, body := get(t, client, tt.method, tt.url)
		if resp.StatusCode != tt.wantCode || resp.Header.Get("Location") != tt.wantLoc || (tt.wantBody != "" && body != tt.wantBody) {
			t.Errorf("%s %s: %d %q %q; want %d %q %q", tt.method, tt.url, resp.StatusCode, resp.Header.Get("Location"), body, tt.wantCode, tt.wantLoc, tt.wantBody)
		}
		if resp.Header.Get("Strict-Transport-Security") != "" {
			t.Errorf("%s %s: HSTS over plain HTTP", tt.method, tt.url)
		}
	}
}

// TestPlainHTTP: without TLS the main listener serves HTTP, with no HSTS, and there is no
// redirect listener to open (HTTPListen is ignored, even on an address in use).
func TestPlainHTTP(t *testing.T) {
	s := start(t, Config{
		Listen:     "127.0.0.1:0",
		Handler:    http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") }),
		HTTPListen: busyAddr(t),
	})
	resp, body := get(t, http.DefaultClient, "GET", "http://"+s.Addr().String()+"/v2/")
	if body != "ok" || resp.Header.Get("Strict-Transport-Security") != "" || len(s.listeners) != 1 {
		t.Fatalf("plain HTTP: %q, HSTS %q, %d listeners", body, resp.Header.Get("Strict-Transport-Security"), len(s.listeners))
	}
}

// TestShutdown: once the context ends, new connections are refused while a request in
// flight finishes, over HTTP/1.1 and HTTP/2; one that outlives ShutdownTimeout is cut.
func TestShutdown(t *testing.T) {
	for _, tt := range []struct {
		name     string
		h2       bool
		finishes bool
	}{
		{"http1.1 finishes", false, true},
		{"http2 finishes", true, true},
		{"http1.1 cut after the timeout", false, false},
		{"http2 cut after the timeout", true, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			tlsCfg, client := testTLS(t)
			if !tt.h2 {
				client.Transport.(*http.Transport).TLSClientConfig.NextProtos = []string{"http/1.1"}
				client.Transport.(*http.Transport).ForceAttemptHTTP2 = false
			}
			entered, release := make(chan struct{}), make(chan struct{})
			timeout := 30 * time.Second
			if !tt.finishes {
				timeout = time.Millisecond
			}
			s := start(t, Config{
				Listen: "127.0.0.1:0",
				TLS:    tlsCfg,
				Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					w.WriteHeader(http.StatusOK)
					w.(http.Flusher).Flush()
					close(entered)
					<-release
					io.WriteString(w, "done")
				}),
				ShutdownTimeout: timeout,
			})
			defer close(release)
			addr := "https://" + s.Addr().String() + "/"
			type result struct {
				body string
				err  error
				http int
			}
			res := make(chan result, 1)
			go func() {
				resp, err := client.Get(addr)
				if err != nil {
					res <- result{err: err}
					return
				}
				b, err := io.ReadAll(resp.Body)
				resp.Body.Close()
				res <- result{string(b), err, resp.ProtoMajor}
			}()
			<-entered
			s.stop() // what SIGTERM does
			if !tt.finishes {
				r := <-res // cut without release
				if r.err == nil {
					t.Fatalf("a request outliving ShutdownTimeout finished: %q", r.body)
				}
				if err := s.wait(t); err != nil {
					t.Fatalf("Serve: %v", err)
				}
				return
			}
			for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
				c, err := net.DialTimeout("tcp", s.Addr().String(), time.Second)
				if err != nil {
					break // refused: shutdown began
				}
				c.Close()
				if time.Now().After(deadline) {
					t.Fatal("still accepting connections after the context ended")
				}
			}
			select {
			case <-s.done:
				t.Fatal("Serve returned while a request was in flight")
			default:
			}
			release <- struct{}{}
			r := <-res
			if r.err != nil || r.body != "done" || r.http != map[bool]int{false: 1, true: 2}[tt.h2] {
				t.Fatalf("in-flight request: %q over HTTP/%d, %v", r.body, r.http, r.err)
			}
			if err := s.wait(t); err != nil {
				t.Fatalf("Serve: %v", err)
			}
		})
	}
}

// fakeReloader counts what the server asks of it.
type fakeReloader struct {
	name    string
	fail    bool
	running atomic.Int32
	reloads atomic.Int32
	stopped chan struct{}
}

func (f *fakeReloader) Name() string { return f.name }

func (f *fakeReloader) Run(ctx context.Context) {
	f.running.Add(1)
	<-ctx.Done()
	close(f.stopped)
}

func (f *fakeReloader) Reload(context.Context) error {
	f.reloads.Add(1)
	if f.fail {
		return errors.New("broken")
	}
	return nil
}

// TestReloaders: every reloader runs while serving and stops with it, and a hangup
// reloads each, naming the ones that failed.
func TestReloaders(t *testing.T) {
	a := &fakeReloader{name: "a", stopped: make(chan struct{})}
	b := &fakeReloader{name: "b", fail: true, stopped: make(chan struct{})}
	var logs testenv.SyncBuffer
	s, err := Listen(Config{Listen: "127.0.0.1:0", Handler: http.NotFoundHandler(), Reloaders: []Reloader{a, b},
		ShutdownTimeout: time.Second, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	hangup := make(chan os.Signal)
	s.hangup = hangup
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx) }()
	hangup <- syscall.SIGHUP // received: the loop is running
	hangup <- syscall.SIGHUP // received: the first reload is done
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	for _, r := range []*fakeReloader{a, b} {
		select {
		case <-r.stopped:
		default:
			t.Errorf("%s: Run still running after Serve returned", r.name)
		}
		if r.running.Load() != 1 || r.reloads.Load() < 1 {
			t.Errorf("%s: ran %d times, reloaded %d times", r.name, r.running.Load(), r.reloads.Load())
		}
	}
	if log := logs.String(); !strings.Contains(log, "SIGHUP: reloading") || !strings.Contains(log, "failed=[b]") {
		t.Errorf("log lacks the reload and what failed:\n%s", log)
	}
}
