package certs

import (
	"net"
	"os/exec"
	"strings"
	"testing"

	"github.com/portcullis/portcullis/internal/testenv"
)

// TestSelfSignedCurl checks the CA file and server certificate with a second TLS stack
// (curl with OpenSSL), which is what users' tools will do with `gateway ca` output.
func TestSelfSignedCurl(t *testing.T) {
	curl := testenv.NeedTool(t, "curl")
	s, err := NewSelfSigned(SelfSignedOptions{Dir: t.TempDir(), Hosts: []string{"registry.example.test"}})
	if err != nil {
		t.Fatal(err)
	}
	addr := serveTLS(t, ServerConfig(s.GetCertificate, ServerOptions{}), nil)
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		args    []string
		want    string // response body: the protocol the server saw
		wantErr bool
	}{
		{"by name over HTTP/2", []string{"--http2", "--resolve", "registry.example.test:" + port + ":127.0.0.1", "https://registry.example.test:" + port + "/"}, "HTTP/2.0", false},
		{"by loopback address", []string{"--http1.1", "https://127.0.0.1:" + port + "/"}, "HTTP/1.1", false},
		{"by localhost", []string{"https://localhost:" + port + "/"}, "", false},
		{"name not in certificate", []string{"--resolve", "other.example.test:" + port + ":127.0.0.1", "https://other.example.test:" + port + "/"}, "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := append([]string{"--silent", "--show-error", "--fail", "--max-time", "20", "--cacert", s.CAFile()}, tt.args...)
			out, err := exec.CommandContext(t.Context(), curl, args...).CombinedOutput()
			if tt.wantErr {
				if err == nil {
					t.Fatalf("curl succeeded: %s", out)
				}
				return
			}
			if err != nil {
				t.Fatalf("curl %s: %v\n%s", strings.Join(args, " "), err, out)
			}
			if tt.want != "" && string(out) != tt.want {
				t.Errorf("server saw %q, want %q", out, tt.want)
			}
		})
	}
}

// TestServerConfigOpenSSL has OpenSSL offer old protocol versions (lowering its own security
// level so that it will) and checks that our server is the one refusing them.
func TestServerConfigOpenSSL(t *testing.T) {
	openssl := testenv.NeedTool(t, "openssl")
	s, err := NewSelfSigned(SelfSignedOptions{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	addr := serveTLS(t, ServerConfig(s.GetCertificate, ServerOptions{}), nil)
	tests := []struct {
		flag    string
		refused bool
	}{
		{"-tls1", true},
		{"-tls1_1", true},
		{"-tls1_2", false},
		{"-tls1_3", false},
	}
	for _, tt := range tests {
		t.Run(tt.flag, func(t *testing.T) {
			out, err := exec.CommandContext(t.Context(), openssl, "s_client", "-connect", addr, "-servername", "localhost",
				tt.flag, "-cipher", "DEFAULT@SECLEVEL=0", "-CAfile", s.CAFile(), "-verify_return_error").CombinedOutput()
			if tt.refused {
				// Alert 70 is protocol_version, sent by the server (RFC 8446 section 6.2).
				if err == nil || !strings.Contains(string(out), "alert protocol version") {
					t.Fatalf("server did not refuse %s with a protocol_version alert: %v\n%s", tt.flag, err, out)
				}
				return
			}
			if err != nil || !strings.Contains(string(out), "Verify return code: 0 (ok)") {
				t.Fatalf("%s handshake failed: %v\n%s", tt.flag, err, out)
			}
		})
	}
}
