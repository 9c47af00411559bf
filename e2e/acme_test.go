package e2e

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The ACME tests run the gateway binary with --tls acme against pebble (Let's Encrypt's
// test CA) and pebble-challtestsrv (its DNS, answering 127.0.0.1 for every name), both
// built at the version go.mod's tool directives pin, as certs' TestACMEPebble
// does. Pebble validates TLS-ALPN-01 on the gateway's --listen port and HTTP-01 on its
// --http-listen port, and issues certificates that live acmeValidity.

const (
	acmeHost  = "registry.acme.e2e.test"
	acmeEmail = "ops@portcullis.test"
	// acmeValidity is the lifetime pebble gives certificates. The binary has no
	// renew-before flag; autocert (x/crypto v0.58) then renews a third of the lifetime
	// before expiry, so about 20 s after issuance: inside the test, without churn.
	acmeValidity = 30 * time.Second
	// acmeWait bounds each wait on pebble or the gateway; nothing asserts on durations.
	acmeWait = 60 * time.Second
)

// Log lines the tests wait for or count, in the gateway's and pebble's output.
const (
	logCertReady     = "ACME certificate ready"
	logCertFailed    = "could not obtain a certificate yet"
	logCertObtained  = "obtained ACME certificate"
	logCertLoaded    = "loaded ACME certificate from cache"
	pebbleIssued     = "Issued certificate serial"
	pebbleOrderAdded = "Added order"
	pebbleHTTP01     = "Attempting to validate w/ HTTP: "
)

// TestACME checks the promise: the gateway obtains a certificate, a client verifies
// it against pebble's root, and renewal works when the certificate nears expiry; also that
// plain HTTP redirects (except the challenge path) and a restart reuses DATA/acme.
func TestACME(t *testing.T) {
	t.Parallel()
	needGateway(t)
	httpsAddr, httpAddr := freeAddr(t), freeAddr(t)
	pb := startPebbleE2E(t, addrPort(t, httpsAddr), addrPort(t, httpAddr))

	data := t.TempDir()
	g := newACMEGateway(t, pb, data, httpsAddr, httpAddr)
	g.waitReady(g.start())
	base := "https://" + net.JoinHostPort(acmeHost, addrPort(t, httpsAddr))

	var first *x509.Certificate
	t.Run("certificate from pebble", func(t *testing.T) {
		state := acmeHandshake(t, httpsAddr, pb.roots)
		first = state.PeerCertificates[0]
		checkChain(t, state, pb.root)
		if life := first.NotAfter.Sub(first.NotBefore); life > acmeValidity {
			t.Errorf("certificate lives %v, want pebble's short-lived %v", life, acmeValidity)
		}
		if n := strings.Count(g.log(), logCertObtained); n != 1 {
			t.Errorf("gateway logged %q %d times, want 1", logCertObtained, n)
		}
		if n := strings.Count(pb.log(), pebbleIssued); n != 1 {
			t.Errorf("pebble issued %d certificates, want 1", n)
		}
		// autocert prefers TLS-ALPN-01, answered on the HTTPS port itself.
		if strings.Contains(pb.log(), pebbleHTTP01) {
			t.Errorf("pebble validated over HTTP-01, want TLS-ALPN-01 on the HTTPS port")
		}
		// autocert's DirCache names an ECDSA certificate after the host.
		if _, err := os.Stat(filepath.Join(data, "acme", acmeHost)); err != nil {
			t.Errorf("certificate not cached under DATA/acme: %v", err)
		}
	})
	if first == nil {
		t.FailNow()
	}

	t.Run("client trusting only pebble's root", func(t *testing.T) {
		client := acmeClient(httpsAddr, pb.roots)
		defer client.CloseIdleConnections()
		for _, tt := range []struct {
			name, user, pass string
			want             int
		}{
			{"anonymous", "", "", http.StatusUnauthorized},
			{"wrong password", adminUser, "wrong", http.StatusUnauthorized},
			{"admin", adminUser, adminPass, http.StatusOK},
		} {
			t.Run(tt.name, func(t *testing.T) {
				resp := acmeGet(t, client, base+"/v2/", tt.user, tt.pass)
				if resp.StatusCode != tt.want {
					t.Errorf("GET /v2/: status %d, want %d", resp.StatusCode, tt.want)
				}
				if tt.want == http.StatusUnauthorized {
					if got := resp.Header.Get("WWW-Authenticate"); !strings.HasPrefix(got, "Basic realm=") {
						t.Errorf("WWW-Authenticate = %q, want a Basic challenge", got)
					}
				}
				if resp.TLS == nil {
					t.Fatal("response not over TLS")
				}
				checkChain(t, *resp.TLS, pb.root)
			})
		}
		t.Run("other roots refuse the certificate", func(t *testing.T) {
			// The CA behind pebble's own HTTPS listener did not issue the gateway's certificate.
			other := acmeClient(httpsAddr, pb.listenerPool)
			defer other.CloseIdleConnections()
			req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, base+"/v2/", nil)
			if err != nil {
				t.Fatal(err)
			}
			resp, err := other.Do(req)
			if err == nil {
				resp.Body.Close()
				t.Fatal("a client trusting another root accepted the gateway's certificate")
			}
			if _, ok := errors.AsType[*tls.CertificateVerificationError](err); !ok {
				t.Errorf("error %v, want a certificate verification error", err)
			}
		})
	})

	t.Run("plain HTTP redirects except the challenge path", func(t *testing.T) {
		client := &http.Client{
			Timeout:       10 * time.Second,
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		}
		defer client.CloseIdleConnections()
		for _, tt := range []struct {
			method, path string
			want         int
			location     string // empty: no Location header
		}{
			{http.MethodGet, "/v2/", http.StatusMovedPermanently, base + "/v2/"},
			{http.MethodGet, "/v2/library/app/tags/list?n=10", http.StatusMovedPermanently, base + "/v2/library/app/tags/list?n=10"},
			{http.MethodPost, "/v2/library/app/blobs/uploads/", http.StatusPermanentRedirect, base + "/v2/library/app/blobs/uploads/"},
			// autocert answers the challenge path itself: 404 for a token it never issued.
			{http.MethodGet, "/.well-known/acme-challenge/unknown-token", http.StatusNotFound, ""},
		} {
			t.Run(tt.method+" "+tt.path, func(t *testing.T) {
				req, err := http.NewRequestWithContext(t.Context(), tt.method, "http://"+httpAddr+tt.path, nil)
				if err != nil {
					t.Fatal(err)
				}
				// What a browser or docker sends to http://acmeHost:port/.
				req.Host = net.JoinHostPort(acmeHost, addrPort(t, httpAddr))
				resp, err := client.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				if resp.StatusCode != tt.want {
					t.Errorf("status %d, want %d", resp.StatusCode, tt.want)
				}
				if got := resp.Header.Get("Location"); got != tt.location {
					t.Errorf("Location = %q, want %q", got, tt.location)
				}
			})
		}
	})

	// The restart comes before the renewal window (the last third of the lifetime, here
	// about 20 s after issuance, seconds from now): inside it autocert would rightly order a
	// new certificate at start-up.
	t.Run("restart reuses the cached certificate", func(t *testing.T) {
		orders := strings.Count(pb.log(), pebbleOrderAdded)
		g.stop()
		from := g.start()
		g.waitReady(from)
		restarted := g.log()[from:]
		if !strings.Contains(restarted, logCertLoaded) {
			t.Errorf("restarted gateway did not log %q", logCertLoaded)
		}
		if strings.Contains(restarted, logCertObtained) {
			t.Errorf("restarted gateway obtained a new certificate instead of loading the cached one")
		}
		if n := strings.Count(pb.log(), pebbleOrderAdded); n != orders {
			t.Errorf("pebble got %d new orders across the restart, want 0", n-orders)
		}
		got := acmeHandshake(t, httpsAddr, pb.roots).PeerCertificates[0]
		if got.SerialNumber.Cmp(first.SerialNumber) != 0 {
			t.Errorf("after restart serial %x, want the cached %x", got.SerialNumber, first.SerialNumber)
		}
	})

	t.Run("renewal before expiry", func(t *testing.T) {
		// Polling handshakes is the only way to see another process renew.
		deadline := time.Now().Add(acmeWait)
		tick := time.NewTicker(250 * time.Millisecond)
		defer tick.Stop()
		var state tls.ConnectionState
		for {
			state = acmeHandshake(t, httpsAddr, pb.roots)
			if state.PeerCertificates[0].SerialNumber.Cmp(first.SerialNumber) != 0 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("still serving serial %x (expires %v) after %v", first.SerialNumber, first.NotAfter, acmeWait)
			}
			<-tick.C
		}
		renewed := state.PeerCertificates[0]
		checkChain(t, state, pb.root)
		if !renewed.NotAfter.After(first.NotAfter) {
			t.Errorf("renewed certificate expires %v, not after the first's %v", renewed.NotAfter, first.NotAfter)
		}
		// One issuance, one renewal: autocert does not loop on short certificates.
		if n := strings.Count(pb.log(), pebbleIssued); n != 2 {
			t.Errorf("pebble issued %d certificates, want 2 (first + renewal)", n)
		}
		if n := strings.Count(g.log(), logCertObtained); n != 2 {
			t.Errorf("gateway logged %q %d times, want 2", logCertObtained, n)
		}
		client := acmeClient(httpsAddr, pb.roots)
		defer client.CloseIdleConnections()
		if resp := acmeGet(t, client, base+"/v2/", adminUser, adminPass); resp.StatusCode != http.StatusOK {
			t.Errorf("GET /v2/ with the renewed certificate: status %d, want 200", resp.StatusCode)
		}
	})
}

// TestACMEHTTP01 gives pebble no TLS-ALPN-01 port to reach, so the binary must get its
// certificate through HTTP-01 answered on --http-listen.
func TestACMEHTTP01(t *testing.T) {
	t.Parallel()
	needGateway(t)
	httpsAddr, httpAddr, unreachable := freeAddr(t), freeAddr(t), freeAddr(t)
	pb := startPebbleE2E(t, addrPort(t, unreachable), addrPort(t, httpAddr))
	g := newACMEGateway(t, pb, t.TempDir(), httpsAddr, httpAddr)
	g.waitReady(g.start())

	want := pebbleHTTP01 + "http://" + net.JoinHostPort(acmeHost, addrPort(t, httpAddr)) + "/.well-known/acme-challenge/"
	if !strings.Contains(pb.log(), want) {
		t.Errorf("pebble log lacks %q", want)
	}
	state := acmeHandshake(t, httpsAddr, pb.roots)
	checkChain(t, state, pb.root)
	client := acmeClient(httpsAddr, pb.roots)
	defer client.CloseIdleConnections()
	base := "https://" + net.JoinHostPort(acmeHost, addrPort(t, httpsAddr))
	if resp := acmeGet(t, client, base+"/v2/", adminUser, adminPass); resp.StatusCode != http.StatusOK {
		t.Errorf("GET /v2/: status %d, want 200", resp.StatusCode)
	}
}

// newACMEGateway prepares the binary with --tls acme for acmeHost against pb, the
// test users, and a cleanup that stops it and shows the logs on failure.
func newACMEGateway(t *testing.T, pb *pebbleE2E, data, httpsAddr, httpAddr string) *acmeGateway {
	t.Helper()
	args := append([]string{"serve", "--listen", httpsAddr, "--data", data,
		"--tls", "acme", "--hostname", acmeHost, "--acme-directory", pb.directory,
		"--acme-email", acmeEmail, "--http-listen", httpAddr}, authFlags(t)...)
	// The binary reaches pebble's HTTPS directory with Go's default roots; SSL_CERT_FILE
	// makes them the test CA behind pebble's own listener, as an internal ACME CA's root
	// would be installed.
	g := &acmeGateway{t: t, args: args, env: []string{"SSL_CERT_FILE=" + pb.caFile},
		logPath: filepath.Join(t.TempDir(), "gateway.log")}
	t.Cleanup(func() {
		if g.running() {
			g.stop()
		}
		if t.Failed() {
			t.Logf("gateway log tail (%s):\n%s", g.logPath, tail(g.log(), 40))
			t.Logf("pebble log tail (%s):\n%s", pb.logPath, tail(pb.log(), 40))
		}
	})
	return g
}

// checkChain fails unless state's verified chain runs from a leaf for acmeHost to root.
func checkChain(t *testing.T, state tls.ConnectionState, root *x509.Certificate) {
	t.Helper()
	if len(state.VerifiedChains) == 0 {
		t.Fatal("no verified chain")
	}
	chain := state.VerifiedChains[0]
	if err := chain[0].VerifyHostname(acmeHost); err != nil {
		t.Error(err)
	}
	if last := chain[len(chain)-1]; !last.Equal(root) {
		t.Errorf("chain ends in %q, want pebble's root %q", last.Subject, root.Subject)
	}
}

// acmeHandshake connects to addr as acmeHost, trusting only roots, and returns the state.
func acmeHandshake(t *testing.T, addr string, roots *x509.CertPool) tls.ConnectionState {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	d := &tls.Dialer{Config: &tls.Config{RootCAs: roots, ServerName: acmeHost}}
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		t.Fatalf("TLS handshake with %s as %s: %v", addr, acmeHost, err)
	}
	defer c.Close()
	return c.(*tls.Conn).ConnectionState()
}

// acmeClient trusts only roots and reaches every name at addr, standing in for the DNS
// record that would point acmeHost at the gateway.
func acmeClient(addr string, roots *x509.CertPool) *http.Client {
	var d net.Dialer
	return &http.Client{
		Timeout: 10 * time.Second,
		Transport: &http.Transport{
			TLSClientConfig: &tls.Config{RootCAs: roots},
			DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
				return d.DialContext(ctx, network, addr)
			},
		},
	}
}

// acmeGet sends GET url (with Basic credentials when user is set) and returns the
// response, its body read and closed.
func acmeGet(t *testing.T, client *http.Client, url, user, pass string) *http.Response {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if user != "" {
		req.SetBasicAuth(user, pass)
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	resp.Body.Close()
	return resp
}

// addrPort returns the port of a host:port address.
func addrPort(t *testing.T, addr string) string {
	t.Helper()
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatal(err)
	}
	return port
}

// acmeGateway is the gateway process of TestACME. startGateway does not fit: it waits for
// a certificate from the self-signed CA under DATA/certs, which tls=acme does not make.
type acmeGateway struct {
	t       *testing.T
	args    []string
	env     []string
	logPath string

	cmd  *exec.Cmd
	done chan struct{} // closed when cmd has exited
	err  error         // cmd.Wait's result, valid once done is closed
}

// start runs the binary and returns the log offset where this run's output begins.
func (g *acmeGateway) start() int {
	t := g.t
	t.Helper()
	logf, err := os.OpenFile(g.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer logf.Close()
	from := len(g.log())
	fmt.Fprintf(logf, "=== gateway %s\n", strings.Join(g.args, " "))
	cmd := exec.Command(gatewayBin, g.args...)
	cmd.Env = append(os.Environ(), g.env...)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting gateway: %v", err)
	}
	g.cmd, g.done, g.err = cmd, make(chan struct{}), nil
	go func() { g.err = cmd.Wait(); close(g.done) }()
	return from
}

// waitReady waits until the run that began at log offset from logs its certificate ready:
// the binary prefetches it once listening. The log is the only signal another process gives.
func (g *acmeGateway) waitReady(from int) {
	t := g.t
	t.Helper()
	deadline := time.Now().Add(acmeWait)
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		out := g.log()[from:]
		switch {
		case strings.Contains(out, logCertReady):
			return
		case strings.Contains(out, logCertFailed):
			t.Fatal("gateway could not obtain a certificate (log tail follows)")
		case time.Now().After(deadline):
			t.Fatalf("gateway did not log %q within %v", logCertReady, acmeWait)
		}
		select {
		case <-g.done:
			t.Fatalf("gateway exited before its certificate was ready: %v", g.err)
		case <-tick.C:
		}
	}
}

// stop sends SIGTERM and fails the test unless the process exits 0.
func (g *acmeGateway) stop() {
	t := g.t
	t.Helper()
	if err := g.cmd.Process.Signal(syscall.SIGTERM); err != nil && !errors.Is(err, os.ErrProcessDone) {
		t.Errorf("SIGTERM to gateway: %v", err)
	}
	select {
	case <-g.done:
		if g.err != nil {
			t.Errorf("gateway exit after SIGTERM: %v, want status 0", g.err)
		}
	case <-time.After(stopTimeout):
		_ = g.cmd.Process.Kill()
		<-g.done
		t.Errorf("gateway did not exit within %v of SIGTERM; killed", stopTimeout)
	}
}

func (g *acmeGateway) running() bool {
	if g.done == nil {
		return false
	}
	select {
	case <-g.done:
		return false
	default:
		return true
	}
}

// log returns everything the gateway printed, across restarts.
func (g *acmeGateway) log() string {
	b, _ := os.ReadFile(g.logPath)
	return string(b)
}
