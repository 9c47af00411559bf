package main

import (
	"encoding/pem"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/portcullis/portcullis/certs"
)

func TestMigrateCommand(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "gateway.yaml")
	twin, err := os.ReadFile("../../examples/nginx-compat/gateway.yaml")
	if err != nil {
		t.Fatal(err)
	}
	broken := filepath.Join(dir, "broken.conf")
	os.WriteFile(broken, []byte("http {\n  server {\n    listen 443 ssl\n  }\n}\n"), 0o644)
	cases := []struct {
		name     string
		args     []string
		code     int
		contains string
	}{
		{"usage", []string{"migrate"}, 2, "usage: gateway migrate nginx"},
		{"no file", []string{"migrate", "nginx"}, 2, "usage"},
		{"stdout", []string{"migrate", "nginx", "--root", "../../examples/nginx-compat", "/etc/nginx/nginx.conf"}, 0, "upstream: http://registry:5000"},
		{"out after file", []string{"migrate", "nginx", "--root", "../../examples/nginx-compat", "/etc/nginx/nginx.conf", "--out", out}, 0, "wrote " + out},
		{"no overwrite", []string{"migrate", "nginx", "--root", "../../examples/nginx-compat", "--out", out, "/etc/nginx/nginx.conf"}, 1, "pass --force"},
		{"force", []string{"migrate", "nginx", "--force", "--root", "../../examples/nginx-compat", "--out", out, "/etc/nginx/nginx.conf"}, 0, "What changes for clients"},
		{"several servers need --out", []string{"migrate", "nginx", "--root", "../../migrate/testdata/vhosts/root", "/etc/nginx/nginx.conf"}, 1, "name a file with --out"},
		{"syntax error names file and line", []string{"migrate", "nginx", broken}, 1, broken + ":4: unexpected \"}\""},
		{"missing file", []string{"migrate", "nginx", filepath.Join(dir, "nope.conf")}, 1, "no such file"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			code, stdout, stderr := runCmd(t, "", tc.args...)
			if code != tc.code || !strings.Contains(stdout+stderr, tc.contains) {
				t.Fatalf("exit %d (want %d)\nstdout: %s\nstderr: %s\nwant text %q", code, tc.code, stdout, stderr, tc.contains)
			}
		})
	}
	got, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != string(twin) {
		t.Errorf("gateway migrate nginx --root examples/nginx-compat wrote something else than examples/nginx-compat/gateway.yaml:\n%s", got)
	}
}

func TestHealthCommand(t *testing.T) {
	registry := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Docker-Distribution-Api-Version", "registry/2.0")
		w.WriteHeader(http.StatusUnauthorized)
	}))
	defer registry.Close()
	other := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer other.Close()
	ca := filepath.Join(t.TempDir(), "ca.crt")
	os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: registry.Certificate().Raw}), 0o644)
	// httptest servers share one certificate: a CA of our own is a stranger to them.
	ss, err := certs.NewSelfSigned(certs.SelfSignedOptions{Dir: t.TempDir(), Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	otherCA := ss.CAFile()
	data := t.TempDir()
	cases := []struct {
		name     string
		args     []string
		code     int
		contains string
	}{
		{"registry answers 401", []string{"health", "--url", registry.URL + "/v2/", "--ca", ca}, 0, "healthy"},
		{"certificate not trusted", []string{"health", "--url", registry.URL + "/v2/", "--ca", otherCA}, 1, "unknown authority"},
		{"not a registry", []string{"health", "--url", other.URL + "/v2/", "--ca", ca}, 1, "want 200 or 401 with registry/2.0"},
		{"nothing listening", []string{"health", "--url", "https://127.0.0.1:9/v2/", "--ca", ca}, 1, "unhealthy"},
		{"no CA yet", []string{"health", "--data", data}, 1, "the gateway's CA"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			code, stdout, stderr := runCmd(t, "", tc.args...)
			if code != tc.code || !strings.Contains(stdout+stderr, tc.contains) {
				t.Fatalf("exit %d (want %d)\nstdout: %s\nstderr: %s\nwant text %q", code, tc.code, stdout, stderr, tc.contains)
			}
		})
	}
}
