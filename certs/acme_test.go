package certs

import (
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"

	"golang.org/x/crypto/acme"
)

func TestNewACMEValidates(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name string
		opts ACMEOptions
		ok   bool
	}{
		{"valid", ACMEOptions{CacheDir: dir, Hosts: []string{"registry.example.com", "Mirror.Example.com."}}, true},
		{"no cache dir", ACMEOptions{Hosts: []string{"registry.example.com"}}, false},
		{"no hosts", ACMEOptions{CacheDir: dir}, false},
		{"IP address", ACMEOptions{CacheDir: dir, Hosts: []string{"192.0.2.1"}}, false},
		{"single label", ACMEOptions{CacheDir: dir, Hosts: []string{"localhost"}}, false},
		{"wildcard", ACMEOptions{CacheDir: dir, Hosts: []string{"*.example.com"}}, false},
		{"invalid name", ACMEOptions{CacheDir: dir, Hosts: []string{"bad name.example.com"}}, false},
		{"negative renew", ACMEOptions{CacheDir: dir, Hosts: []string{"registry.example.com"}, RenewBefore: -1}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, err := NewACME(tt.opts)
			if (err == nil) != tt.ok {
				t.Fatalf("NewACME error = %v, want ok=%v", err, tt.ok)
			}
			if a == nil {
				return
			}
			if want := []string{"mirror.example.com", "registry.example.com"}; !slices.Equal(a.Hosts(), want) {
				t.Errorf("Hosts = %q, want %q", a.Hosts(), want)
			}
			if !slices.Contains(a.NextProtos(), acme.ALPNProto) {
				t.Errorf("NextProtos %q lacks %q", a.NextProtos(), acme.ALPNProto)
			}
			if !a.NotAfter().IsZero() {
				t.Error("NotAfter set before any certificate")
			}
			if a.m.Client.DirectoryURL == "" {
				t.Error("no default directory URL")
			}
		})
	}
}

// TestACMEHTTPChallenges: challenge requests are answered (404 for a token nobody asked
// for) whatever port the Host names, and refused for a host outside the policy.
func TestACMEHTTPChallenges(t *testing.T) {
	a, err := NewACME(ACMEOptions{CacheDir: t.TempDir(), Hosts: []string{"registry.example.com"}})
	if err != nil {
		t.Fatal(err)
	}
	h := a.HTTPChallenges()
	tests := []struct {
		host string
		want int
	}{
		{"registry.example.com", http.StatusNotFound},
		{"registry.example.com:8080", http.StatusNotFound},
		{"other.example.com", http.StatusForbidden},
		{"other.example.com:80", http.StatusForbidden},
	}
	for _, tt := range tests {
		t.Run(tt.host, func(t *testing.T) {
			r := httptest.NewRequest("GET", "http://"+tt.host+"/.well-known/acme-challenge/unknown", nil)
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			if w.Code != tt.want {
				t.Errorf("status %d, want %d", w.Code, tt.want)
			}
		})
	}
}
