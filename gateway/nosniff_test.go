package gateway

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

// TestActiveContentNeutralized: whatever Content-Type a backend answers with, the client
// never gets one a browser renders as a document, and every answer (the gateway's own
// refusals too) says nosniff (issue 12).
func TestActiveContentNeutralized(t *testing.T) {
	tests := []struct {
		backendType string // "" sends none
		body        string
		want        string
	}{
		{"text/html", "<script>alert(1)</script>", "application/octet-stream"},
		{"text/html; charset=utf-8", "<p>", "application/octet-stream"},
		{"image/svg+xml", "<svg onload=alert(1)>", "application/octet-stream"},
		{"application/xhtml+xml", "<html>", "application/octet-stream"},
		{"application/xml", "<x/>", "application/octet-stream"},
		{"text/javascript", "alert(1)", "application/octet-stream"},
		{"application/pdf", "%PDF", "application/octet-stream"},
		{"not a type", "x", "application/octet-stream"},
		{"", "<html><script>alert(1)</script>", "application/octet-stream"}, // net/http would sniff text/html
		{"application/vnd.oci.image.manifest.v1+json", "{}", "application/vnd.oci.image.manifest.v1+json"},
		{"application/vnd.docker.distribution.manifest.v2+json", "{}", "application/vnd.docker.distribution.manifest.v2+json"},
		{"application/octet-stream", "x", "application/octet-stream"},
		{"application/json", "{}", "application/json"},
		{"text/plain; charset=utf-8", "x", "text/plain; charset=utf-8"},
	}
	for _, tc := range tests {
		backend := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if tc.backendType != "" {
				w.Header().Set("Content-Type", tc.backendType)
			}
			_, _ = w.Write([]byte(tc.body))
		})
		h, _ := newTestGateway(t, backend, nil)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, basic(httptest.NewRequest("GET", "/v2/a/manifests/latest", nil), "alice"))
		if got := rec.Header().Get("Content-Type"); got != tc.want {
			t.Errorf("backend %q: Content-Type %q, want %q", tc.backendType, got, tc.want)
		}
		if got := rec.Header().Get("X-Content-Type-Options"); got != "nosniff" {
			t.Errorf("backend %q: X-Content-Type-Options %q, want nosniff", tc.backendType, got)
		}
	}
	// The gateway's own answers: a refusal before authentication, a 401, a 404.
	h, _ := newTestGateway(t, &echoBackend{}, nil)
	for _, path := range []string{"/v2/a/../b/manifests/x", "/v2/a/manifests/x", "/nowhere"} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", path, nil))
		if got := rec.Header().Get("X-Content-Type-Options"); got != "nosniff" {
			t.Errorf("GET %s (%d): X-Content-Type-Options %q, want nosniff", path, rec.Code, got)
		}
	}
}
