package registry

import (
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// failingReader yields n bytes, then fails as a client going away does.
type failingReader struct{ n int }

func (f *failingReader) Read(p []byte) (int, error) {
	if f.n == 0 {
		return 0, io.ErrUnexpectedEOF
	}
	k := min(len(p), f.n)
	for i := range p[:k] {
		p[i] = 'x'
	}
	f.n -= k
	return k, nil
}

// TestRefusedChunkLeavesNothing: a chunk refused for its length (longer or shorter than
// its Content-Range, streamed without Content-Length so the size is known only at the
// end) or cut off by the client leaves the session as it was: same Range, same bytes, and
// the upload completes with the right digest afterwards (issue 12 fault 2).
func TestRefusedChunkLeavesNothing(t *testing.T) {
	srv := httptest.NewServer(newTestRegistry(t))
	defer srv.Close()
	resp, _ := do(t, srv, "POST", "/v2/r/blobs/uploads/", nil, nil)
	loc := resp.Header.Get("Location")
	patch := func(cr string, body io.Reader) *http.Response {
		t.Helper()
		req, err := http.NewRequest("PATCH", srv.URL+loc, body)
		if err != nil {
			t.Fatal(err)
		}
		req.ContentLength = -1 // chunked: the length is learnt only by reading
		if cr != "" {
			req.Header.Set("Content-Range", cr)
		}
		resp, err := srv.Client().Do(req)
		if err != nil {
			return nil // the body failed on our side
		}
		resp.Body.Close()
		return resp
	}
	if resp := patch("0-4", strings.NewReader("hello")); resp.StatusCode != 202 || resp.Header.Get("Range") != "0-4" {
		t.Fatalf("first chunk: %d Range %q", resp.StatusCode, resp.Header.Get("Range"))
	}
	for _, tc := range []struct {
		name, cr, body string
	}{
		{"longer than its range", "5-7", "worldwide"},
		{"shorter than its range", "5-14", "world"},
	} {
		if resp := patch(tc.cr, strings.NewReader(tc.body)); resp.StatusCode != 400 {
			t.Errorf("%s: %d, want 400", tc.name, resp.StatusCode)
		}
		resp, _ := do(t, srv, "GET", loc, nil, nil)
		if got := resp.Header.Get("Range"); got != "0-4" {
			t.Errorf("%s: Range after the refusal %q, want 0-4", tc.name, got)
		}
	}
	patch("5-1048580", &failingReader{n: 1 << 19}) // cut off half way
	resp, _ = do(t, srv, "GET", loc, nil, nil)
	if got := resp.Header.Get("Range"); got != "0-4" {
		t.Errorf("after a cut-off chunk: Range %q, want 0-4", got)
	}
	if resp := patch("5-10", strings.NewReader(" world")); resp.StatusCode != 202 {
		t.Fatalf("good second chunk: %d", resp.StatusCode)
	}
	d := sha256Of([]byte("hello world"))
	if resp, body := do(t, srv, "PUT", loc+"?digest="+d, nil, nil); resp.StatusCode != 201 {
		t.Fatalf("PUT: %d %s", resp.StatusCode, body)
	}
	if _, body := do(t, srv, "GET", "/v2/r/blobs/"+d, nil, nil); string(body) != "hello world" {
		t.Errorf("blob = %q", body)
	}
}

// TestPurgeUploads: sessions idle for longer than the age go, with their bytes; a fresh
// one, and an old one still receiving chunks, stay; one a request holds is skipped.
func TestPurgeUploads(t *testing.T) {
	root := t.TempDir()
	reg := newTestRegistryAt(t, root)
	srv := httptest.NewServer(reg)
	defer srv.Close()
	start := func(data string) string {
		resp, _ := do(t, srv, "POST", "/v2/r/blobs/uploads/", nil, nil)
		loc := resp.Header.Get("Location")
		if data != "" {
			do(t, srv, "PATCH", loc, nil, []byte(data))
		}
		return filepath.Join(reg.fs.uploadsDir("r"), filepath.Base(loc))
	}
	age := func(dir string, started, written time.Time) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(dir, "startedat"), []byte(started.UTC().Format(time.RFC3339Nano)), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(filepath.Join(dir, "data"), written, written); err != nil {
			t.Fatal(err)
		}
	}
	now := time.Now()
	idle := start("abandoned")
	age(idle, now.Add(-48*time.Hour), now.Add(-30*time.Hour))
	busy := start("still coming")
	age(busy, now.Add(-48*time.Hour), now) // started long ago, written a moment ago
	fresh := start("")
	held := start("held")
	age(held, now.Add(-48*time.Hour), now.Add(-30*time.Hour))
	unlock := reg.sessions.lock("r/" + filepath.Base(held))

	rep, err := reg.PurgeUploads(t.Context(), 24*time.Hour)
	unlock()
	if err != nil {
		t.Fatal(err)
	}
	if rep.Uploads != 1 || rep.Bytes != int64(len("abandoned")) {
		t.Errorf("report %+v, want 1 upload of %d bytes", rep, len("abandoned"))
	}
	for dir, want := range map[string]bool{idle: false, busy: true, fresh: true, held: true} {
		if _, err := os.Stat(dir); (err == nil) != want {
			t.Errorf("%s exists = %v, want %v", filepath.Base(dir), err == nil, want)
		}
	}
	if rep, _ := reg.PurgeUploads(t.Context(), 24*time.Hour); rep.Uploads != 1 {
		t.Errorf("second purge: %+v, want the released one", rep)
	}
}
