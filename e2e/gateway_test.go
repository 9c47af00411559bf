package e2e

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
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

// Time limits for the gateway process. They bound waits on an external process; nothing
// asserts on how long anything took.
const (
	readyTimeout = 30 * time.Second
	stopTimeout  = 10 * time.Second
)

// gateway is one gateway process under test, restartable on the same data directory and
// port.
type gateway struct {
	t    *testing.T
	args []string // every flag, --listen and --data included

	Data   string // data directory
	Addr   string // 127.0.0.1:PORT
	Host   string // Addr, as registry clients write it in image references
	URL    string // https://Addr
	CAFile string // DATA/certs/ca.crt
	// Client trusts the gateway's CA and nothing else; nil before the first start.
	Client  *http.Client
	logPath string

	cmd  *exec.Cmd
	done chan struct{} // closed when cmd has exited
	err  error         // cmd.Wait's result, valid once done is closed
}

// startGateway starts the binary with --listen on a free port, --data DATA and extra
// flags, waits until /v2/ answers 401 over TLS verified with the generated CA, and stops it
// with SIGTERM when the test ends (failing the test unless it exits 0).
func startGateway(t *testing.T, data string, extra ...string) *gateway {
	t.Helper()
	g := newGatewayProcess(t, data, extra...)
	g.Start()
	return g
}

// newGatewayProcess prepares what startGateway starts, for a test that changes a field
// (CAFile, when the certificate is not the generated one) before calling Start.
func newGatewayProcess(t *testing.T, data string, extra ...string) *gateway {
	t.Helper()
	needGateway(t)
	addr := freeAddr(t)
	g := &gateway{
		t:       t,
		args:    append([]string{"serve", "--listen", addr, "--data", data}, extra...),
		Data:    data,
		Addr:    addr,
		Host:    addr,
		URL:     "https://" + addr,
		CAFile:  filepath.Join(data, "certs", "ca.crt"),
		logPath: filepath.Join(t.TempDir(), "gateway.log"),
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("gateway log tail (%s):\n%s", g.logPath, g.LogTail(40))
		}
		if g.running() {
			g.Stop()
		}
	})
	return g
}

// Start runs the process (again) and waits until it is ready.
func (g *gateway) Start() {
	t := g.t
	t.Helper()
	logf, err := os.OpenFile(g.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer logf.Close()
	fmt.Fprintf(logf, "=== gateway %s\n", strings.Join(g.args, " "))
	cmd := exec.Command(gatewayBin, g.args...)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting gateway: %v", err)
	}
	g.cmd, g.done, g.err = cmd, make(chan struct{}), nil
	go func() { g.err = cmd.Wait(); close(g.done) }()
	if err := g.waitReady(); err != nil {
		t.Fatalf("gateway %s not ready: %v (log tail follows)", g.Addr, err)
	}
}

// waitReady polls /v2/ until it answers 401, then checks that the generated CA verifies
// the serving certificate. Polling is the only way to learn that another process is up.
func (g *gateway) waitReady() error {
	insecure := &http.Client{
		Timeout:   3 * time.Second,
		Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}},
	}
	defer insecure.CloseIdleConnections()
	deadline := time.Now().Add(readyTimeout)
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	var last error
	for {
		select {
		case <-g.done:
			return fmt.Errorf("gateway exited: %v", g.err)
		case <-tick.C:
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("no 401 from %s/v2/ within %v (last: %v)", g.URL, readyTimeout, last)
		}
		resp, err := insecure.Get(g.URL + "/v2/")
		if err != nil {
			last = err
			continue
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized {
			last = fmt.Errorf("GET /v2/: status %d, want 401", resp.StatusCode)
			continue
		}
		break
	}
	client, err := caClient(g.CAFile)
	if err != nil {
		return err
	}
	resp, err := client.Get(g.URL + "/v2/")
	if err != nil {
		return fmt.Errorf("GET /v2/ trusting only %s: %w", g.CAFile, err)
	}
	resp.Body.Close()
	g.Client = client
	return nil
}

// Stop sends SIGTERM and fails the test unless the process exits 0 within stopTimeout.
func (g *gateway) Stop() {
	t := g.t
	t.Helper()
	if err := g.cmd.Process.Signal(syscall.SIGTERM); err != nil && !errors.Is(err, os.ErrProcessDone) {
		t.Errorf("SIGTERM to gateway: %v", err)
	}
	select {
	case <-g.done:
		if g.err != nil {
			t.Errorf("gateway exit after SIGTERM: %v, want status 0\nlog:\n%s", g.err, g.LogTail(20))
		}
	case <-time.After(stopTimeout):
		g.cmd.Process.Kill()
		<-g.done
		t.Errorf("gateway did not exit within %v of SIGTERM; killed", stopTimeout)
	}
	if g.Client != nil {
		g.Client.CloseIdleConnections()
	}
}

// Restart stops the gateway cleanly and starts it again with the same flags.
func (g *gateway) Restart() {
	g.t.Helper()
	g.Stop()
	g.Start()
}

func (g *gateway) running() bool {
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

// Log returns everything the gateway printed, across restarts.
func (g *gateway) Log() string {
	b, _ := os.ReadFile(g.logPath)
	return string(b)
}

// LogTail returns the last n lines of the log.
func (g *gateway) LogTail(n int) string {
	lines := strings.Split(strings.TrimRight(g.Log(), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// caClient returns an HTTP client that trusts only the PEM CA in file.
func caClient(file string) (*http.Client, error) {
	pem, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("reading CA: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("no PEM certificate in %s", file)
	}
	return &http.Client{
		Timeout:   60 * time.Second,
		Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}},
	}, nil
}

// freeAddr returns a loopback address with a port that was free a moment ago.
func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// certDir makes a directory holding the gateway's CA as ca.crt, the layout skopeo,
// podman and docker read with --cert-dir.
func (g *gateway) certDir(t *testing.T) string {
	t.Helper()
	pem, err := os.ReadFile(g.CAFile)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "ca.crt"), pem, 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}
