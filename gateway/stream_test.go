package gateway

import (
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strconv"
	"strings"
	"testing"
)

// patternReader yields n bytes without holding them.
type patternReader struct{ n int64 }

// TestUpstreamStreams pushes and pulls bodies of 4 MiB and 64 MiB through a real front
// server, the proxy and a real backend: the bytes allocated must not grow with the body,
// so nothing buffers a blob.
func TestUpstreamStreams(t *testing.T) {
	back := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPatch {
			n, _ := io.Copy(io.Discard, r.Body)
			w.Header().Set("Range", "0-"+strconv.FormatInt(n-1, 10))
			w.WriteHeader(http.StatusAccepted)
			return
		}
		size := int64(4 << 20)
		if strings.Contains(r.URL.Path, "big") {
			size = 64 << 20
		}
		_, _ = io.Copy(w, &patternReader{n: size})
	}))
	defer back.Close()
	h, _ := newTestGateway(t, mustUpstream(t, back.URL, UpstreamOptions{}), nil)
	front := httptest.NewServer(h)
	defer front.Close()
	client := front.Client()
	do := func(method, path string, size int64) uint64 {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		var body io.Reader
		if size > 0 {
			body = &patternReader{n: size}
		}
		req, _ := http.NewRequestWithContext(t.Context(), method, front.URL+path, body)
		req.ContentLength = size
		req.SetBasicAuth("alice", "secret")
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		n, _ := io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		runtime.ReadMemStats(&after)
		if resp.StatusCode >= 300 || (method == "GET" && n != map[bool]int64{true: 64 << 20, false: 4 << 20}[strings.Contains(path, "big")]) {
			t.Fatalf("%s %s: %d, %d bytes", method, path, resp.StatusCode, n)
		}
		if method == "PATCH" && resp.Header.Get("Range") != "0-"+strconv.FormatInt(size-1, 10) {
			t.Fatalf("upstream saw Range %q", resp.Header.Get("Range"))
		}
		return after.TotalAlloc - before.TotalAlloc
	}
	do("GET", "/v2/small/blobs/"+testDigest, 0) // warm up connections and pools
	small := do("GET", "/v2/small/blobs/"+testDigest, 0)
	big := do("GET", "/v2/big/blobs/"+testDigest, 0)
	if big > small+(8<<20) {
		t.Errorf("pull: 64 MiB allocated %d bytes, 4 MiB %d: the body is buffered", big, small)
	}
	do("PATCH", "/v2/small/blobs/uploads/u1", 4<<20)
	small = do("PATCH", "/v2/small/blobs/uploads/u1", 4<<20)
	big = do("PATCH", "/v2/big/blobs/uploads/u1", 64<<20)
	if big > small+(8<<20) {
		t.Errorf("push: 64 MiB allocated %d bytes, 4 MiB %d: the body is buffered", big, small)
	}
	t.Logf("allocated per request: 4 MiB %d B, 64 MiB %d B", small, big)
}
