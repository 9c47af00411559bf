package registry

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// replicas starts n registries on one directory, each with its own caches and locks, as
// gateway replicas on one shared volume are.
func replicas(t *testing.T, n int) (root string, srvs []*httptest.Server) {
	t.Helper()
	root = t.TempDir()
	for range n {
		srv := httptest.NewServer(newTestRegistryAt(t, root))
		t.Cleanup(srv.Close)
		srvs = append(srvs, srv)
	}
	return root, srvs
}

// TestReplicasUploadHops: POST on one replica, each PATCH and the PUT on the next one
// round-robin, as a load balancer sends them; every replica then serves the blob.
func TestReplicasUploadHops(t *testing.T) {
	tests := []struct {
		name            string
		replicas, chunk int
		size            int
		lastInPut       bool // the last chunk travels in the PUT
	}{
		{"two replicas, one chunk", 2, 3 << 20, 3 << 20, false},
		{"two replicas, chunks not block aligned", 2, 100_000, 450_000, false},
		{"three replicas, 1 MiB chunks", 3, 1 << 20, 5<<20 + 17, false},
		{"final chunk in the PUT", 2, 70_000, 200_000, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, srvs := replicas(t, tc.replicas)
			blob := bytes.Repeat([]byte("hop!-"), tc.size/5+1)[:tc.size]
			next := 0
			hop := func() *httptest.Server { s := srvs[next%len(srvs)]; next++; return s }
			resp, _ := do(t, hop(), "POST", "/v2/r/blobs/uploads/", nil, nil)
			if resp.StatusCode != http.StatusAccepted {
				t.Fatalf("POST = %d", resp.StatusCode)
			}
			loc := resp.Header.Get("Location")
			off := 0
			for off < len(blob) {
				end := min(off+tc.chunk, len(blob))
				if tc.lastInPut && end == len(blob) {
					break
				}
				srv := hop()
				resp, body := do(t, srv, "PATCH", loc, map[string]string{"Content-Range": fmt.Sprintf("%d-%d", off, end-1)}, blob[off:end])
				if resp.StatusCode != http.StatusAccepted || resp.Header.Get("Range") != fmt.Sprintf("0-%d", end-1) {
					t.Fatalf("PATCH %d-%d on replica %d = %d Range %q %s", off, end-1, (next-1)%len(srvs), resp.StatusCode, resp.Header.Get("Range"), body)
				}
				loc = resp.Header.Get("Location")
				off = end
			}
			d := sha256Of(blob)
			resp, body := do(t, hop(), "PUT", loc+"?digest="+d, nil, blob[off:])
			if resp.StatusCode != http.StatusCreated {
				t.Fatalf("PUT = %d %s", resp.StatusCode, body)
			}
			for i, srv := range srvs {
				if resp, got := do(t, srv, "GET", "/v2/r/blobs/"+d, nil, nil); resp.StatusCode != 200 || !bytes.Equal(got, blob) {
					t.Errorf("GET on replica %d: %d, %d bytes (want %d)", i, resp.StatusCode, len(got), len(blob))
				}
			}
		})
	}
}

// TestReplicasSessionBusy: while one replica is inside a PATCH of a session, a request on
// the same session at another replica is refused at once with 409 BLOB_UPLOAD_INVALID
// (never appended in between); once the first finished, the second replica continues the
// session and the blob has the right digest.
func TestReplicasSessionBusy(t *testing.T) {
	root, srvs := replicas(t, 2)
	a, b := srvs[0], srvs[1]
	resp, _ := do(t, a, "POST", "/v2/r/blobs/uploads/", nil, nil)
	loc := resp.Header.Get("Location")
	data := filepath.Join(root, "docker/registry/v2/repositories/r/_uploads", filepath.Base(loc), "data")

	first := bytes.Repeat([]byte("A"), 600<<10)
	second := bytes.Repeat([]byte("B"), 1000)
	pr, pw := io.Pipe()
	req, _ := http.NewRequestWithContext(t.Context(), "PATCH", a.URL+loc, pr)
	req.ContentLength = int64(len(first))
	req.Header.Set("Content-Range", fmt.Sprintf("0-%d", len(first)-1))
	type result struct {
		code int
		err  error
	}
	done := make(chan result, 1)
	go func() {
		resp, err := a.Client().Do(req)
		if err != nil {
			done <- result{err: err}
			return
		}
		resp.Body.Close()
		done <- result{code: resp.StatusCode}
	}()
	// Half the chunk, then wait until replica A has written some of it: it holds the
	// session from then until the body ends.
	if _, err := pw.Write(first[:400<<10]); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "replica A to write the first bytes", func() bool {
		fi, err := os.Stat(data)
		return err == nil && fi.Size() > 0
	})

	for _, method := range []string{"PATCH", "PUT", "GET", "DELETE"} {
		path := loc
		var body []byte
		hdr := map[string]string{}
		switch method {
		case "PATCH":
			body = second
			hdr["Content-Range"] = fmt.Sprintf("0-%d", len(second)-1)
		case "PUT":
			path += "?digest=" + sha256Of(second)
			body = second
		}
		resp, rb := do(t, b, method, path, hdr, body)
		if resp.StatusCode != http.StatusConflict || errCode(rb) != "BLOB_UPLOAD_INVALID" {
			t.Errorf("%s on replica B while A is in a PATCH: %d %s, want 409 BLOB_UPLOAD_INVALID", method, resp.StatusCode, rb)
		}
	}
	if _, err := pw.Write(first[400<<10:]); err != nil {
		t.Fatal(err)
	}
	pw.Close()
	if r := <-done; r.err != nil || r.code != http.StatusAccepted {
		t.Fatalf("replica A's PATCH: %d %v, want 202", r.code, r.err)
	}

	// B continues where A stopped: a stale range is told the real one, the right one lands.
	if resp, _ := do(t, b, "PATCH", loc, map[string]string{"Content-Range": fmt.Sprintf("0-%d", len(second)-1)}, second); resp.StatusCode != http.StatusRequestedRangeNotSatisfiable || resp.Header.Get("Range") != fmt.Sprintf("0-%d", len(first)-1) {
		t.Fatalf("PATCH at offset 0 on B after A: %d Range %q, want 416 with Range 0-%d", resp.StatusCode, resp.Header.Get("Range"), len(first)-1)
	}
	off := len(first)
	if resp, body := do(t, b, "PATCH", loc, map[string]string{"Content-Range": fmt.Sprintf("%d-%d", off, off+len(second)-1)}, second); resp.StatusCode != http.StatusAccepted {
		t.Fatalf("PATCH on B after A: %d %s", resp.StatusCode, body)
	}
	whole := append(append([]byte{}, first...), second...)
	if resp, body := do(t, a, "PUT", loc+"?digest="+sha256Of(whole), nil, nil); resp.StatusCode != http.StatusCreated {
		t.Fatalf("PUT on A: %d %s", resp.StatusCode, body)
	}
}

// TestReplicasRacingPatches sends the same first chunk of one session to two replicas at
// the same moment, many times: exactly one is accepted; the other is refused, as busy
// (409) or, if it came second, with the session's real range (416); the session holds
// the chunk once and closes with the right digest.
func TestReplicasRacingPatches(t *testing.T) {
	_, srvs := replicas(t, 2)
	chunk := bytes.Repeat([]byte("race"), 64<<10)
	for round := range 20 {
		resp, _ := do(t, srvs[round%2], "POST", "/v2/r/blobs/uploads/", nil, nil)
		loc := resp.Header.Get("Location")
		codes := make([]int, 2)
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i, srv := range srvs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				req, _ := http.NewRequestWithContext(t.Context(), "PATCH", srv.URL+loc, bytes.NewReader(chunk))
				req.Header.Set("Content-Range", fmt.Sprintf("0-%d", len(chunk)-1))
				resp, err := srv.Client().Do(req)
				if err != nil {
					t.Error(err)
					return
				}
				resp.Body.Close()
				codes[i] = resp.StatusCode
			}()
		}
		close(start)
		wg.Wait()
		accepted, refused := 0, 0
		for _, c := range codes {
			switch c {
			case http.StatusAccepted:
				accepted++
			case http.StatusConflict, http.StatusRequestedRangeNotSatisfiable:
				refused++
			}
		}
		if accepted != 1 || refused != 1 {
			t.Fatalf("round %d: codes %v, want one 202 and one 409 or 416", round, codes)
		}
		if resp, body := do(t, srvs[(round+1)%2], "PUT", loc+"?digest="+sha256Of(chunk), nil, nil); resp.StatusCode != http.StatusCreated {
			t.Fatalf("round %d: PUT = %d %s (the chunk must be in the session exactly once)", round, resp.StatusCode, body)
		}
	}
}

// TestReplicasSeeEachOther: what one replica changes, the others answer at once, even
// with their caches warm: a tag moved, a manifest deleted, a blob unlinked, an upload
// cancelled.
func TestReplicasSeeEachOther(t *testing.T) {
	_, srvs := replicas(t, 2)
	a, b := srvs[0], srvs[1]
	one := imageManifest(t, a, "r", nil, []byte("layer one"))
	two := imageManifest(t, a, "r", nil, []byte("layer two"))
	putManifest(t, a, "r", "latest", one)
	warm := func(what string, srv *httptest.Server, path string, want []byte) {
		t.Helper()
		for range 2 { // the second read is served from the cache
			resp, body := do(t, srv, "GET", path, nil, nil)
			if resp.StatusCode != 200 || (want != nil && !bytes.Equal(body, want)) {
				t.Fatalf("%s: GET %s = %d", what, path, resp.StatusCode)
			}
		}
	}
	warm("before the move", b, "/v2/r/manifests/latest", one)

	putManifest(t, a, "r", "latest", two)
	if resp, body := do(t, b, "GET", "/v2/r/manifests/latest", nil, nil); resp.StatusCode != 200 || !bytes.Equal(body, two) {
		t.Errorf("tag moved on A: B serves %d %.60s, want the new manifest", resp.StatusCode, body)
	}

	oneD := sha256Of(one)
	warm("by digest", b, "/v2/r/manifests/"+oneD, one)
	if resp, _ := do(t, a, "DELETE", "/v2/r/manifests/"+oneD, nil, nil); resp.StatusCode != http.StatusAccepted {
		t.Fatalf("DELETE manifest on A = %d", resp.StatusCode)
	}
	for _, m := range []string{"GET", "HEAD"} {
		if resp, _ := do(t, b, m, "/v2/r/manifests/"+oneD, nil, nil); resp.StatusCode != http.StatusNotFound {
			t.Errorf("manifest deleted on A: %s on B = %d, want 404", m, resp.StatusCode)
		}
	}

	layer := sha256Of([]byte("layer two"))
	warm("blob", b, "/v2/r/blobs/"+layer, nil)
	if resp, _ := do(t, a, "DELETE", "/v2/r/blobs/"+layer, nil, nil); resp.StatusCode != http.StatusAccepted {
		t.Fatalf("DELETE blob on A = %d", resp.StatusCode)
	}
	for _, m := range []string{"GET", "HEAD"} {
		if resp, _ := do(t, b, m, "/v2/r/blobs/"+layer, nil, nil); resp.StatusCode != http.StatusNotFound {
			t.Errorf("blob unlinked on A: %s on B = %d, want 404", m, resp.StatusCode)
		}
	}

	resp, _ := do(t, b, "POST", "/v2/r/blobs/uploads/", nil, nil)
	loc := resp.Header.Get("Location")
	if resp, _ := do(t, b, "PATCH", loc, nil, []byte("partial")); resp.StatusCode != http.StatusAccepted {
		t.Fatalf("PATCH on B = %d", resp.StatusCode)
	}
	if resp, _ := do(t, a, "DELETE", loc, nil, nil); resp.StatusCode != http.StatusNoContent {
		t.Fatalf("cancel on A = %d", resp.StatusCode)
	}
	if resp, body := do(t, b, "PATCH", loc, nil, []byte("more")); resp.StatusCode != http.StatusNotFound || errCode(body) != "BLOB_UPLOAD_UNKNOWN" {
		t.Errorf("PATCH on B after cancel on A = %d %s, want 404 BLOB_UPLOAD_UNKNOWN", resp.StatusCode, body)
	}
}

// TestGCWaitsForReplicas: GC with deletion refuses while any process has the directory
// attached (a serving replica), removing nothing; a dry run still reports; with every
// replica detached it collects. A replica cannot attach while GC holds the directory.
func TestGCWaitsForReplicas(t *testing.T) {
	root := t.TempDir()
	srv := httptest.NewServer(newTestRegistryAt(t, root))
	defer srv.Close()
	orphan := pushBlob(t, srv, "r", []byte("orphan, referenced by no manifest"))

	first, err := Attach(root)
	if err != nil {
		t.Fatal(err)
	}
	second, err := Attach(root)
	if err != nil {
		t.Fatalf("a second replica attaching: %v", err)
	}
	first.Close() // one replica stopped, the other still serving
	if _, err := GC(t.Context(), root, GCOptions{}); !errors.Is(err, ErrInUse) {
		t.Fatalf("GC --delete with a replica serving: %v, want ErrInUse", err)
	}
	if !blobFileExists(root, orphan) {
		t.Fatal("the refused GC removed a blob")
	}
	if rep, err := GC(t.Context(), root, GCOptions{DryRun: true}); err != nil || rep.BlobsRemoved != 1 {
		t.Fatalf("dry run with a replica serving: %+v %v, want it to report 1 blob", rep, err)
	}
	second.Close()

	held, err := gcLock(root)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Attach(root); !errors.Is(err, ErrInUse) {
		t.Errorf("attaching while GC runs: %v, want ErrInUse", err)
	}
	held.Close()

	if rep, err := GC(t.Context(), root, GCOptions{}); err != nil || rep.BlobsRemoved != 1 || blobFileExists(root, orphan) {
		t.Fatalf("GC with every replica stopped: %+v %v, want the orphan removed", rep, err)
	}
}

// waitFor polls cond (another goroutine's progress on disk) until it holds, bounded.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
