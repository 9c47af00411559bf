package certs

import (
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
	"testing"
	"time"

	"github.com/portcullis/portcullis/internal/testenv"
)

// The end-to-end ACME test runs pebble (Let's Encrypt's test CA) and pebble-challtestsrv
// (its DNS, pointing every name at 127.0.0.1) as real processes built at the version
// go.mod's tool directives pin, then obtains, verifies and renews certificates through ACME. See README.md.

const (
	// pebbleValidity is the lifetime pebble gives certificates here, and acmeRenewBefore
	// how early they are renewed: together they make autocert renew a few seconds after
	// issuance instead of after weeks.
	pebbleValidity  = 30 * time.Second
	acmeRenewBefore = 25 * time.Second
)

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

// syncBuffer collects log output written from server goroutines.
type syncBuffer = testenv.SyncBuffer

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
	if testing.Short() && os.Getenv("CI") == "" {
		t.Skip("skipping the pebble end-to-end test in -short mode (CI runs it regardless)")
	}
	pebbleBin, challBin := testenv.BuildPebble(t)
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
