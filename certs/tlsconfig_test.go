package certs

import (
	"crypto/tls"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

func TestServerConfigVersions(t *testing.T) {
	ss, err := NewSelfSigned(SelfSignedOptions{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	pool, err := LoadCertPool(ss.CAFile())
	if err != nil {
		t.Fatal(err)
	}
	addr := serveTLS(t, ServerConfig(ss.GetCertificate, ServerOptions{}), nil)

	tests := []struct {
		name        string
		min, max    uint16
		wantErr     bool
		wantVersion uint16
	}{
		{"TLS 1.0 refused", tls.VersionTLS10, tls.VersionTLS10, true, 0},
		{"TLS 1.1 refused", tls.VersionTLS10, tls.VersionTLS11, true, 0},
		{"TLS 1.2 accepted", tls.VersionTLS12, tls.VersionTLS12, false, tls.VersionTLS12},
		{"TLS 1.3 preferred", tls.VersionTLS10, tls.VersionTLS13, false, tls.VersionTLS13},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cs, err := handshake(t, addr, &tls.Config{
				RootCAs: pool, ServerName: "localhost", MinVersion: tt.min, MaxVersion: tt.max,
			})
			if tt.wantErr {
				if err == nil {
					t.Fatalf("handshake succeeded with version %x, want refusal", cs.Version)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if cs.Version != tt.wantVersion {
				t.Errorf("version = %x, want %x", cs.Version, tt.wantVersion)
			}
		})
	}
}

func TestServerConfigHTTP2(t *testing.T) {
	ss, err := NewSelfSigned(SelfSignedOptions{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	pool, err := LoadCertPool(ss.CAFile())
	if err != nil {
		t.Fatal(err)
	}
	addr := serveTLS(t, ServerConfig(ss.GetCertificate, ServerOptions{}), nil)
	client := &http.Client{Transport: &http.Transport{
		TLSClientConfig:   &tls.Config{RootCAs: pool},
		ForceAttemptHTTP2: true,
	}}
	t.Cleanup(client.CloseIdleConnections)
	req, err := http.NewRequestWithContext(t.Context(), "GET", "https://"+addr+"/", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.ProtoMajor != 2 {
		t.Errorf("protocol = %s, want HTTP/2", resp.Proto)
	}
}

func TestServerConfigNextProtos(t *testing.T) {
	cfg := ServerConfig(nil, ServerOptions{ExtraNextProtos: []string{"acme-tls/1", "h2", "acme-tls/1"}})
	if want := []string{"h2", "http/1.1", "acme-tls/1"}; !slices.Equal(cfg.NextProtos, want) {
		t.Errorf("NextProtos = %q, want %q", cfg.NextProtos, want)
	}
	if cfg.MinVersion != tls.VersionTLS12 {
		t.Errorf("MinVersion = %x, want TLS 1.2", cfg.MinVersion)
	}
	if cfg.ClientAuth != tls.NoClientCert {
		t.Errorf("ClientAuth = %v without client CAs", cfg.ClientAuth)
	}
}

func TestServerConfigClientCertificates(t *testing.T) {
	ss, err := NewSelfSigned(SelfSignedOptions{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	serverPool, err := LoadCertPool(ss.CAFile())
	if err != nil {
		t.Fatal(err)
	}
	clientCA := newTestCA(t)
	caFile := filepath.Join(t.TempDir(), "clients.pem")
	if err := os.WriteFile(caFile, certPEM(clientCA.cert.Raw), 0o644); err != nil {
		t.Fatal(err)
	}
	clientPool, err := LoadCertPool(caFile)
	if err != nil {
		t.Fatal(err)
	}
	good := clientCA.clientCert(t, "alice.example")
	stranger := newTestCA(t).clientCert(t, "mallory.example")

	// The handler reports the verified client name, as the authenticator would read it.
	whoami := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if len(r.TLS.VerifiedChains) > 0 {
			_, _ = w.Write([]byte(r.TLS.VerifiedChains[0][0].DNSNames[0]))
		}
	})
	tests := []struct {
		name     string
		optional bool
		cert     *tls.Certificate
		wantErr  bool
	}{
		{"required, valid cert", false, good, false},
		{"required, no cert", false, nil, true},
		{"required, unknown issuer", false, stranger, true},
		{"optional, no cert", true, nil, false},
		{"optional, valid cert", true, good, false},
		// The server names its acceptable CAs, so Go's client sends no certificate at all.
		{"optional, unknown issuer", true, stranger, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			addr := serveTLS(t, ServerConfig(ss.GetCertificate, ServerOptions{ClientCAs: clientPool, ClientAuthOptional: tt.optional}), whoami)
			cfg := &tls.Config{RootCAs: serverPool, ServerName: "localhost"}
			if tt.cert != nil {
				cfg.Certificates = []tls.Certificate{*tt.cert}
			}
			_, err := handshake(t, addr, cfg)
			if gotErr := err != nil; gotErr != tt.wantErr {
				t.Fatalf("handshake error = %v, want error %v", err, tt.wantErr)
			}
		})
	}
}

func TestLoadCertPoolErrors(t *testing.T) {
	dir := t.TempDir()
	empty := filepath.Join(dir, "empty.pem")
	if err := os.WriteFile(empty, []byte("not a certificate\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, file := range []string{empty, filepath.Join(dir, "missing.pem")} {
		if _, err := LoadCertPool(file); err == nil {
			t.Errorf("LoadCertPool(%s) succeeded", file)
		}
	}
}
