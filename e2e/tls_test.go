package e2e

import (
	"context"
	"crypto/tls"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/portcullis/portcullis/certs"
	"github.com/portcullis/portcullis/internal/testenv"
)

// TestTLSCipherSuites handshakes TLS 1.2 with the running binary (self-signed ECDSA
// certificate) once per suite Go can offer: only the ECDHE-ECDSA AEAD suites are accepted,
// every CBC suite (issue 12: ECDHE-ECDSA-AES128-SHA and -AES256-SHA were) is refused. Then
// openssl s_client asks for a CBC suite (refused) and an AEAD one (accepted).
func TestTLSCipherSuites(t *testing.T) {
	t.Parallel()
	g := startGateway(t, t.TempDir(), authFlags(t)...)
	for _, s := range append(tls.CipherSuites(), tls.InsecureCipherSuites()...) {
		if !slices.Contains(s.SupportedVersions, tls.VersionTLS12) {
			continue
		}
		want := slices.Contains(certs.CipherSuites, s.ID) && strings.HasPrefix(s.Name, "TLS_ECDHE_ECDSA_")
		ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
		d := &tls.Dialer{Config: &tls.Config{
			InsecureSkipVerify: true, // the suite is under test, not the chain
			MinVersion:         tls.VersionTLS12, MaxVersion: tls.VersionTLS12,
			CipherSuites: []uint16{s.ID},
		}}
		c, err := d.DialContext(ctx, "tcp", g.Addr)
		cancel()
		if err == nil {
			c.Close()
		}
		switch {
		case want && err != nil:
			t.Errorf("%s refused: %v", s.Name, err)
		case !want && err == nil:
			t.Errorf("%s accepted, want refusal", s.Name)
		}
	}

	openssl := testenv.NeedTool(t, "openssl")
	for _, tc := range []struct {
		cipher string
		ok     bool
	}{
		{"ECDHE-ECDSA-AES128-SHA", false},
		{"ECDHE-ECDSA-AES256-SHA", false},
		{"ECDHE-ECDSA-AES128-SHA256", false},
		{"ECDHE-ECDSA-AES128-GCM-SHA256", true},
		{"ECDHE-ECDSA-AES256-GCM-SHA384", true},
		{"ECDHE-ECDSA-CHACHA20-POLY1305", true},
	} {
		cmd := exec.CommandContext(t.Context(), openssl, "s_client", "-connect", g.Addr, "-tls1_2",
			"-cipher", tc.cipher, "-servername", "localhost")
		cmd.Stdin = strings.NewReader("")
		out, err := cmd.CombinedOutput()
		negotiated := strings.Contains(string(out), "Cipher is "+tc.cipher)
		if tc.ok != (err == nil && negotiated) {
			t.Errorf("openssl s_client -tls1_2 -cipher %s: err %v, negotiated %v; want accepted=%v\n%s",
				tc.cipher, err, negotiated, tc.ok, tail(string(out), 10))
		}
	}
}
