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

func TestACMEHTTPHandler(t *testing.T) {
	a, err := NewACME(ACMEOptions{CacheDir: t.TempDir(), Hosts: []string{"registry.example.com"}})
	if err != nil {
		t.Fatal(err)
	}
	// The fallback sees the request as sent, port included.
	fallback := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Host", r.Host)
		w.WriteHeader(http.StatusTeapot)
	})
	h := a.HTTPHandler(fallback)
	tests := []struct {
		host, path string
		want       int
	}{
		{"registry.example.com", "/v2/", http.StatusTeapot},
		{"registry.example.com", "/.well-known/acme-challenge/unknown", http.StatusNotFound},
		{"registry.example.com:8080", "/.well-known/acme-challenge/unknown", http.StatusNotFound},
		{"other.example.com", "/.well-known/acme-challenge/unknown", http.StatusForbidden},
		{"other.example.com", "/anything", http.StatusTeapot},
		{"registry.example.com:8080", "/v2/", http.StatusTeapot},
	}
	for _, tt := range tests {
		t.Run(tt.host+tt.path, func(t *testing.T) {
			r := httptest.NewRequest("GET", "http://"+tt.host+tt.path, nil)
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			if w.Code != tt.want {
				t.Errorf("status %d, want %d", w.Code, tt.want)
			}
			if w.Code == http.StatusTeapot && w.Header().Get("X-Host") != tt.host {
				t.Errorf("fallback saw Host %q, want %q", w.Header().Get("X-Host"), tt.host)
			}
		})
	}
}
