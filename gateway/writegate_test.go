package gateway

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
)

// gate is an Observer and WriteGate whose readiness the test sets.
type gate struct {
	err  atomic.Pointer[error]
	recs atomic.Int32
}

func (g *gate) Observe(context.Context, Record) { g.recs.Add(1) }
func (g *gate) Ready() error {
	if e := g.err.Load(); e != nil {
		return *e
	}
	return nil
}

// TestWriteGate: while a WriteGate is not ready, pushes and deletes are refused with 503
// UNAVAILABLE and its message, before they reach the backend; reads go on.
func TestWriteGate(t *testing.T) {
	backend := &echoBackend{}
	g := &gate{}
	h, _ := newTestGateway(t, backend, nil, func(c *Config) { c.Observers = []Observer{g} })
	notReady := errors.New("the audit log cannot be written: pushes are refused")
	g.err.Store(&notReady)
	for _, tc := range []struct {
		method, uri string
		status      int
	}{
		{"PUT", "/v2/team/app/manifests/v1", 503},
		{"POST", "/v2/team/app/blobs/uploads/", 503},
		{"PATCH", "/v2/team/app/blobs/uploads/0123456789abcdef", 503},
		{"DELETE", "/v2/team/app/manifests/" + testDigest, 503},
		{"GET", "/v2/team/app/manifests/v1", 200},
		{"HEAD", "/v2/team/app/blobs/" + testDigest, 200},
	} {
		backend.mu.Lock()
		backend.last = nil
		backend.mu.Unlock()
		w := httptest.NewRecorder()
		h.ServeHTTP(w, basic(httptest.NewRequest(tc.method, tc.uri, nil), "alice"))
		if w.Code != tc.status {
			t.Errorf("%s %s: %d, want %d", tc.method, tc.uri, w.Code, tc.status)
		}
		reached := backend.lastRequest() != nil
		if tc.status == 503 {
			if reached {
				t.Errorf("%s %s reached the backend while the gate was closed", tc.method, tc.uri)
			}
			if tc.method != "HEAD" && (errorCode(w.Body.String()) != "UNAVAILABLE" || !strings.Contains(w.Body.String(), "audit log")) {
				t.Errorf("%s: body %s", tc.method, w.Body)
			}
		}
	}
	g.err.Store(nil)
	w := httptest.NewRecorder()
	h.ServeHTTP(w, basic(httptest.NewRequest("PUT", "/v2/team/app/manifests/v1", nil), "alice"))
	if w.Code != 200 || backend.lastRequest() == nil {
		t.Errorf("gate open again: %d", w.Code)
	}
}

// flushSpy notes whether the gateway flushed the connection's writer.
type flushSpy struct {
	http.ResponseWriter
	flushed atomic.Bool
}

func (f *flushSpy) Flush() {
	f.flushed.Store(true)
	f.ResponseWriter.(http.Flusher).Flush()
}

// spyObserver checks, when the pipeline hands it the Record, whether anything reached
// the client yet.
type spyObserver struct {
	spy         *atomic.Pointer[flushSpy]
	flushedSeen atomic.Bool
}

func (o *spyObserver) Observe(_ context.Context, rec Record) {
	o.flushedSeen.Store(o.spy.Load().flushed.Load())
}

// TestWriteAnswerHeldUntilObserved: an upstream's answer without Content-Length makes
// httputil.ReverseProxy flush at once. For a write the gateway holds it back until the
// Observers have run (issue 11: the audit record is written before the client can read a
// 201); a read's answer still streams.
func TestWriteAnswerHeldUntilObserved(t *testing.T) {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusCreated)
		io.WriteString(w, "x")
		w.(http.Flusher).Flush() // chunked: no Content-Length
	}))
	defer up.Close()
	u, _ := url.Parse(up.URL)
	backend, err := NewUpstream(u, UpstreamOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var cur atomic.Pointer[flushSpy]
	obs := &spyObserver{spy: &cur}
	h, _ := newTestGateway(t, backend, nil, func(c *Config) { c.Observers = []Observer{obs} })
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := &flushSpy{ResponseWriter: w}
		cur.Store(s)
		h.ServeHTTP(s, r)
	}))
	defer srv.Close()
	for _, tc := range []struct {
		method, path string
		flushed      bool
	}{
		{"PUT", "/v2/team/app/manifests/v1", false},
		{"GET", "/v2/team/app/blobs/" + testDigest, true},
	} {
		req, _ := http.NewRequest(tc.method, srv.URL+tc.path, nil)
		req.SetBasicAuth("alice", "secret")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusCreated {
			t.Fatalf("%s: %s", tc.method, resp.Status)
		}
		if got := obs.flushedSeen.Load(); got != tc.flushed {
			t.Errorf("%s: the answer was flushed to the client before the Observers ran: %v, want %v", tc.method, got, tc.flushed)
		}
	}
}

// TestRecordMediaAndCredentials: the Record names the request body's media type for a
// push and the response's otherwise, the response's Content-Length (-1 without), and the
// kind of credentials presented, verified or not.
func TestRecordMediaAndCredentials(t *testing.T) {
	backend := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodHead {
			w.Header().Set("Content-Type", "application/vnd.oci.image.index.v1+json")
			w.Header().Set("Content-Length", "1234")
			return
		}
		w.WriteHeader(http.StatusCreated)
	})
	rec := &recorder{}
	h, _ := newTestGateway(t, backend, nil, func(c *Config) { c.Observers = []Observer{rec} })
	for _, tc := range []struct {
		name, method, auth, contentType string
		media                           string
		length                          int64
		creds                           string
	}{
		{"push names its media type", "PUT", "basic", "application/vnd.oci.image.manifest.v1+json", "application/vnd.oci.image.manifest.v1+json", -1, "basic"},
		{"HEAD answers type and size", "HEAD", "basic", "", "application/vnd.oci.image.index.v1+json", 1234, "basic"},
		{"bearer presented", "HEAD", "Bearer abc", "", "application/json", -1, "bearer"},
		{"other scheme", "HEAD", "Digest x", "", "application/json", -1, "other"},
		{"none", "HEAD", "", "", "application/json", -1, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest(tc.method, "/v2/team/app/manifests/v1", strings.NewReader("{}"))
			switch tc.auth {
			case "basic":
				r.SetBasicAuth("alice", "secret")
			case "":
			default:
				r.Header.Set("Authorization", tc.auth)
			}
			if tc.contentType != "" {
				r.Header.Set("Content-Type", tc.contentType)
			}
			h.ServeHTTP(httptest.NewRecorder(), r)
			got := rec.last()
			if got.MediaType != tc.media || got.ContentLength != tc.length || got.Credentials != tc.creds {
				t.Errorf("media %q length %d credentials %q; want %q %d %q", got.MediaType, got.ContentLength, got.Credentials,
					tc.media, tc.length, tc.creds)
			}
		})
	}
}
