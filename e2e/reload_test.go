package e2e

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
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

// Bounds on waiting for the running gateway to notice a change. The watchers debounce for
// a few hundred milliseconds; the timeout only stops a broken reload from hanging the test,
// and nothing asserts on how long a reload took.
const (
	reloadTimeout = 20 * time.Second
	reloadTick    = 50 * time.Millisecond
)

// The log messages the reload paths print: logKeptLastGood is every failed reload's, from
// the file watcher or SIGHUP, for every file (internal/reload), with what=<name>;
// logPolicyReloaded is policy/reloader.go's, logHangup server/hangup.go's. Tests match on
// them, so a reworded message fails here rather than going unnoticed by operators grepping
// for it.
const (
	logKeptLastGood   = "reload failed; keeping the last good version"
	logPolicyReloaded = "policy reloaded"
	logHangup         = "SIGHUP: reloading"
)

func TestReloadHtpasswd(t *testing.T) {
	t.Parallel()
	flags := authFlags(t)
	htpasswd := flags[1] // authFlags: --htpasswd FILE --groups FILE
	g := startGateway(t, t.TempDir(), flags...)
	base := g.URL + "/v2/"

	const carol, carolPass = "carol", "carol-secret-3"
	if got := status(t, g.Client, base, carol, carolPass); got != http.StatusUnauthorized {
		t.Fatalf("GET /v2/ as unknown %s: %d, want 401", carol, got)
	}
	// `gateway passwd` writes a temporary file and renames it over the old one.
	cmd := exec.CommandContext(t.Context(), gatewayBin, "passwd", "--cost", "5", htpasswd, carol)
	cmd.Stdin = strings.NewReader(carolPass + "\n")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("gateway passwd: %v\n%s", err, out)
	}
	reloadWaitStatus(t, g, base, carol, carolPass, http.StatusOK)

	from := len(g.Log())
	reloadReplace(t, htpasswd, []byte("garbage without a colon\n"))
	line, _ := reloadWaitLog(t, g, from, logKeptLastGood, "component=htpasswd")
	t.Logf("broken htpasswd logged: %s", line)
	if !strings.Contains(line, "line 1") {
		t.Errorf("failure log line does not say which line is bad: %s", line)
	}
	for _, u := range [][2]string{{adminUser, adminPass}, {plainUser, plainPass}, {carol, carolPass}} {
		if got := status(t, g.Client, base, u[0], u[1]); got != http.StatusOK {
			t.Errorf("GET /v2/ as %s after a broken htpasswd: %d, want 200 (last good users)", u[0], got)
		}
	}
	if got := status(t, g.Client, base, plainUser, "wrong"); got != http.StatusUnauthorized {
		t.Errorf("GET /v2/ as %s with a wrong password after a broken htpasswd: %d, want 401", plainUser, got)
	}
	// SIGHUP rereads the broken file and must refuse it too.
	from = len(g.Log())
	reloadHangup(t, g)
	reloadWaitLog(t, g, from, logKeptLastGood, "what=htpasswd")
	if got := status(t, g.Client, base, carol, carolPass); got != http.StatusOK {
		t.Errorf("GET /v2/ as %s after SIGHUP on a broken htpasswd: %d, want 200 (last good users)", carol, got)
	}

	// The fixed file drops carol and adds dave: both changes must show.
	const dave, davePass = "dave", "dave-secret-4"
	tmp := filepath.Join(t.TempDir(), "htpasswd")
	writeHtpasswd(t, tmp, map[string]string{adminUser: adminPass, plainUser: plainPass, dave: davePass})
	fixed, err := os.ReadFile(tmp)
	if err != nil {
		t.Fatal(err)
	}
	reloadReplace(t, htpasswd, fixed)
	reloadWaitStatus(t, g, base, dave, davePass, http.StatusOK)
	if got := status(t, g.Client, base, carol, carolPass); got != http.StatusUnauthorized {
		t.Errorf("GET /v2/ as %s, removed from htpasswd: %d, want 401", carol, got)
	}
	if got := status(t, g.Client, base, adminUser, adminPass); got != http.StatusOK {
		t.Errorf("GET /v2/ as %s after the fix: %d, want 200", adminUser, got)
	}
}

// reloadPolicy returns a policy granting every authenticated user everything, except what
// extra (more Rego, in package portcullis.authz) denies; tag goes into the reason.
func reloadPolicy(tag, extra string) string {
	return fmt.Sprintf(`package portcullis.authz

granted contains {"type": r.type, "name": r.name, "actions": ["*"]} if {
	input.principal.name != ""
	some r in input.access
}

reason := %q
%s`, tag, extra)
}

// denyBobXY denies bob pulls of x/y.
const denyBobXY = `
denied contains {"type": "repository", "name": "x/y", "actions": ["pull"]} if {
	input.principal.name == "bob"
}
`

func TestReloadPolicy(t *testing.T) {
	t.Parallel()
	file := filepath.Join(t.TempDir(), "authz.rego")
	if err := os.WriteFile(file, []byte(reloadPolicy("v1", denyBobXY)), 0o600); err != nil {
		t.Fatal(err)
	}
	g := startGateway(t, t.TempDir(), append(authFlags(t), "--policy", file)...)
	tags := g.URL + "/v2/x/y/tags/list"

	if got := status(t, g.Client, tags, plainUser, plainPass); got != http.StatusForbidden {
		t.Fatalf("GET /v2/x/y/tags/list as %s under v1: %d, want 403", plainUser, got)
	}
	if got := status(t, g.Client, tags, adminUser, adminPass); got == http.StatusForbidden {
		t.Fatalf("GET /v2/x/y/tags/list as %s under v1: 403, want 404 (allowed, no such repository)", adminUser)
	}

	reloadReplace(t, file, []byte(reloadPolicy("v2", "")))
	got := reloadWaitStatusNot(t, g, tags, plainUser, plainPass, http.StatusForbidden)
	if got != http.StatusNotFound && got != http.StatusOK {
		t.Errorf("GET /v2/x/y/tags/list as %s under v2: %d, want 404 or 200", plainUser, got)
	}

	// Line 3 does not parse; the failure must name the file and the line.
	from := len(g.Log())
	reloadReplace(t, file, []byte("package portcullis.authz\n\ngranted contains {{{ if\n"))
	line, _ := reloadWaitLog(t, g, from, logKeptLastGood, "what=policy")
	t.Logf("broken policy logged: %s", line)
	if want := filepath.Base(file) + ":3"; !strings.Contains(line, want) {
		t.Errorf("policy failure log line does not name %s: %s", want, line)
	}
	if got := status(t, g.Client, tags, plainUser, plainPass); got == http.StatusForbidden {
		t.Errorf("GET /v2/x/y/tags/list as %s after a broken policy: 403, want v2's answer (404 or 200)", plainUser)
	}

	// A fixed policy, denying bob again, put in force by SIGHUP. The file watcher may see
	// it first; SIGHUP reloads unconditionally, so its own "policy reloaded" must follow.
	from = len(g.Log())
	reloadReplace(t, file, []byte(reloadPolicy("v3", denyBobXY)))
	reloadHangup(t, g)
	_, afterHup := reloadWaitLog(t, g, from, logHangup)
	reloadWaitLog(t, g, afterHup, logPolicyReloaded)
	reloadWaitStatus(t, g, tags, plainUser, plainPass, http.StatusForbidden)
	if got := status(t, g.Client, tags, adminUser, adminPass); got == http.StatusForbidden {
		t.Errorf("GET /v2/x/y/tags/list as %s under v3: 403, want 404", adminUser)
	}
}

// policyUnderTest is a Rego test for reloadPolicy("v1", denyBobXY): bob may not pull x/y.
const policyUnderTest = `package portcullis.authz_test

import data.portcullis.authz

test_bob_cannot_pull_x_y if {
	{"type": "repository", "name": "x/y", "actions": ["pull"]} in authz.denied with input as {
		"principal": {"name": "bob", "groups": [], "method": "basic"},
		"access": [{"type": "repository", "name": "x/y", "actions": ["pull"]}],
	}
}
`

// TestReloadPolicyTests serves a policy directory with its own Rego tests: a change that
// fails them is refused, naming the test, until the tests are changed to match.
func TestReloadPolicyTests(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	policyFile, testFile := filepath.Join(dir, "authz.rego"), filepath.Join(dir, "authz_test.rego")
	reloadReplace(t, policyFile, []byte(reloadPolicy("v1", denyBobXY)))
	reloadReplace(t, testFile, []byte(policyUnderTest))
	g := startGateway(t, t.TempDir(), append(authFlags(t), "--policy", dir)...)
	tags := g.URL + "/v2/x/y/tags/list"
	if got := status(t, g.Client, tags, plainUser, plainPass); got != http.StatusForbidden {
		t.Fatalf("GET /v2/x/y/tags/list as %s under v1: %d, want 403", plainUser, got)
	}

	from := len(g.Log())
	reloadReplace(t, policyFile, []byte(reloadPolicy("v2", "")))
	line, _ := reloadWaitLog(t, g, from, logKeptLastGood, "what=policy")
	t.Logf("policy failing its tests logged: %s", line)
	if !strings.Contains(line, "test_bob_cannot_pull_x_y") {
		t.Errorf("policy failure log line does not name the failing test: %s", line)
	}
	if got := status(t, g.Client, tags, plainUser, plainPass); got != http.StatusForbidden {
		t.Errorf("GET /v2/x/y/tags/list as %s after a policy failing its tests: %d, want v1's 403", plainUser, got)
	}

	// Bring the tests in line with v2: now it loads.
	reloadReplace(t, testFile, []byte(`package portcullis.authz_test

import data.portcullis.authz

test_reason if authz.reason == "v2"
`))
	reloadWaitStatusNot(t, g, tags, plainUser, plainPass, http.StatusForbidden)
}

func TestReloadGroups(t *testing.T) {
	t.Parallel()
	flags := authFlags(t)
	groups := flags[3]                          // authFlags: --htpasswd FILE --groups FILE
	g := startGateway(t, t.TempDir(), flags...) // default policy
	// Starting an upload is a push; alice/ is not bob's namespace.
	upload := g.URL + "/v2/" + adminUser + "/from-bob/blobs/uploads/"

	if got := reloadPost(t, g, upload, plainUser, plainPass); got != http.StatusForbidden {
		t.Fatalf("POST %s as %s (not an admin): %d, want 403", upload, plainUser, got)
	}
	reloadReplace(t, groups, fmt.Appendf(nil, "admins: [%s, %s]\n", adminUser, plainUser))
	reloadWait(t, "bob's push into alice/ allowed once bob is in admins", func() (bool, string) {
		got := reloadPost(t, g, upload, plainUser, plainPass)
		return got == http.StatusAccepted, fmt.Sprintf("POST status %d, want 202", got)
	})
	g.pushGGCR(t, adminUser+"/from-bob:1", plainUser, plainPass, 1)

	// And back out of admins: refused again.
	reloadReplace(t, groups, fmt.Appendf(nil, "admins: [%s]\n", adminUser))
	reloadWait(t, "bob's push into alice/ refused once bob leaves admins", func() (bool, string) {
		got := reloadPost(t, g, upload, plainUser, plainPass)
		return got == http.StatusForbidden, fmt.Sprintf("POST status %d, want 403", got)
	})
}

func TestReloadTLSFiles(t *testing.T) {
	t.Parallel()
	ca := newReloadCA(t)
	data := t.TempDir()
	// startGateway checks readiness against DATA/certs/ca.crt; --tls files never touches
	// that directory, so our CA stands there.
	if err := os.MkdirAll(filepath.Join(data, "certs"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(data, "certs", "ca.crt"), ca.certPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "server.crt"), filepath.Join(dir, "server.key")
	first := ca.issue(t)
	reloadReplace(t, certFile, first.certPEM)
	reloadReplace(t, keyFile, first.keyPEM)

	g := startGateway(t, data, append(authFlags(t), "--tls", "files", "--tls-cert", certFile, "--tls-key", keyFile)...)
	if got := ca.serial(t, g.Addr); got.Cmp(first.serial) != 0 {
		t.Fatalf("serving serial %x, want the first certificate's %x", got, first.serial)
	}

	second := ca.issue(t)
	reloadReplace(t, certFile, second.certPEM)
	reloadReplace(t, keyFile, second.keyPEM)
	reloadWait(t, "the renewed certificate served", func() (bool, string) {
		got := ca.serial(t, g.Addr)
		return got.Cmp(second.serial) == 0, fmt.Sprintf("serial %x, want %x", got, second.serial)
	})
	g.Client.CloseIdleConnections()
	if got := status(t, g.Client, g.URL+"/v2/", adminUser, adminPass); got != http.StatusOK {
		t.Errorf("GET /v2/ over the renewed certificate: %d, want 200", got)
	}

	from := len(g.Log())
	reloadReplace(t, keyFile, []byte("-----BEGIN PRIVATE KEY-----\nbm90IGEga2V5\n-----END PRIVATE KEY-----\n"))
	line, _ := reloadWaitLog(t, g, from, logKeptLastGood, "what=certificate")
	t.Logf("corrupt key logged: %s", line)
	if !strings.Contains(line, keyFile) {
		t.Errorf("certificate failure log line does not name %s: %s", keyFile, line)
	}
	if got := ca.serial(t, g.Addr); got.Cmp(second.serial) != 0 {
		t.Errorf("after a corrupt key: serial %x, want the last good %x", got, second.serial)
	}
	g.Client.CloseIdleConnections()
	if got := status(t, g.Client, g.URL+"/v2/", adminUser, adminPass); got != http.StatusOK {
		t.Errorf("GET /v2/ after a corrupt key: %d, want 200", got)
	}
	from = len(g.Log())
	reloadHangup(t, g)
	reloadWaitLog(t, g, from, logKeptLastGood, "what=certificate")
	if got := ca.serial(t, g.Addr); got.Cmp(second.serial) != 0 {
		t.Errorf("after SIGHUP with a corrupt key: serial %x, want the last good %x", got, second.serial)
	}

	third := ca.issue(t)
	reloadReplace(t, keyFile, third.keyPEM)
	reloadReplace(t, certFile, third.certPEM)
	reloadWait(t, "the repaired pair served", func() (bool, string) {
		got := ca.serial(t, g.Addr)
		return got.Cmp(third.serial) == 0, fmt.Sprintf("serial %x, want %x", got, third.serial)
	})
}

// reloadCA is a throwaway CA issuing ECDSA server certificates for 127.0.0.1.
type reloadCA struct {
	cert    *x509.Certificate
	key     *ecdsa.PrivateKey
	certPEM []byte
	pool    *x509.CertPool
}

// reloadLeaf is one issued server certificate.
type reloadLeaf struct {
	serial          *big.Int
	certPEM, keyPEM []byte
}

func newReloadCA(t *testing.T) *reloadCA {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          reloadSerial(t),
		Subject:               pkix.Name{CommonName: "portcullis e2e reload CA"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return &reloadCA{cert: cert, key: key, certPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), pool: pool}
}

// issue makes a new key and a certificate for it with a fresh serial.
func (ca *reloadCA) issue(t *testing.T) reloadLeaf {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: reloadSerial(t),
		Subject:      pkix.Name{CommonName: "127.0.0.1"},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, key.Public(), ca.key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return reloadLeaf{
		serial:  tmpl.SerialNumber,
		certPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		keyPEM:  pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}),
	}
}

// serial makes a new TLS connection (no session resumption), verified against the CA, and
// returns the serial number of the certificate the server presented.
func (ca *reloadCA) serial(t *testing.T, addr string) *big.Int {
	t.Helper()
	d := &tls.Dialer{
		NetDialer: &net.Dialer{Timeout: 5 * time.Second},
		Config:    &tls.Config{RootCAs: ca.pool, ServerName: "127.0.0.1"},
	}
	conn, err := d.DialContext(t.Context(), "tcp", addr)
	if err != nil {
		t.Fatalf("TLS handshake with %s: %v", addr, err)
	}
	defer conn.Close()
	return conn.(*tls.Conn).ConnectionState().PeerCertificates[0].SerialNumber
}

func reloadSerial(t *testing.T) *big.Int {
	t.Helper()
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 120))
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// reloadHangup sends SIGHUP to the gateway.
func reloadHangup(t *testing.T, g *gateway) {
	t.Helper()
	if err := g.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatalf("SIGHUP: %v", err)
	}
}

// reloadReplace replaces file with data the way careful tools do (`gateway passwd`,
// certbot, editors): write a temporary file beside it, then rename it over, so a reader
// sees the old content or the new, never half of it.
func reloadReplace(t *testing.T, file string, data []byte) {
	t.Helper()
	tmp, err := os.CreateTemp(filepath.Dir(file), "."+filepath.Base(file)+".tmp-*")
	if err != nil {
		t.Fatal(err)
	}
	_, werr := tmp.Write(data)
	cerr := tmp.Close()
	if werr != nil || cerr != nil {
		os.Remove(tmp.Name())
		t.Fatalf("writing %s: %v %v", tmp.Name(), werr, cerr)
	}
	if err := os.Rename(tmp.Name(), file); err != nil {
		os.Remove(tmp.Name())
		t.Fatal(err)
	}
}

// reloadWait polls cond every reloadTick until it holds, failing the test with cond's last
// explanation after reloadTimeout. Polling is the only way to see another process change.
func reloadWait(t *testing.T, what string, cond func() (ok bool, why string)) {
	t.Helper()
	deadline := time.Now().Add(reloadTimeout)
	for {
		ok, why := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("waiting for %s: not within %v (last: %s)", what, reloadTimeout, why)
		}
		select {
		case <-t.Context().Done():
			t.Fatalf("waiting for %s: %v", what, t.Context().Err())
		case <-time.After(reloadTick):
		}
	}
}

// reloadWaitStatus waits until GET url as user answers want.
func reloadWaitStatus(t *testing.T, g *gateway, url, user, pass string, want int) {
	t.Helper()
	reloadWait(t, fmt.Sprintf("GET %s as %s to answer %d", url, user, want), func() (bool, string) {
		got := status(t, g.Client, url, user, pass)
		return got == want, fmt.Sprintf("status %d", got)
	})
}

// reloadWaitStatusNot waits until GET url as user answers something other than not, and returns it.
func reloadWaitStatusNot(t *testing.T, g *gateway, url, user, pass string, not int) int {
	t.Helper()
	var got int
	reloadWait(t, fmt.Sprintf("GET %s as %s to stop answering %d", url, user, not), func() (bool, string) {
		got = status(t, g.Client, url, user, pass)
		return got != not, fmt.Sprintf("status %d", got)
	})
	return got
}

// reloadWaitLog waits until the gateway's log, from byte offset from on, has a line holding
// every one of parts, and returns that line and the offset just past it.
func reloadWaitLog(t *testing.T, g *gateway, from int, parts ...string) (line string, end int) {
	t.Helper()
	reloadWait(t, fmt.Sprintf("a log line with %q", parts), func() (bool, string) {
		log := g.Log()
		for off := min(from, len(log)); off < len(log); {
			l, _, complete := strings.Cut(log[off:], "\n")
			if !complete {
				break // a line still being written
			}
			next := off + len(l) + 1
			if reloadContainsAll(l, parts) {
				line, end = l, next
				return true, ""
			}
			off = next
		}
		return false, "no such line yet"
	})
	return line, end
}

func reloadContainsAll(s string, parts []string) bool {
	for _, p := range parts {
		if !strings.Contains(s, p) {
			return false
		}
	}
	return true
}

// reloadPost sends an empty POST to url as user and returns the status.
func reloadPost(t *testing.T, g *gateway, url, user, pass string) int {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.SetBasicAuth(user, pass)
	resp, err := g.Client.Do(req)
	if err != nil {
		t.Fatalf("POST %s: %v", url, err)
	}
	resp.Body.Close()
	return resp.StatusCode
}
