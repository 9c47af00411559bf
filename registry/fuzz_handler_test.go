package registry

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

// FuzzServeHTTP sends arbitrary requests to a registry holding some content: whatever
// the input, the answer is never a 5xx (malformed input is the client's error), always
// carries the API version header, and an error is always the JSON envelope.
func FuzzServeHTTP(f *testing.F) {
	reg := newTestRegistryAt(f, f.TempDir())
	srv := httptest.NewServer(reg)
	hello := pushBlob(f, srv, "foo/bar", []byte("hello"))
	man := imageManifest(f, srv, "foo/bar", nil, []byte("layer"))
	putManifest(f, srv, "foo/bar", "latest", man)
	resp, _ := do(f, srv, "POST", "/v2/foo/bar/blobs/uploads/", nil, nil)
	session := resp.Header.Get("Location")
	srv.Close()

	seeds := []struct{ method, path, query, hdr, body string }{
		{"GET", "/v2/foo/bar/blobs/" + hello, "", "Range: bytes=1-2", ""},
		{"GET", "/v2/foo/bar/manifests/latest", "", "", ""},
		{"PUT", "/v2/foo/bar/manifests/x", "", "Content-Type: " + mtOCIManifest, string(man)},
		{"PUT", "/v2/foo/bar/manifests/sha256:1", "tag=a&tag=b", "", "{}"},
		{"POST", "/v2/foo/bar/blobs/uploads/", "digest=" + sha256Of([]byte("x")), "", "x"},
		{"POST", "/v2/foo/bar/blobs/uploads/", "mount=" + hello + "&from=foo/bar", "", ""},
		{"PATCH", session, "", "Content-Range: 0-3", "abcd"},
		{"PUT", session, "digest=sha512:00", "Content-Range: 9-1", "zz"},
		{"GET", "/v2/foo/bar/tags/list", "n=1&last=a", "", ""},
		{"GET", "/v2/_catalog", "n=x", "", ""},
		{"GET", "/v2/foo/bar/referrers/" + hello, "artifactType=a", "", ""},
		{"DELETE", "/v2/foo/bar/manifests/latest", "", "", ""},
		{"DELETE", "/v2/foo/bar/blobs/" + hello, "", "", ""},
	}
	for _, s := range seeds {
		f.Add(s.method, s.path, s.query, s.hdr, []byte(s.body))
	}
	f.Fuzz(func(t *testing.T, method, path, query, hdr string, body []byte) {
		if method == "" || strings.ContainsAny(method, " \t\r\n") {
			return
		}
		req := &http.Request{
			Method: method, URL: &url.URL{Path: path, RawQuery: query},
			Header: http.Header{}, Body: io.NopCloser(bytes.NewReader(body)),
			ContentLength: int64(len(body)),
		}
		if k, v, ok := strings.Cut(hdr, ": "); ok {
			req.Header.Set(k, v)
		}
		req = req.WithContext(t.Context())
		rec := httptest.NewRecorder()
		reg.ServeHTTP(rec, req)
		if rec.Code >= 500 {
			t.Fatalf("%s %s?%s (%s) = %d %s", method, path, query, hdr, rec.Code, rec.Body)
		}
		if rec.Header().Get("Docker-Distribution-API-Version") != "registry/2.0" {
			t.Fatalf("no API version header")
		}
		if rec.Code >= 400 && method != http.MethodHead && errCode(rec.Body.Bytes()) == "" {
			t.Fatalf("%d without an error envelope: %s", rec.Code, rec.Body)
		}
	})
}
