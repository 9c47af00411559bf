package gateway

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestInProcessForwarding(t *testing.T) {
	backend := &echoBackend{}
	h, _ := newTestGateway(t, NewInProcess(backend), nil)
	r := basic(httptest.NewRequestWithContext(t.Context(), "PATCH", "http://reg.example:5000/v2/a/b/blobs/uploads/u-1?_state=x", nil), "alice")
	r.RemoteAddr = "198.51.100.4:999"
	r.Header.Set("Cookie", "c=1")
	r.Header.Set("X-Forwarded-For", "6.6.6.6")
	r.Header.Set("Forwarded", "for=6.6.6.6")
	r.Header.Set("X-Original-URL", "/v2/other/manifests/latest")
	r.Header.Set("X-Forwarded-Port", "443")
	r.Header.Set("X-HTTP-Method-Override", "DELETE")
	r.Header.Set("X-Method-Override", "DELETE")
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	got := backend.lastRequest()
	if w.Code != 200 || got == nil {
		t.Fatalf("%d %s", w.Code, w.Body)
	}
	if got.URL.Path != "/v2/a/b/blobs/uploads/u-1" || got.URL.RawQuery != "_state=x" || got.URL.RawPath != "" {
		t.Errorf("backend got URL %s", got.URL)
	}
	want := http.Header{
		"X-Forwarded-For":   {"198.51.100.4"},
		"X-Forwarded-Proto": {"http"},
		"X-Forwarded-Host":  {"reg.example:5000"},
	}
	for k, v := range want {
		if got.Header.Get(k) != v[0] {
			t.Errorf("%s = %q, want %q", k, got.Header.Get(k), v[0])
		}
	}
	for _, k := range []string{"Authorization", "Cookie", "Forwarded", "X-Original-Url", "X-Forwarded-Port", "X-Http-Method-Override", "X-Method-Override"} {
		if got.Header.Get(k) != "" {
			t.Errorf("backend saw %s", k)
		}
	}
}

// TestInProcessStandalone covers NewInProcess used outside the pipeline.
func TestInProcessStandalone(t *testing.T) {
	backend := &echoBackend{}
	r := httptest.NewRequestWithContext(t.Context(), "GET", "/v2/a/tags/list", nil)
	r.SetBasicAuth("alice", "secret")
	r.Header.Set("X-Forwarded-For", "6.6.6.6")
	NewInProcess(backend).ServeHTTP(httptest.NewRecorder(), r)
	got := backend.lastRequest()
	if got.Header.Get("Authorization") != "" || got.Header.Get("X-Forwarded-For") != "192.0.2.1" {
		t.Fatalf("headers %v", got.Header)
	}
}

// TestJudgedPathGuard: forwarding a request whose path is not the one Classify judged is a
// gateway bug, refused with a 500 rather than forwarded.
func TestJudgedPathGuard(t *testing.T) {
	backend := &echoBackend{}
	h, logs := newTestGateway(t, NewInProcess(backend), nil)
	g := h.(*gateway)
	r := basic(httptest.NewRequestWithContext(t.Context(), "GET", "/v2/a/manifests/latest", nil), "alice")
	rt, err := Classify(r.Method, r.URL)
	if err != nil {
		t.Fatal(err)
	}
	r.URL.Path = "/v2/other/manifests/latest"
	w := httptest.NewRecorder()
	g.forward(w, r, rt)
	if w.Code != 500 || backend.lastRequest() != nil || !strings.Contains(logs.String(), "is not the judged") {
		t.Fatalf("%d, forwarded %v", w.Code, backend.lastRequest() != nil)
	}
}
