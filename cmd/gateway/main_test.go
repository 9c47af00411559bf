package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"io"
	"net"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/portcullis/portcullis/internal/testenv"
)

func runCmd(t *testing.T, stdin string, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(t.Context(), args, strings.NewReader(stdin), &out, &errb)
	return code, out.String(), errb.String()
}

func TestSubcommands(t *testing.T) {
	dir := t.TempDir()
	hp := filepath.Join(dir, "htpasswd")
	cases := []struct {
		name     string
		stdin    string
		args     []string
		code     int
		contains string
	}{
		{"version", "", []string{"version"}, 0, "portcullis gateway"},
		{"help", "", []string{"help"}, 0, "gateway passwd"},
		{"help lists serve flags", "", []string{"help"}, 0, "--shutdown-timeout duration"},
		{"--help", "", []string{"--help"}, 0, "gateway passwd"},
		{"-h", "", []string{"-h"}, 0, "--tls-client-ca file"},
		{"serve --help", "", []string{"serve", "--help"}, 0, "gateway policy test"},
		{"serve -h lists flags", "", []string{"serve", "-h"}, 0, "--upstream URL"},
		{"help serve", "", []string{"help", "serve"}, 0, "--listen address"},
		{"help check", "", []string{"help", "check"}, 0, "Usage: gateway check"},
		{"help gc", "", []string{"help", "gc"}, 0, "--delete"},
		{"help passwd", "", []string{"help", "passwd"}, 0, "-cost"},
		{"help unknown", "", []string{"help", "nope"}, 2, "unknown command"},
		{"misspelt flag", "", []string{"serve", "--listn", ":1"}, 2, "unknown flag --listn; did you mean --listen?"},
		{"misspelt flag of gc", "", []string{"gc", "--delet"}, 2, "did you mean --delete?"},
		{"unknown", "", []string{"frobnicate"}, 2, "unknown command"},
		{"passwd creates", "s3cret\n", []string{"passwd", "--cost", "4", hp, "alice"}, 0, "password for alice set"},
		{"passwd usage", "", []string{"passwd", hp}, 2, "usage"},
		{"passwd empty", "\n", []string{"passwd", hp, "bob"}, 1, "empty password"},
		{"passwd bad user", "x\n", []string{"passwd", hp, "a:b"}, 1, ""},
		{"check ok", "", []string{"check", "--data", dir, "--htpasswd", hp}, 0, "configuration OK"},
		{"check lists every problem", "", []string{"check", "--listen", "nope", "--tls", "bogus", "--log-format", "xml", "--upstream", "ftp://x"}, 1, "listen:"},
		{"serve bad flag", "", []string{"serve", "--no-such-flag"}, 2, "no-such-flag"},
		{"serve bad config", "", []string{"serve", "--tls", "files"}, 1, "tls_cert"},
		{"gc on empty data", "", []string{"gc", "--data", dir}, 0, "dry run"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errs := runCmd(t, tc.stdin, tc.args...)
			if code != tc.code || !strings.Contains(out+errs, tc.contains) {
				t.Fatalf("exit %d (want %d)\nstdout: %s\nstderr: %s\nwant text %q", code, tc.code, out, errs, tc.contains)
			}
		})
	}
	t.Run("check names every key", func(t *testing.T) {
		_, _, errs := runCmd(t, "", "check", "--listen", "nope", "--tls", "bogus", "--log-format", "xml", "--upstream", "ftp://x")
		for _, k := range []string{"--listen:", "--tls:", "--log-format:", "--upstream:"} {
			if !strings.Contains(errs, k) {
				t.Errorf("check output lacks %s:\n%s", k, errs)
			}
		}
	})
	t.Run("check and serve list the same problems", func(t *testing.T) {
		file := filepath.Join(dir, "broken.yaml")
		os.WriteFile(file, []byte("tls: files\ntls_cretificate: c.pem\nshutdown_timeout: 60\nrealm: [a, b]\nlog_format: xml\n"), 0o600)
		want := "gateway: configuration problems:\n" +
			"  - " + file + ":1: tls: files needs both tls_cert and tls_key (--tls-cert, --tls-key)\n" +
			"  - " + file + ":2: tls_cretificate: unknown key; did you mean tls_cert?\n" +
			"  - " + file + ":4: realm: want a single value, not a list\n" +
			"  - " + file + ":5: log_format: \"xml\": use text or json\n"
		for _, cmd := range []string{"check", "serve"} {
			code, out, errs := runCmd(t, "", cmd, "--config", file, "--data", dir, "--htpasswd", hp)
			if code != 1 || errs != want || out != "" {
				t.Errorf("gateway %s: exit %d\nstdout: %s\nstderr:\n%s\nwant:\n%s", cmd, code, out, errs, want)
			}
		}
	})
	t.Run("check loads the policy", func(t *testing.T) {
		bad := filepath.Join(dir, "bad.rego")
		os.WriteFile(bad, []byte("package portcullis.authz\n\ngranted contains x if {\n"), 0o600)
		code, _, errs := runCmd(t, "", "check", "--data", dir, "--htpasswd", hp, "--policy", bad)
		if code != 1 || !strings.Contains(errs, "policy") {
			t.Fatalf("exit %d, stderr:\n%s", code, errs)
		}
	})
}

// syncBuffer collects log output written from server goroutines.
type syncBuffer = testenv.SyncBuffer

// served is a `gateway serve` running in-process for a test.
type served struct {
	addr   string
	logs   *syncBuffer
	client *http.Client
	pass   string // the generated admin password
	dir    string // the data directory
	cancel context.CancelFunc
	done   chan int
}

func freeLoopback(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// startServe runs serve with the defaults on a fresh data directory plus args, and waits
// until it is ready and its CA and admin password are known.
func startServe(t *testing.T, args ...string) *served {
	t.Helper()
	dir := t.TempDir()
	s := &served{addr: freeLoopback(t), dir: dir, logs: &syncBuffer{}, done: make(chan int, 1)}
	ctx, cancel := context.WithCancel(t.Context())
	s.cancel = cancel
	t.Cleanup(cancel)
	args = append([]string{"--listen", s.addr, "--data", dir}, args...)
	go func() { s.done <- run(ctx, args, strings.NewReader(""), s.logs, s.logs) }()
	caFile := filepath.Join(dir, "certs", "ca.crt")
	deadline := time.Now().Add(30 * time.Second)
	for {
		if time.Now().After(deadline) {
			t.Fatalf("gateway did not come up; log:\n%s", s.logs.String())
		}
		if pem, err := os.ReadFile(caFile); err == nil && strings.Contains(s.logs.String(), "ready") {
			pool := x509.NewCertPool()
			pool.AppendCertsFromPEM(pem)
			s.client = &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	m := regexp.MustCompile(`password=(\S+)`).FindStringSubmatch(s.logs.String())
	if m == nil {
		t.Fatalf("no admin password in the log:\n%s", s.logs.String())
	}
	s.pass = m[1]
	return s
}

// TestShutdownLetsUploadsFinish: on SIGTERM (the context ending) the gateway stops
// accepting connections, but an upload already streaming finishes and is stored, over
// HTTP/1.1 and over HTTP/2 (served through batchConn, with its own GOAWAY on shutdown).
func TestShutdownLetsUploadsFinish(t *testing.T) {
	for _, h2 := range []bool{false, true} {
		name := map[bool]string{false: "http1.1", true: "http2"}[h2]
		t.Run(name, func(t *testing.T) { testShutdownLetsUploadsFinish(t, h2) })
	}
}

func testShutdownLetsUploadsFinish(t *testing.T, h2 bool) {
	s := startServe(t)
	if h2 {
		tr := s.client.Transport.(*http.Transport).Clone()
		tr.ForceAttemptHTTP2 = true
		s.client = &http.Client{Transport: tr}
	}
	base := "https://" + s.addr
	req, _ := http.NewRequest("POST", base+"/v2/admin/big/blobs/uploads/", nil)
	req.SetBasicAuth("admin", s.pass)
	resp, err := s.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc := resp.Header.Get("Location")
	if resp.StatusCode != 202 || loc == "" {
		t.Fatalf("POST uploads: %d %q", resp.StatusCode, loc)
	}

	pr, pw := io.Pipe()
	patch, _ := http.NewRequest("PATCH", base+loc, pr)
	patch.SetBasicAuth("admin", s.pass)
	patch.Header.Set("Content-Type", "application/octet-stream")
	type result struct {
		resp *http.Response
		err  error
	}
	res := make(chan result, 1)
	go func() { r, err := s.client.Do(patch); res <- result{r, err} }()
	chunk := bytes.Repeat([]byte("x"), 1<<20)
	if _, err := pw.Write(chunk); err != nil {
		t.Fatal(err)
	}

	// net/http drops a request whose headers it reads after shutdown began, so "in
	// flight" means the handler is running: wait until the upload's data file grows (the
	// status endpoint would wait for the PATCH's session lock).
	data := filepath.Join(s.dir, "registry", "docker", "registry", "v2", "repositories",
		"admin", "big", "_uploads", path.Base(loc), "data")
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		if fi, err := os.Stat(data); err == nil && fi.Size() > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the PATCH never started writing %s", data)
		}
	}
	s.cancel() // what SIGTERM does
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", s.addr, time.Second)
		if err != nil {
			break // new connections are refused
		}
		c.Close()
		if time.Now().After(deadline) {
			t.Fatal("the gateway still accepts connections after shutdown began")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if _, err := pw.Write(chunk); err != nil {
		r := <-res
		status := 0
		if r.resp != nil {
			status = r.resp.StatusCode
		}
		t.Fatalf("the in-flight upload was cut: %v (PATCH: %d, %v); log:\n%s", err, status, r.err, s.logs.String())
	}
	pw.Close()
	r := <-res
	if r.err != nil {
		t.Fatalf("in-flight PATCH failed: %v", r.err)
	}
	r.resp.Body.Close()
	if wantMajor := map[bool]int{false: 1, true: 2}[h2]; r.resp.ProtoMajor != wantMajor {
		t.Fatalf("the upload went over %s, not HTTP/%d", r.resp.Proto, wantMajor)
	}
	if r.resp.StatusCode != 202 || r.resp.Header.Get("Range") != "0-2097151" {
		t.Fatalf("in-flight PATCH: %d Range %q, want 202 0-2097151", r.resp.StatusCode, r.resp.Header.Get("Range"))
	}
	select {
	case code := <-s.done:
		if code != 0 {
			t.Fatalf("serve exited %d; log:\n%s", code, s.logs.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatal("serve did not exit after the upload finished")
	}
}

// TestServeDefaults runs `gateway serve` with nothing but a data directory and a port:
// the admin password is printed once, the CA is written, /v2/ wants a login and accepts
// the printed password over TLS verified against the printed CA, and the server stops
// cleanly when its context ends.
func TestServeDefaults(t *testing.T) {
	maddr := freeLoopback(t)
	s := startServe(t, "--metrics-listen", maddr)
	client, logs, addr := s.client, s.logs, s.addr
	m := []string{"", s.pass}
	url := "https://" + addr + "/v2/"
	resp, err := client.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 401 || !strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "Basic ") {
		t.Fatalf("anonymous /v2/: %d %v", resp.StatusCode, resp.Header)
	}
	req, _ := http.NewRequest("GET", url, nil)
	req.SetBasicAuth("admin", m[1])
	resp, err = client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Strict-Transport-Security") == "" {
		t.Fatalf("admin /v2/: %d %v", resp.StatusCode, resp.Header)
	}
	for _, method := range []string{"BREW", "ZZZ1"} { // made-up methods: one "other" series
		req, _ = http.NewRequest(method, url, nil)
		if resp, err = client.Do(req); err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	mresp, err := http.Get("http://" + maddr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(mresp.Body)
	mresp.Body.Close()
	for _, want := range []string{
		`portcullis_requests_total{code="401",kind="base",method="GET",outcome="unauthenticated"} 1`,
		`portcullis_requests_total{code="200",kind="base",method="GET",outcome="forwarded"} 1`,
		`method="other"`,
		"portcullis_tls_certificate_not_after_seconds",
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("metrics lack %s:\n%s", want, body)
		}
	}
	if strings.Contains(string(body), "BREW") || strings.Contains(string(body), "ZZZ1") {
		t.Errorf("a made-up method became a metrics label:\n%s", body)
	}
	if strings.Count(logs.String(), m[1]) != 1 {
		t.Errorf("the password appears more than once in the log")
	}
	s.cancel()
	select {
	case code := <-s.done:
		if code != 0 {
			t.Fatalf("serve exited %d; log:\n%s", code, logs.String())
		}
	case <-time.After(20 * time.Second):
		t.Fatal("serve did not stop after its context ended")
	}
}

// TestHTTP2Download: over HTTP/2 (through batchConn) a blob comes back byte for byte, the
// handlers still see the TLS connection (HSTS is set only on TLS requests), and many
// small requests on one connection are answered without waiting for a batch.
func TestHTTP2Download(t *testing.T) {
	s := startServe(t)
	base := "https://" + s.addr
	tr := s.client.Transport.(*http.Transport).Clone()
	tr.ForceAttemptHTTP2 = true
	h2 := &http.Client{Transport: tr}

	blob := make([]byte, 3<<20+12345) // not a multiple of the frame size
	if _, err := rand.Read(blob); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(blob)
	dg := "sha256:" + hex.EncodeToString(sum[:])
	req, _ := http.NewRequest("POST", base+"/v2/admin/h2/blobs/uploads/?digest="+dg, bytes.NewReader(blob))
	req.SetBasicAuth("admin", s.pass)
	resp, err := h2.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 201 || resp.ProtoMajor != 2 {
		t.Fatalf("push over h2: %d %s", resp.StatusCode, resp.Proto)
	}
	for i := 0; i < 3; i++ {
		req, _ = http.NewRequest("GET", base+"/v2/admin/h2/blobs/"+dg, nil)
		req.SetBasicAuth("admin", s.pass)
		resp, err = h2.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil || resp.StatusCode != 200 || resp.ProtoMajor != 2 {
			t.Fatalf("GET over h2: %d %s %v", resp.StatusCode, resp.Proto, err)
		}
		if !bytes.Equal(got, blob) {
			t.Fatalf("GET over h2 returned %d bytes that differ from the %d pushed", len(got), len(blob))
		}
		if resp.Header.Get("Strict-Transport-Security") == "" {
			t.Fatal("no HSTS over h2: the handler did not see the TLS connection")
		}
	}
	for i := 0; i < 50; i++ {
		req, _ = http.NewRequest("HEAD", base+"/v2/admin/h2/blobs/"+dg, nil)
		req.SetBasicAuth("admin", s.pass)
		resp, err = h2.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 || resp.ContentLength != int64(len(blob)) {
			t.Fatalf("HEAD over h2: %d, length %d", resp.StatusCode, resp.ContentLength)
		}
	}
}
