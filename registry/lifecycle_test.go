package registry

import (
	"bytes"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// chunkedPush uploads b in chunks of n bytes with PATCH, then closes with PUT. before is
// called before each PATCH after the first (to simulate a restart or crash).
func chunkedPush(t *testing.T, srv *httptest.Server, repo string, b []byte, n int, before func()) string {
	t.Helper()
	resp, _ := do(t, srv, "POST", "/v2/"+repo+"/blobs/uploads/", nil, nil)
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("POST = %d", resp.StatusCode)
	}
	loc := resp.Header.Get("Location")
	for off := 0; off < len(b); off += n {
		end := min(off+n, len(b))
		if off > 0 && before != nil {
			before()
		}
		resp, body := do(t, srv, "PATCH", loc, map[string]string{"Content-Range": fmt.Sprintf("%d-%d", off, end-1)}, b[off:end])
		if resp.StatusCode != http.StatusAccepted {
			t.Fatalf("PATCH %d-%d = %d %s", off, end-1, resp.StatusCode, body)
		}
		if got, want := resp.Header.Get("Range"), fmt.Sprintf("0-%d", end-1); got != want {
			t.Fatalf("Range = %q, want %q", got, want)
		}
		loc = resp.Header.Get("Location")
	}
	d := sha256Of(b)
	resp, body := do(t, srv, "PUT", loc+"?digest="+d, nil, nil)
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("PUT = %d %s", resp.StatusCode, body)
	}
	return d
}

func TestChunkedUpload(t *testing.T) {
	blob := bytes.Repeat([]byte("0123456789abcdef"), 1000)
	tests := []struct {
		name   string
		chunk  int
		before func(root string) func()
	}{
		{name: "one chunk", chunk: len(blob)},
		{name: "many chunks", chunk: 1000},
		{name: "hash state lost between chunks", chunk: 3000, before: func(root string) func() {
			return func() { // as after a crash between data write and state write
				matches, _ := filepath.Glob(filepath.Join(root, "docker/registry/v2/repositories/r/_uploads/*/hashstates"))
				for _, m := range matches {
					_ = os.RemoveAll(m)
				}
			}
		}},
		{name: "hash state foreign", chunk: 3000, before: func(root string) func() {
			return func() { // registry:2's resumable state format is not ours
				matches, _ := filepath.Glob(filepath.Join(root, "docker/registry/v2/repositories/r/_uploads/*/hashstates/*/*"))
				for _, m := range matches {
					_ = os.WriteFile(m, []byte("not a hash state"), 0o644)
				}
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			root := t.TempDir()
			srv := httptest.NewServer(newTestRegistryAt(t, root))
			defer srv.Close()
			var before func()
			if tc.before != nil {
				before = tc.before(root)
			}
			d := chunkedPush(t, srv, "r", blob, tc.chunk, before)
			resp, body := do(t, srv, "GET", "/v2/r/blobs/"+d, nil, nil)
			if resp.StatusCode != 200 || !bytes.Equal(body, blob) {
				t.Fatalf("GET = %d, %d bytes", resp.StatusCode, len(body))
			}
			// The session is gone once committed.
			ups, _ := os.ReadDir(filepath.Join(root, "docker/registry/v2/repositories/r/_uploads"))
			if len(ups) != 0 {
				t.Fatalf("%d uploads left behind", len(ups))
			}
		})
	}
}

func TestUploadPutWithFinalChunkAndCancel(t *testing.T) {
	srv := httptest.NewServer(newTestRegistry(t))
	defer srv.Close()
	blob := []byte("first-second")
	resp, _ := do(t, srv, "POST", "/v2/r/blobs/uploads/", nil, nil)
	loc := resp.Header.Get("Location")
	resp, _ = do(t, srv, "PATCH", loc, nil, blob[:6]) // streamed: no Content-Range
	if resp.StatusCode != 202 || resp.Header.Get("Range") != "0-5" {
		t.Fatalf("PATCH = %d Range %q", resp.StatusCode, resp.Header.Get("Range"))
	}
	resp, body := do(t, srv, "PUT", loc+"?digest="+sha256Of(blob), map[string]string{"Content-Range": "6-11"}, blob[6:])
	if resp.StatusCode != 201 {
		t.Fatalf("PUT = %d %s", resp.StatusCode, body)
	}

	resp, _ = do(t, srv, "POST", "/v2/r/blobs/uploads/", nil, nil)
	loc = resp.Header.Get("Location")
	if resp, _ := do(t, srv, "DELETE", loc, nil, nil); resp.StatusCode != 204 {
		t.Fatalf("cancel = %d", resp.StatusCode)
	}
	if resp, _ := do(t, srv, "GET", loc, nil, nil); resp.StatusCode != 404 {
		t.Fatalf("status after cancel = %d", resp.StatusCode)
	}

	// A wrong digest at PUT is refused and never stored under either digest.
	resp, _ = do(t, srv, "POST", "/v2/r/blobs/uploads/", nil, nil)
	loc = resp.Header.Get("Location")
	wrong := sha256Of([]byte("other"))
	if resp, _ := do(t, srv, "PUT", loc+"?digest="+wrong, nil, []byte("content")); resp.StatusCode != 400 {
		t.Fatalf("bad digest PUT = %d", resp.StatusCode)
	}
	for _, d := range []string{wrong, sha256Of([]byte("content"))} {
		if resp, _ := do(t, srv, "HEAD", "/v2/r/blobs/"+d, nil, nil); resp.StatusCode != 404 {
			t.Fatalf("blob %s after bad PUT = %d", d, resp.StatusCode)
		}
	}
}

func TestDeletes(t *testing.T) {
	root := t.TempDir()
	srv := httptest.NewServer(newTestRegistryAt(t, root))
	defer srv.Close()
	man := imageManifest(t, srv, "r", nil, []byte("layer"))
	d := sha256Of(man)
	putManifest(t, srv, "r", "v1", man)
	putManifest(t, srv, "r", "v2", man)

	// Delete by tag removes only the tag.
	if resp, _ := do(t, srv, "DELETE", "/v2/r/manifests/v1", nil, nil); resp.StatusCode != 202 {
		t.Fatalf("DELETE tag = %d", resp.StatusCode)
	}
	if resp, _ := do(t, srv, "GET", "/v2/r/manifests/v1", nil, nil); resp.StatusCode != 404 {
		t.Fatalf("deleted tag GET = %d", resp.StatusCode)
	}
	if resp, _ := do(t, srv, "GET", "/v2/r/manifests/"+d, nil, nil); resp.StatusCode != 200 {
		t.Fatalf("manifest after tag delete = %d", resp.StatusCode)
	}
	// Delete by digest removes the revision and every tag on it.
	if resp, _ := do(t, srv, "DELETE", "/v2/r/manifests/"+d, nil, nil); resp.StatusCode != 202 {
		t.Fatalf("DELETE digest = %d", resp.StatusCode)
	}
	for _, ref := range []string{"v2", d} {
		if resp, _ := do(t, srv, "GET", "/v2/r/manifests/"+ref, nil, nil); resp.StatusCode != 404 {
			t.Fatalf("GET %s after delete = %d", ref, resp.StatusCode)
		}
	}
	if _, body := do(t, srv, "GET", "/v2/r/tags/list", nil, nil); !strings.Contains(string(body), `"tags":[]`) {
		t.Fatalf("tags after delete: %s", body)
	}
	// Blob delete unlinks from this repository only.
	layer := pushBlob(t, srv, "r", []byte("shared"))
	pushBlob(t, srv, "s", []byte("shared"))
	if resp, _ := do(t, srv, "DELETE", "/v2/r/blobs/"+layer, nil, nil); resp.StatusCode != 202 {
		t.Fatalf("blob DELETE = %d", resp.StatusCode)
	}
	if resp, _ := do(t, srv, "GET", "/v2/r/blobs/"+layer, nil, nil); resp.StatusCode != 404 {
		t.Fatalf("deleted blob GET = %d", resp.StatusCode)
	}
	if resp, _ := do(t, srv, "GET", "/v2/s/blobs/"+layer, nil, nil); resp.StatusCode != 200 {
		t.Fatalf("other repo's blob GET = %d", resp.StatusCode)
	}
}

// TestConcurrentPushes pushes the same blob and the same tag from many clients at once:
// every push succeeds and the content is intact.
func TestConcurrentPushes(t *testing.T) {
	srv := httptest.NewServer(newTestRegistry(t))
	defer srv.Close()
	blob := bytes.Repeat([]byte("concurrent"), 50000)
	man := imageManifest(t, srv, "r", nil, []byte("layer"))
	const n = 8
	var wg sync.WaitGroup
	errs := make(chan error, 3*n)
	for i := 0; i < n; i++ {
		wg.Add(2)
		go func() {
			defer wg.Done()
			d := sha256Of(blob)
			req, _ := http.NewRequestWithContext(t.Context(), "POST", srv.URL+"/v2/r/blobs/uploads/?digest="+d, bytes.NewReader(blob))
			resp, err := srv.Client().Do(req)
			if err != nil {
				errs <- err
				return
			}
			resp.Body.Close()
			if resp.StatusCode != 201 {
				errs <- fmt.Errorf("blob push = %d", resp.StatusCode)
			}
		}()
		go func() {
			defer wg.Done()
			req, _ := http.NewRequestWithContext(t.Context(), "PUT", srv.URL+"/v2/r/manifests/latest", bytes.NewReader(man))
			req.Header.Set("Content-Type", mtOCIManifest)
			resp, err := srv.Client().Do(req)
			if err != nil {
				errs <- err
				return
			}
			resp.Body.Close()
			if resp.StatusCode != 201 {
				errs <- fmt.Errorf("manifest push = %d", resp.StatusCode)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if resp, body := do(t, srv, "GET", "/v2/r/blobs/"+sha256Of(blob), nil, nil); resp.StatusCode != 200 || !bytes.Equal(body, blob) {
		t.Fatalf("blob after concurrent pushes: %d, %d bytes", resp.StatusCode, len(body))
	}
	if resp, body := do(t, srv, "GET", "/v2/r/manifests/latest", nil, nil); resp.StatusCode != 200 || !bytes.Equal(body, man) {
		t.Fatalf("manifest after concurrent pushes: %d", resp.StatusCode)
	}
}

// TestLayoutIsRegistry2s checks the files a push leaves against registry:2's layout.
func TestLayoutIsRegistry2s(t *testing.T) {
	root := t.TempDir()
	srv := httptest.NewServer(newTestRegistryAt(t, root))
	defer srv.Close()
	layer := []byte("layer")
	man := imageManifest(t, srv, "team/app", nil, layer)
	putManifest(t, srv, "team/app", "v1", man)
	ld, md := sha256Of(layer), sha256Of(man)
	lh, mh := strings.TrimPrefix(ld, "sha256:"), strings.TrimPrefix(md, "sha256:")
	v2 := filepath.Join(root, "docker/registry/v2")
	for path, want := range map[string]string{
		"blobs/sha256/" + lh[:2] + "/" + lh + "/data":                           string(layer),
		"blobs/sha256/" + mh[:2] + "/" + mh + "/data":                           string(man),
		"repositories/team/app/_layers/sha256/" + lh + "/link":                  ld,
		"repositories/team/app/_manifests/revisions/sha256/" + mh + "/link":     md,
		"repositories/team/app/_manifests/tags/v1/current/link":                 md,
		"repositories/team/app/_manifests/tags/v1/index/sha256/" + mh + "/link": md,
	} {
		got, err := os.ReadFile(filepath.Join(v2, path))
		if err != nil {
			t.Errorf("%s: %v", path, err)
			continue
		}
		if string(got) != want {
			t.Errorf("%s = %q, want %q", path, got, want)
		}
	}
}
