package certs

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// The end-to-end ACME test runs pebble (Let's Encrypt's test CA) and pebble-challtestsrv
// (its DNS, pointing every name at 127.0.0.1) as real processes built from the module
// cache, then obtains, verifies and renews certificates through ACME. See README.md.

const (
	pebbleModule = "github.com/letsencrypt/pebble/v2"
	// pebbleValidity is the lifetime pebble gives certificates here, and acmeRenewBefore
	// how early they are renewed: together they make autocert renew a few seconds after
	// issuance instead of after weeks.
	pebbleValidity  = 30 * time.Second
	acmeRenewBefore = 25 * time.Second
)

// needTool skips when an external tool is missing, except in CI, which must have it.
func needTool(t *testing.T, name string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("%s is required in CI: %v", name, err)
		}
		t.Skipf("%s not found (%v); skipping the pebble end-to-end test", name, err)
	}
	return path
}

// buildPebble builds pebble and pebble-challtestsrv at the version go.mod requires. It builds
// inside the pebble module's own directory so that pebble's dependencies need no go.sum
// entries in ours.
func buildPebble(t *testing.T) (pebble, challtestsrv string) {
	t.Helper()
	gobin := needTool(t, "go")
	dir := goModDir(t, gobin)
	out := t.TempDir()
	cmd := exec.CommandContext(t.Context(), gobin, "build", "-o", out+string(filepath.Separator), "./cmd/pebble", "./cmd/pebble-challtestsrv")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOWORK=off", "GOFLAGS=-mod=readonly -buildvcs=false")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("building pebble in %s: %v\n%s", dir, err, b)
	}
	return filepath.Join(out, "pebble"), filepath.Join(out, "pebble-challtestsrv")
}

func goModDir(t *testing.T, gobin string) string {
	t.Helper()
	for _, args := range [][]string{
		{"list", "-m", "-json", pebbleModule},
		{"mod", "download", "-json", pebbleModule},
	} {
		cmd := exec.CommandContext(t.Context(), gobin, args...)
		cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod")
		b, err := cmd.Output()
		if err != nil {
			continue
		}
		var m struct{ Dir string }
		if json.Unmarshal(b, &m) == nil && m.Dir != "" {
			return m.Dir
		}
	}
	t.Fatalf("cannot locate %s in the module cache; is it still required in go.mod?", pebbleModule)
	return ""
}

func freePort(t *testing.T, network string) int {
	t.Helper()
	if network == "udp" {
		// DNS needs the port free for both UDP and TCP.
		for range 20 {
			pc, err := net.ListenPacket("udp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			port := pc.LocalAddr().(*net.UDPAddr).Port
			ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port))
			pc.Close()
			if err == nil {
				ln.Close()
				return port
			}
		}
		t.Fatal("no free UDP+TCP port")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// syncBuffer collects a process's output for failure messages.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func startProcess(t *testing.T, env []string, name string, args ...string) *syncBuffer {
	t.Helper()
	out := &syncBuffer{}
	cmd := exec.CommandContext(t.Context(), name, args...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout, cmd.Stderr = out, out
	cmd.WaitDelay = 5 * time.Second
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting %s: %v", name, err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		if t.Failed() {
			t.Logf("%s output:\n%s", filepath.Base(name), out)
		}
	})
	return out
}

// waitHTTP polls url until it answers: the processes give no other readiness signal.
func waitHTTP(t *testing.T, client *http.Client, url string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		req, err := http.NewRequestWithContext(t.Context(), "GET", url, nil)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := client.Do(req)
		if err == nil {
			resp.Body.Close()
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s did not come up: %v", url, err)
		}
		<-tick.C
	}
}

// pebbleEnv is a running pebble with its DNS, and the listeners it validates against.
type pebbleEnv struct {
	directory  string
	client     *http.Client   // trusts pebble's own HTTPS (a private ACME CA)
	roots      *x509.CertPool // pebble's issuing root, from its management endpoint
	httpLn     net.Listener   // where pebble fetches HTTP-01 challenges
	tlsLn      net.Listener   // where pebble dials TLS-ALPN-01 challenges
	pebbleLogs *syncBuffer
}

func startPebble(t *testing.T) *pebbleEnv {
	t.Helper()
	if testing.Short() {
		t.Skip("skipping the pebble end-to-end test in -short mode")
	}
	pebbleBin, challBin := buildPebble(t)
	dir := t.TempDir()

	// Pebble's own HTTPS certificate, from a CA only our client trusts.
	serverCA := newTestCA(t)
	_, certData, keyData := serverCA.pair(t, time.Hour, "localhost", "127.0.0.1")
	write(t, filepath.Join(dir, "pebble.crt"), string(certData))
	write(t, filepath.Join(dir, "pebble.key"), string(keyData))

	env := &pebbleEnv{client: &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: serverCA.pool}}}}
	t.Cleanup(env.client.CloseIdleConnections)
	var err error
	if env.httpLn, err = net.Listen("tcp", "127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	if env.tlsLn, err = net.Listen("tcp", "127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	acmePort, mgmtPort, dnsPort, challMgmtPort := freePort(t, "tcp"), freePort(t, "tcp"), freePort(t, "udp"), freePort(t, "tcp")

	config := map[string]any{"pebble": map[string]any{
		"listenAddress":           fmt.Sprintf("127.0.0.1:%d", acmePort),
		"managementListenAddress": fmt.Sprintf("127.0.0.1:%d", mgmtPort),
		"certificate":             filepath.Join(dir, "pebble.crt"),
		"privateKey":              filepath.Join(dir, "pebble.key"),
		"httpPort":                env.httpLn.Addr().(*net.TCPAddr).Port,
		"tlsPort":                 env.tlsLn.Addr().(*net.TCPAddr).Port,
		"keyAlgorithm":            "ecdsa",
		"retryAfter":              map[string]int{"authz": 1, "order": 1},
		"profiles": map[string]any{"default": map[string]any{
			"description": "short-lived, so renewal happens during the test", "validityPeriod": int(pebbleValidity / time.Second),
		}},
	}}
	b, err := json.Marshal(config)
	if err != nil {
		t.Fatal(err)
	}
	write(t, filepath.Join(dir, "pebble.json"), string(b))

	startProcess(t, nil, challBin,
		"-http01", "", "-https01", "", "-doh", "", "-tlsalpn01", "",
		"-dnsserver", fmt.Sprintf("127.0.0.1:%d", dnsPort),
		"-management", fmt.Sprintf("127.0.0.1:%d", challMgmtPort),
		"-defaultIPv4", "127.0.0.1", "-defaultIPv6", "")
	waitHTTP(t, http.DefaultClient, fmt.Sprintf("http://127.0.0.1:%d/", challMgmtPort))
	env.pebbleLogs = startProcess(t, []string{"PEBBLE_VA_NOSLEEP=1", "PEBBLE_WFE_NONCEREJECT=0"}, pebbleBin,
		"-config", filepath.Join(dir, "pebble.json"), "-dnsserver", fmt.Sprintf("127.0.0.1:%d", dnsPort))
	env.directory = fmt.Sprintf("https://127.0.0.1:%d/dir", acmePort)
	waitHTTP(t, env.client, env.directory)

	// Pebble makes a new root on every start; fetch it to verify what it issues.
	req, err := http.NewRequestWithContext(t.Context(), "GET", fmt.Sprintf("https://127.0.0.1:%d/roots/0", mgmtPort), nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := env.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	root, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	env.roots = x509.NewCertPool()
	if !env.roots.AppendCertsFromPEM(root) {
		t.Fatalf("pebble root is not PEM: %q", root)
	}
	return env
}

// serve runs h on ln until the test ends.
func serveOn(t *testing.T, ln net.Listener, h http.Handler, cfg *tls.Config) {
	t.Helper()
	srv := &http.Server{Handler: h, TLSConfig: cfg, ReadHeaderTimeout: 10 * time.Second, ErrorLog: log.New(io.Discard, "", 0)}
	done := make(chan struct{})
	go func() {
		defer close(done)
		var err error
		if cfg != nil {
			err = srv.ServeTLS(ln, "", "")
		} else {
			err = srv.Serve(ln)
		}
		if err != nil && !errors.Is(err, http.ErrServerClosed) {
			t.Errorf("serve: %v", err)
		}
	}()
	t.Cleanup(func() { _ = srv.Shutdown(context.Background()); <-done })
}

func TestACMEPebble(t *testing.T) {
	env := startPebble(t)
	const (
		alpnHost = "registry.portcullis.test" // validated by TLS-ALPN-01 on the HTTPS listener
		httpHost = "http01.portcullis.test"   // not served on HTTPS, so only HTTP-01 can work
	)
	logger, logs := newTestLogger(t)
	stored := make(chan string, 64)
	newACME := func(host string) *ACME {
		a, err := NewACME(ACMEOptions{
			CacheDir: filepath.Join(t.TempDir(), "acme"), Hosts: []string{host}, Email: "ops@portcullis.test",
			DirectoryURL: env.directory, HTTPClient: env.client, RenewBefore: acmeRenewBefore, Logger: logger,
		})
		if err != nil {
			t.Fatal(err)
		}
		a.onStored = func(name string, _ time.Time) { stored <- name }
		return a
	}
	alpn, http01 := newACME(alpnHost), newACME(httpHost)

	redirect := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "https://"+r.Host+r.URL.RequestURI(), http.StatusMovedPermanently)
	})
	plain := http.NewServeMux()
	plain.Handle(httpHost+"/", http01.HTTPHandler(redirect))
	plain.Handle("/", alpn.HTTPHandler(redirect))
	serveOn(t, env.httpLn, plain, nil)
	serveOn(t, env.tlsLn, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "ok") }),
		ServerConfig(alpn.GetCertificate, ServerOptions{ExtraNextProtos: alpn.NextProtos()}))
	httpsAddr := env.tlsLn.Addr().String()

	// fetch connects as a client trusting only pebble's root and returns the verified leaf.
	fetch := func(t *testing.T) *x509.Certificate {
		t.Helper()
		d := &tls.Dialer{Config: &tls.Config{RootCAs: env.roots, ServerName: alpnHost}}
		ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
		defer cancel()
		c, err := d.DialContext(ctx, "tcp", httpsAddr)
		if err != nil {
			t.Fatalf("handshake with %s: %v\nlogs:\n%s", alpnHost, err, logs)
		}
		defer c.Close()
		return c.(*tls.Conn).ConnectionState().PeerCertificates[0]
	}
	waitStored := func(t *testing.T, name string) {
		t.Helper()
		timeout := time.After(2 * time.Minute)
		for {
			select {
			case got := <-stored:
				if got == name {
					return
				}
			case <-timeout:
				t.Fatalf("no certificate stored for %s; logs:\n%s", name, logs)
			}
		}
	}

	var first *x509.Certificate
	t.Run("TLS-ALPN-01 issuance", func(t *testing.T) {
		first = fetch(t)
		if err := first.VerifyHostname(alpnHost); err != nil {
			t.Error(err)
		}
		if got := first.NotAfter.Sub(first.NotBefore); got > pebbleValidity {
			t.Errorf("lifetime %v, want pebble's short-lived %v", got, pebbleValidity)
		}
		if na := alpn.NotAfter(); !na.Equal(first.NotAfter) {
			t.Errorf("NotAfter() = %v, want %v", na, first.NotAfter)
		}
		if !strings.Contains(logs.String(), "obtained ACME certificate") {
			t.Errorf("issuance not logged:\n%s", logs)
		}
	})
	if first == nil {
		t.FailNow()
	}

	t.Run("HTTP-01 issuance", func(t *testing.T) {
		if err := http01.Prefetch(t.Context()); err != nil {
			t.Fatalf("Prefetch: %v\npebble:\n%s", err, env.pebbleLogs)
		}
		if http01.NotAfter().IsZero() {
			t.Error("NotAfter still zero after Prefetch")
		}
		if !strings.Contains(env.pebbleLogs.String(), "validate w/ HTTP: http://"+httpHost) {
			t.Errorf("pebble did not validate over HTTP-01:\n%s", env.pebbleLogs)
		}
	})

	t.Run("renewal before expiry", func(t *testing.T) {
		// autocert renews RenewBefore ahead of expiry, a few seconds after issuance here.
		renewed := first
		for renewed.SerialNumber.Cmp(first.SerialNumber) == 0 {
			waitStored(t, alpnHost)
			renewed = fetch(t)
		}
		if !renewed.NotAfter.After(first.NotAfter) {
			t.Errorf("renewed certificate expires %v, not after %v", renewed.NotAfter, first.NotAfter)
		}
		if err := renewed.VerifyHostname(alpnHost); err != nil {
			t.Error(err)
		}
	})

	t.Run("plain HTTP redirects except the challenge path", func(t *testing.T) {
		client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		for _, tt := range []struct {
			host, path string
			want       int
		}{
			{alpnHost, "/v2/", http.StatusMovedPermanently},
			{alpnHost, "/.well-known/acme-challenge/unknown-token", http.StatusNotFound},
			{"stranger.example", "/.well-known/acme-challenge/x", http.StatusForbidden},
		} {
			req, err := http.NewRequestWithContext(t.Context(), "GET", "http://"+env.httpLn.Addr().String()+tt.path, nil)
			if err != nil {
				t.Fatal(err)
			}
			req.Host = tt.host
			resp, err := client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tt.want {
				t.Errorf("%s%s: status %d, want %d", tt.host, tt.path, resp.StatusCode, tt.want)
			}
		}
	})

	t.Run("names outside the host policy get no certificate", func(t *testing.T) {
		d := &tls.Dialer{Config: &tls.Config{RootCAs: env.roots, ServerName: "stranger.portcullis.test"}}
		c, err := d.DialContext(t.Context(), "tcp", httpsAddr)
		if err == nil {
			c.Close()
			t.Fatal("handshake for a name outside the host policy succeeded")
		}
	})
}
