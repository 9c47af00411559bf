package gateway

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/portcullis/portcullis/access"
)

// seenRequest is what the backend handler saw.
type seenRequest struct {
	RequestURI, Host string
	Header           http.Header
}

// recordingUpstream is a real backend server that records requests and answers upload
// starts with an absolute Location on its own address, as a registry behind a proxy that
// ignores X-Forwarded-* would.
func recordingUpstream(t *testing.T, prefix string) (*httptest.Server, func() seenRequest) {
	t.Helper()
	var mu sync.Mutex
	var last seenRequest
	var srv *httptest.Server
	srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		last = seenRequest{RequestURI: r.RequestURI, Host: r.Host, Header: r.Header.Clone()}
		mu.Unlock()
		w.Header().Set("Docker-Distribution-API-Version", "registry/2.0")
		if r.Method == http.MethodPost {
			w.Header().Set("Location", srv.URL+prefix+"/v2/a/blobs/uploads/u-1?_state=xyz")
			w.WriteHeader(http.StatusAccepted)
			return
		}
		if r.Method == http.MethodHead {
			w.Header().Set("Content-Length", "1234")
			return
		}
		_, _ = io.WriteString(w, "manifest")
	}))
	t.Cleanup(srv.Close)
	return srv, func() seenRequest { mu.Lock(); defer mu.Unlock(); return last }
}

func mustUpstream(t testing.TB, raw string, opts UpstreamOptions) http.Handler {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	h, err := NewUpstream(u, opts)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func TestUpstreamForwardedHeaders(t *testing.T) {
	tests := []struct {
		name               string
		trusted            []netip.Prefix
		prefix             string
		wantXFF, wantProto string
		wantHost           string // "" means the front server's own host
		wantClientIP       string
	}{
		{name: "untrusted peer: client-sent headers dropped", wantXFF: "127.0.0.1", wantProto: "http", wantClientIP: "127.0.0.1"},
		{name: "trusted peer: client address, proto and host from it", trusted: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")},
			wantXFF: "203.0.113.9, 127.0.0.1", wantProto: "https", wantHost: "registry.example.com", wantClientIP: "203.0.113.9"},
		{name: "upstream path prefix", prefix: "/mirror", wantXFF: "127.0.0.1", wantProto: "http", wantClientIP: "127.0.0.1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			back, seen := recordingUpstream(t, tt.prefix)
			h, logs := newTestGateway(t, mustUpstream(t, back.URL+tt.prefix, UpstreamOptions{}), nil,
				func(c *Config) { c.TrustedProxies = tt.trusted })
			front := httptest.NewServer(h)
			defer front.Close()
			frontHost := strings.TrimPrefix(front.URL, "http://")
			wantHost := tt.wantHost
			if wantHost == "" {
				wantHost = frontHost
			}
			for _, method := range []string{"GET", "POST"} {
				uri := "/v2/a/manifests/latest"
				if method == "POST" {
					uri = "/v2/a/blobs/uploads/?digest=" + testDigest
				}
				req, _ := http.NewRequestWithContext(t.Context(), method, front.URL+uri, nil)
				req.SetBasicAuth("alice", "secret")
				req.Header.Set("Cookie", "session=abc")
				req.Header.Set("X-Forwarded-For", "203.0.113.9")
				req.Header.Set("X-Forwarded-Proto", "https")
				req.Header.Set("X-Forwarded-Host", "registry.example.com")
				req.Header.Set("Forwarded", "for=6.6.6.6;proto=https")
				req.Header.Set("X-Real-Ip", "6.6.6.6")
				resp, err := front.Client().Do(req)
				if err != nil {
					t.Fatal(err)
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				got := seen()
				if want := tt.prefix + uri; got.RequestURI != want {
					t.Errorf("upstream saw %q, want %q", got.RequestURI, want)
				}
				if got.Host != strings.TrimPrefix(back.URL, "http://") {
					t.Errorf("upstream Host = %q", got.Host)
				}
				for _, k := range []string{"Authorization", "Cookie", "Forwarded", "X-Real-Ip"} {
					if v := got.Header.Get(k); v != "" {
						t.Errorf("upstream saw %s: %q", k, v)
					}
				}
				if v := got.Header.Get("X-Forwarded-For"); v != tt.wantXFF {
					t.Errorf("X-Forwarded-For = %q, want %q", v, tt.wantXFF)
				}
				if v := got.Header.Get("X-Forwarded-Proto"); v != tt.wantProto {
					t.Errorf("X-Forwarded-Proto = %q, want %q", v, tt.wantProto)
				}
				if v := got.Header.Get("X-Forwarded-Host"); v != wantHost {
					t.Errorf("X-Forwarded-Host = %q, want %q", v, wantHost)
				}
				if v := got.Header.Get("X-Request-Id"); v == "" || v != resp.Header.Get("X-Request-Id") {
					t.Errorf("X-Request-Id upstream %q, client %q", v, resp.Header.Get("X-Request-Id"))
				}
				if v := resp.Header.Values("Docker-Distribution-Api-Version"); len(v) != 1 || v[0] != "registry/2.0" {
					t.Errorf("API version header values %q", v)
				}
				if method == "POST" {
					want := tt.wantProto + "://" + wantHost + "/v2/a/blobs/uploads/u-1?_state=xyz"
					if loc := resp.Header.Get("Location"); loc != want {
						t.Errorf("Location = %q, want %q", loc, want)
					}
				}
				for k, vs := range resp.Header {
					for _, v := range vs {
						if strings.Contains(v, strings.TrimPrefix(back.URL, "http://")) {
							t.Errorf("client sees the upstream address in %s: %q", k, v)
						}
					}
				}
			}
			if !strings.Contains(logs.String(), `"client_ip":"`+tt.wantClientIP+`"`) {
				t.Errorf("log does not name client %s: %s", tt.wantClientIP, logs)
			}
		})
	}
}

func TestUpstreamHEAD(t *testing.T) {
	back, _ := recordingUpstream(t, "")
	h, _ := newTestGateway(t, mustUpstream(t, back.URL, UpstreamOptions{}), nil)
	front := httptest.NewServer(h)
	defer front.Close()
	req, _ := http.NewRequestWithContext(t.Context(), "HEAD", front.URL+"/v2/a/manifests/latest", nil)
	req.SetBasicAuth("alice", "secret")
	resp, err := front.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.ContentLength != 1234 || len(body) != 0 {
		t.Fatalf("HEAD: %d, Content-Length %d, body %q", resp.StatusCode, resp.ContentLength, body)
	}
}

func TestUpstreamDown(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there now: connection refused
	log, logs := testLogger()
	h, _ := newTestGateway(t, mustUpstream(t, "http://"+addr, UpstreamOptions{Logger: log}), nil,
		func(c *Config) { c.Logger = log })
	for _, method := range []string{"GET", "HEAD"} {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, basic(httptest.NewRequestWithContext(t.Context(), method, "/v2/a/manifests/latest", nil), "alice"))
		if w.Code != http.StatusBadGateway {
			t.Fatalf("%s: status %d", method, w.Code)
		}
		if method == "GET" && (errorCode(w.Body.String()) != "UNAVAILABLE" || strings.Contains(w.Body.String(), addr)) {
			t.Fatalf("body %s", w.Body)
		}
		if method == "HEAD" && w.Body.Len() != 0 {
			t.Fatalf("HEAD body %q", w.Body)
		}
	}
	if !strings.Contains(logs.String(), "upstream failed") {
		t.Fatal("failure not logged")
	}
}

func TestUpstreamTimeout(t *testing.T) {
	release := make(chan struct{})
	back := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer back.Close()
	defer close(release)
	h, _ := newTestGateway(t, mustUpstream(t, back.URL, UpstreamOptions{ResponseHeaderTimeout: 50 * time.Millisecond}), nil)
	w := httptest.NewRecorder()
	h.ServeHTTP(w, basic(httptest.NewRequestWithContext(t.Context(), "GET", "/v2/a/manifests/latest", nil), "alice"))
	if w.Code != http.StatusGatewayTimeout || errorCode(w.Body.String()) != "UNAVAILABLE" {
		t.Fatalf("status %d body %s", w.Code, w.Body)
	}
}

func TestUpstreamClientGone(t *testing.T) {
	back, _ := recordingUpstream(t, "")
	h, logs := newTestGateway(t, mustUpstream(t, back.URL, UpstreamOptions{}), nil)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	w := httptest.NewRecorder()
	h.ServeHTTP(w, basic(httptest.NewRequestWithContext(ctx, "GET", "/v2/a/manifests/latest", nil), "alice"))
	if w.Body.Len() != 0 || !strings.Contains(logs.String(), `"status":499`) {
		t.Fatalf("wrote %q; log %s", w.Body, logs)
	}
}

func TestNewUpstreamValidates(t *testing.T) {
	for _, raw := range []string{"ftp://x", "http://", "http://u:p@x", "http://x/?q=1", "/relative"} {
		u, _ := url.Parse(raw)
		if _, err := NewUpstream(u, UpstreamOptions{}); err == nil {
			t.Errorf("NewUpstream(%q) accepted", raw)
		}
	}
	if _, err := NewUpstream(nil, UpstreamOptions{}); err == nil {
		t.Error("nil URL accepted")
	}
}

func (p *patternReader) Read(b []byte) (int, error) {
	if p.n <= 0 {
		return 0, io.EOF
	}
	b = b[:min(int64(len(b)), p.n)]
	for i := range b {
		b[i] = byte(i)
	}
	p.n -= int64(len(b))
	return len(b), nil
}

// TestUpstreamCredentialsFromGrant: with UpstreamOptions.Credentials the upstream is shown
// credentials made from exactly what the pipeline granted the request (GrantOf), the
// client's own Authorization never; a request the pipeline did not judge is not sent.
func TestUpstreamCredentialsFromGrant(t *testing.T) {
	back, seen := recordingUpstream(t, "")
	type call struct {
		subject string
		granted []access.Resource
	}
	var mu sync.Mutex
	var calls []call
	up := mustUpstream(t, back.URL, UpstreamOptions{
		Credentials: func(_ context.Context, granted []access.Resource, subject string) (string, error) {
			mu.Lock()
			calls = append(calls, call{subject, granted})
			mu.Unlock()
			return "Bearer for-" + subject, nil
		},
	})
	h, _ := newTestGateway(t, up, nil)
	front := httptest.NewServer(h)
	defer front.Close()
	req, _ := http.NewRequestWithContext(t.Context(), "HEAD", front.URL+"/v2/a/manifests/latest", nil)
	req.SetBasicAuth("alice", "secret")
	resp, err := front.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("HEAD through the pipeline: %d", resp.StatusCode)
	}
	if got := seen().Header.Get("Authorization"); got != "Bearer for-alice" {
		t.Fatalf("upstream saw Authorization %q, want the grant's", got)
	}
	mu.Lock()
	got := calls
	mu.Unlock()
	want := []access.Resource{{Type: "repository", Name: "a", Actions: []string{"pull"}}}
	if len(got) != 1 || got[0].subject != "alice" || !reflect.DeepEqual(got[0].granted, want) {
		t.Fatalf("credentials asked for %+v, want alice with %+v", got, want)
	}

	// The backend on its own, without the pipeline: no grant, nothing sent upstream.
	rec := httptest.NewRecorder()
	up.ServeHTTP(rec, httptest.NewRequestWithContext(t.Context(), "HEAD", "/v2/a/manifests/latest", nil))
	if rec.Code != http.StatusBadGateway {
		t.Fatalf("unjudged request: %d, want 502", rec.Code)
	}
	mu.Lock()
	n := len(calls)
	mu.Unlock()
	if n != 1 {
		t.Fatalf("credentials made for an unjudged request (%d calls)", n)
	}
}
