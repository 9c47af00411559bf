package gateway

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
)

// discardWriter is a minimal ResponseWriter, so the benchmark measures the pipeline and
// not httptest.ResponseRecorder.
type discardWriter struct{ h http.Header }

func (d *discardWriter) Header() http.Header         { return d.h }
func (d *discardWriter) Write(b []byte) (int, error) { return len(b), nil }
func (d *discardWriter) WriteHeader(int)             {}

// BenchmarkPipelineManifestHEAD is the gateway's overhead on a manifest HEAD: in-process
// backend that only sets headers, Basic authenticator without hashing, AllowAuthenticated.
func BenchmarkPipelineManifestHEAD(b *testing.B) {
	backend := NewInProcess(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Docker-Content-Digest", testDigest)
		w.Header().Set("Content-Length", "1234")
	}))
	for _, tc := range []struct {
		name string
		log  *slog.Logger
	}{
		{"log=discard", slog.New(slog.DiscardHandler)},
		{"log=json", slog.New(slog.NewJSONHandler(io.Discard, nil))},
	} {
		b.Run(tc.name, func(b *testing.B) {
			h, _ := newTestGateway(b, backend, nil, func(c *Config) { c.Logger = tc.log })
			r := httptest.NewRequest(http.MethodHead, "/v2/library/alpine/manifests/latest", nil)
			r.SetBasicAuth("alice", "secret")
			auth := r.Header.Get("Authorization")
			w := &discardWriter{h: http.Header{}}
			b.ReportAllocs()
			for b.Loop() {
				clear(w.h)
				r.Header.Set("Authorization", auth) // the in-process backend strips it
				h.ServeHTTP(w, r)
			}
		})
	}
}

func BenchmarkClassify(b *testing.B) {
	r := httptest.NewRequest(http.MethodGet, "/v2/library/alpine/blobs/"+testDigest, nil)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Classify(r.Method, r.URL); err != nil {
			b.Fatal(err)
		}
	}
}
