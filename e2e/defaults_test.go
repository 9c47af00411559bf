package e2e

import (
	"bytes"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// passwordLog matches the password in a text-format log line (password=XYZ or
// password="XYZ").
var passwordLog = regexp.MustCompile(`\bpassword="?([^"\s]+)"?`)

// printedPasswords returns the passwords found in log lines that mention "password", in
// either JSON or text log format.
func printedPasswords(log string) []string {
	var found []string
	for line := range strings.Lines(log) {
		if !strings.Contains(line, "password") {
			continue
		}
		var rec map[string]any
		if json.Unmarshal([]byte(line), &rec) == nil {
			if p, ok := rec["password"].(string); ok && p != "" {
				found = append(found, p)
			}
			continue
		}
		if m := passwordLog.FindStringSubmatch(line); m != nil {
			found = append(found, m[1])
		}
	}
	return found
}

// status returns the status of GET url as user (no credentials when user is empty).
func status(t *testing.T, client *http.Client, url, user, pass string) int {
	t.Helper()
	return get(t, client, url, user, pass).Status
}

// challenge is what a client sees of an answer: the status and the headers of the
// registry's challenge.
type challenge struct {
	Status          int
	WWWAuthenticate string
	APIVersion      string
}

// get sends GET url as user (no credentials when user is empty).
func get(t *testing.T, client *http.Client, url, user, pass string) challenge {
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
	resp.Body.Close()
	return challenge{resp.StatusCode, resp.Header.Get("WWW-Authenticate"), resp.Header.Get("Docker-Distribution-Api-Version")}
}

func TestDefaults(t *testing.T) {
	t.Parallel()
	data := t.TempDir()
	g := startGateway(t, data) // only --listen and --data

	pass := passwordFrom(t, g)
	if code := status(t, g.Client, g.URL+"/v2/", "admin", pass); code != http.StatusOK {
		t.Fatalf("GET /v2/ as admin with the printed password: %d, want 200", code)
	}
	digest := g.pushGGCR(t, "admin/first:1", "admin", pass, 2)

	t.Run("docker login", func(t *testing.T) {
		d := newDocker(t, g)
		d.run(pass, "login", g.Host, "-u", "admin", "--password-stdin")
		d.run("", "pull", g.Host+"/admin/first:1")
		t.Cleanup(func() { cleanupCmd(d.bin, "rmi", "-f", g.Host+"/admin/first:1") })
		d.run("", "logout", g.Host)
	})

	ca, err := os.ReadFile(g.CAFile)
	if err != nil {
		t.Fatal(err)
	}
	htpasswd := filepath.Join(data, "htpasswd")
	users, err := os.ReadFile(htpasswd)
	if err != nil {
		t.Fatalf("default htpasswd file: %v", err)
	}
	// `gateway passwd` adds a user (password on stdin) that the next start accepts.
	runCmd(t, "carol-secret\n", gatewayBin, "passwd", "--cost", "5", htpasswd, "carol")

	g.Restart()
	if got, _ := os.ReadFile(g.CAFile); !bytes.Equal(got, ca) {
		t.Errorf("ca.crt changed across a restart")
	}
	if got := printedPasswords(g.Log()); len(got) != 1 {
		t.Errorf("found %d passwords in the log after a restart, want still 1 (printed once)", len(got))
	}
	if got, _ := os.ReadFile(htpasswd); !bytes.HasPrefix(got, bytes.TrimSpace(users)) {
		t.Errorf("admin's htpasswd entry changed across a restart")
	}
	if code := status(t, g.Client, g.URL+"/v2/", "admin", pass); code != http.StatusOK {
		t.Errorf("GET /v2/ as admin after restart: %d, want 200", code)
	}
	if code := status(t, g.Client, g.URL+"/v2/", "carol", "carol-secret"); code != http.StatusOK {
		t.Errorf("GET /v2/ as carol (added by gateway passwd): %d, want 200", code)
	}
	desc, err := remoteGet(t, g, "admin/first:1", "admin", pass)
	if err != nil {
		t.Fatalf("pull after restart: %v", err)
	}
	if desc != digest {
		t.Errorf("digest after restart = %s, want %s", desc, digest)
	}
}

func TestCLI(t *testing.T) {
	t.Parallel()
	needGateway(t)
	if out, _ := runCmd(t, "", gatewayBin, "version"); strings.TrimSpace(out) == "" {
		t.Errorf("gateway version printed nothing on stdout")
	}

	dir := t.TempDir()
	good := filepath.Join(dir, "good.yaml")
	bad := filepath.Join(dir, "bad.yaml")
	os.WriteFile(good, []byte("listen: 127.0.0.1:8443\ndata: "+dir+"\ntls: off\n"), 0o600)
	os.WriteFile(bad, []byte("listen: 127.0.0.1:8443\ndata: "+dir+"\ntls: sometimes\n"), 0o600)
	runCmd(t, "", gatewayBin, "check", "--config", good)
	_, stderr, err := tryCmd(t, "", gatewayBin, "check", "--config", bad)
	if err == nil {
		t.Errorf("gateway check accepted tls: sometimes")
	} else if !strings.Contains(stderr, "tls") {
		t.Errorf("gateway check on a bad tls mode: stderr %q does not name the tls setting", stderr)
	}

	g := startGateway(t, t.TempDir())
	out, _ := runCmd(t, "", gatewayBin, "ca", "--data", g.Data)
	if !strings.Contains(out, "ca.crt") && !strings.Contains(out, "BEGIN CERTIFICATE") {
		t.Errorf("gateway ca output names neither ca.crt nor a certificate:\n%s", out)
	}
}

func TestDefaultsJSONLog(t *testing.T) {
	t.Parallel()
	g := startGateway(t, t.TempDir(), "--log-format", "json")
	g.pushGGCR(t, "admin/json:1", "admin", passwordFrom(t, g), 1)
	for line := range strings.Lines(g.Log()) {
		if strings.HasPrefix(line, "=== gateway ") { // the harness's own header
			continue
		}
		if !json.Valid([]byte(line)) {
			t.Errorf("--log-format json wrote a line that is not JSON: %q", line)
		}
	}
}

// passwordFrom returns the one admin password the gateway printed.
func passwordFrom(t *testing.T, g *gateway) string {
	t.Helper()
	pws := printedPasswords(g.Log())
	if len(pws) != 1 {
		t.Fatalf("found %d passwords in the log, want exactly 1:\n%s", len(pws), g.Log())
	}
	return pws[0]
}
