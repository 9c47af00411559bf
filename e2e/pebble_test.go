package e2e

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"errors"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/portcullis/portcullis/internal/testenv"
)

// pebbleE2E is a running pebble with its DNS server.
type pebbleE2E struct {
	directory    string            // ACME directory URL
	caFile       string            // PEM CA of pebble's own HTTPS listener
	listenerPool *x509.CertPool    // the same CA, as a pool
	root         *x509.Certificate // pebble's issuing root, from the management endpoint
	roots        *x509.CertPool    // root alone
	logPath      string
}

func (p *pebbleE2E) log() string {
	b, _ := os.ReadFile(p.logPath)
	return string(b)
}

// startPebbleE2E builds and starts pebble-challtestsrv and pebble, validating HTTP-01 on
// httpPort and TLS-ALPN-01 on tlsPort of 127.0.0.1, and stops them when the test ends.
func startPebbleE2E(t *testing.T, tlsPort, httpPort string) *pebbleE2E {
	t.Helper()
	pebbleBin, challBin := testenv.BuildPebble(t)
	dir := t.TempDir()
	p := &pebbleE2E{caFile: filepath.Join(dir, "listener-ca.pem"), logPath: filepath.Join(dir, "pebble.log")}

	// Pebble's own HTTPS certificate, from a CA generated here.
	caPEM, certPEM, keyPEM := listenerCertificate(t)
	acmeWriteFile(t, p.caFile, caPEM)
	acmeWriteFile(t, filepath.Join(dir, "pebble.crt"), certPEM)
	acmeWriteFile(t, filepath.Join(dir, "pebble.key"), keyPEM)
	p.listenerPool = x509.NewCertPool()
	p.listenerPool.AppendCertsFromPEM(caPEM)

	acmeAddr, mgmtAddr, challMgmtAddr := freeAddr(t), freeAddr(t), freeAddr(t)
	dnsAddr := freeUDPTCPAddr(t)
	tp, err1 := strconv.Atoi(tlsPort)
	hp, err2 := strconv.Atoi(httpPort)
	if err := errors.Join(err1, err2); err != nil {
		t.Fatal(err)
	}
	config, err := json.Marshal(map[string]any{"pebble": map[string]any{
		"listenAddress":           acmeAddr,
		"managementListenAddress": mgmtAddr,
		"certificate":             filepath.Join(dir, "pebble.crt"),
		"privateKey":              filepath.Join(dir, "pebble.key"),
		"httpPort":                hp,
		"tlsPort":                 tp,
		"keyAlgorithm":            "ecdsa",
		"retryAfter":              map[string]int{"authz": 1, "order": 1},
		"profiles": map[string]any{"default": map[string]any{
			"description":    "short-lived, so renewal happens during the test",
			"validityPeriod": int(acmeValidity / time.Second),
		}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	acmeWriteFile(t, filepath.Join(dir, "pebble.json"), config)

	startLogged(t, filepath.Join(dir, "challtestsrv.log"), nil, challBin,
		"-http01", "", "-https01", "", "-doh", "", "-tlsalpn01", "",
		"-dnsserver", dnsAddr, "-management", challMgmtAddr,
		"-defaultIPv4", "127.0.0.1", "-defaultIPv6", "")
	plain := &http.Client{Timeout: 3 * time.Second}
	defer plain.CloseIdleConnections()
	waitAnswer(t, plain, "http://"+challMgmtAddr+"/")

	// No random validation sleeps; no deliberately rejected nonces.
	startLogged(t, p.logPath, []string{"PEBBLE_VA_NOSLEEP=1", "PEBBLE_WFE_NONCEREJECT=0"}, pebbleBin,
		"-config", filepath.Join(dir, "pebble.json"), "-dnsserver", dnsAddr)
	client := &http.Client{Timeout: 3 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: p.listenerPool}}}
	defer client.CloseIdleConnections()
	p.directory = "https://" + acmeAddr + "/dir"
	waitAnswer(t, client, p.directory)

	// Pebble makes a new root on every start; fetch it to verify what it issues.
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, "https://"+mgmtAddr+"/roots/0", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("fetching pebble's root: %v", err)
	}
	rootPEM, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(rootPEM)
	if block == nil {
		t.Fatalf("pebble root is not PEM: %q", rootPEM)
	}
	if p.root, err = x509.ParseCertificate(block.Bytes); err != nil {
		t.Fatalf("pebble root: %v", err)
	}
	p.roots = x509.NewCertPool()
	p.roots.AddCert(p.root)
	return p
}

// startLogged runs a helper process with its output in logPath and kills it when the test
// ends.
func startLogged(t *testing.T, logPath string, env []string, name string, args ...string) {
	t.Helper()
	logf, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	defer logf.Close()
	cmd := exec.Command(name, args...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting %s: %v", filepath.Base(name), err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-done
	})
}

// waitAnswer polls url until it answers at all: the helpers give no other readiness signal.
func waitAnswer(t *testing.T, client *http.Client, url string) {
	t.Helper()
	deadline := time.Now().Add(acmeWait)
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, url, nil)
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

// freeUDPTCPAddr returns a loopback address whose port was free for both UDP and TCP a
// moment ago, as a DNS server needs.
func freeUDPTCPAddr(t *testing.T) string {
	t.Helper()
	for range 20 {
		pc, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := pc.LocalAddr().String()
		ln, err := net.Listen("tcp", addr)
		pc.Close()
		if err == nil {
			ln.Close()
			return addr
		}
	}
	t.Fatal("no port free for both UDP and TCP")
	return ""
}

// listenerCertificate makes a CA and a certificate from it for 127.0.0.1 and localhost,
// all PEM, for pebble's own HTTPS listener.
func listenerCertificate(t *testing.T) (caPEM, certPEM, keyPEM []byte) {
	t.Helper()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	caTmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "portcullis e2e ACME server CA"},
		NotBefore:             now.Add(-time.Minute),
		NotAfter:              now.Add(time.Hour),
		KeyUsage:              x509.KeyUsageCertSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, caKey.Public(), caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, err := x509.ParseCertificate(caDER)
	if err != nil {
		t.Fatal(err)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	leafDER, err := x509.CreateCertificate(rand.Reader, &x509.Certificate{
		SerialNumber: big.NewInt(2),
		Subject:      pkix.Name{CommonName: "localhost"},
		DNSNames:     []string{"localhost"},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		NotBefore:    now.Add(-time.Minute),
		NotAfter:     now.Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}, ca, key.Public(), caKey)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}),
		pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: leafDER}),
		pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER})
}

func acmeWriteFile(t *testing.T, name string, data []byte) {
	t.Helper()
	if err := os.WriteFile(name, data, 0o600); err != nil {
		t.Fatal(err)
	}
}
