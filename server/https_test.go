package server

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestRedirectToHTTPS(t *testing.T) {
	tests := []struct {
		name     string
		port     string
		method   string
		host     string
		target   string
		wantCode int
		wantLoc  string
	}{
		{"get keeps path and query", "8443", "GET", "registry.example.com", "/v2/library/alpine/manifests/latest?x=1&y=%2F", 301, "https://registry.example.com:8443/v2/library/alpine/manifests/latest?x=1&y=%2F"},
		{"host port replaced", "8443", "GET", "registry.example.com:8080", "/v2/", 301, "https://registry.example.com:8443/v2/"},
		{"default port omitted", "443", "HEAD", "registry.example.com:80", "/", 301, "https://registry.example.com/"},
		{"empty port omitted", "", "GET", "registry.example.com", "/v2/", 301, "https://registry.example.com/v2/"},
		{"escaped path kept", "443", "GET", "r.example", "/v2/a%2Fb/tags/list", 301, "https://r.example/v2/a%2Fb/tags/list"},
		{"post gets 308", "443", "POST", "r.example", "/v2/x/blobs/uploads/", 308, "https://r.example/v2/x/blobs/uploads/"},
		{"put gets 308", "9443", "PUT", "r.example", "/v2/x/manifests/v1", 308, "https://r.example:9443/v2/x/manifests/v1"},
		{"ipv6 literal with port", "8443", "GET", "[::1]:8080", "/v2/", 301, "https://[::1]:8443/v2/"},
		{"ipv6 literal default port", "443", "GET", "[::1]", "/v2/", 301, "https://[::1]/v2/"},
		{"double slash stays on our host", "443", "GET", "r.example", "//evil.example/x", 301, "https://r.example//evil.example/x"},
		{"acme challenge not redirected", "443", "GET", "r.example", "/.well-known/acme-challenge/abc", 404, ""},
		{"acme challenge with port", "8443", "GET", "r.example:80", "/.well-known/acme-challenge/xyz", 404, ""},
		{"other well-known redirected", "443", "GET", "r.example", "/.well-known/other", 301, "https://r.example/.well-known/other"},
		{"empty host refused", "443", "GET", "", "/v2/", 400, ""},
	}
	h := map[string]http.Handler{}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if h[tt.port] == nil {
				h[tt.port] = redirectToHTTPS(tt.port, nil)
			}
			r := httptest.NewRequest(tt.method, "http://placeholder"+tt.target, nil)
			r.Host = tt.host
			w := httptest.NewRecorder()
			h[tt.port].ServeHTTP(w, r)
			if w.Code != tt.wantCode {
				t.Fatalf("status = %d, want %d (body %q)", w.Code, tt.wantCode, w.Body)
			}
			if got := w.Header().Get("Location"); got != tt.wantLoc {
				t.Errorf("Location = %q, want %q", got, tt.wantLoc)
			}
		})
	}
}

// TestRedirectToHTTPSRealServer checks the redirect over a real listener and client, where
// the request line (not a constructed URL) is what the handler reads.
func TestRedirectToHTTPSRealServer(t *testing.T) {
	srv := httptest.NewServer(redirectToHTTPS("8443", nil))
	t.Cleanup(srv.Close)
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

	for _, tt := range []struct {
		path     string
		wantCode int
		wantLoc  string
	}{
		{"/v2/_catalog?n=10", 301, "https://127.0.0.1:8443/v2/_catalog?n=10"},
		{"/.well-known/acme-challenge/token", 404, ""},
	} {
		req, err := http.NewRequestWithContext(t.Context(), "GET", srv.URL+tt.path, nil)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tt.wantCode || resp.Header.Get("Location") != tt.wantLoc {
			t.Errorf("%s: got %d %q, want %d %q", tt.path, resp.StatusCode, resp.Header.Get("Location"), tt.wantCode, tt.wantLoc)
		}
	}
}

func TestHSTS(t *testing.T) {
	ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) })
	tests := []struct {
		name   string
		maxAge time.Duration
		tls    bool
		want   string
	}{
		{"https gets header", 365 * 24 * time.Hour, true, "max-age=31536000"},
		{"plain http gets none", 365 * 24 * time.Hour, false, ""},
		{"sub-second rounds down", 1500 * time.Millisecond, true, "max-age=1"},
		{"zero disables", 0, true, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := hsts(tt.maxAge)(ok)
			var srv *httptest.Server
			if tt.tls {
				srv = httptest.NewTLSServer(h)
			} else {
				srv = httptest.NewServer(h)
			}
			t.Cleanup(srv.Close)
			req, err := http.NewRequestWithContext(t.Context(), "GET", srv.URL+"/v2/", nil)
			if err != nil {
				t.Fatal(err)
			}
			resp, err := srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusNoContent {
				t.Errorf("status = %d, want 204", resp.StatusCode)
			}
			if got := resp.Header.Get("Strict-Transport-Security"); got != tt.want {
				t.Errorf("Strict-Transport-Security = %q, want %q", got, tt.want)
			}
			if tt.tls && !strings.HasPrefix(srv.URL, "https://") {
				t.Fatal("test server is not TLS")
			}
		})
	}
}
