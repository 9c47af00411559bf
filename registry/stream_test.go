package registry

import (
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"testing"
)

// patternReader yields n bytes of a cheap deterministic pattern, so a large blob exists
// only as a stream, never as a slice.
type patternReader struct{ off, n int64 }

func (p *patternReader) Read(b []byte) (int, error) {
	if p.off >= p.n {
		return 0, io.EOF
	}
	k := min(int64(len(b)), p.n-p.off)
	for i := range k {
		x := uint64(p.off + i)
		b[i] = byte(x ^ x>>8 ^ x>>17)
	}
	p.off += k
	return int(k), nil
}

func allocated() uint64 {
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.TotalAlloc
}

// TestStreaming pushes (streamed PATCH, both hashes running) and pulls a 256 MiB blob
// and checks that everything the process allocated meanwhile, client included, stays
// far below the blob's size: the blob is never held in memory.
func TestStreaming(t *testing.T) {
	if testing.Short() {
		t.Skip("256 MiB transfer skipped in -short mode")
	}
	const size = 256 << 20
	const budget = 16 << 20 // total allocations allowed per transfer
	h := sha256.New()
	if _, err := io.Copy(h, &patternReader{n: size}); err != nil {
		t.Fatal(err)
	}
	d := "sha256:" + hex.EncodeToString(h.Sum(nil))

	srv := httptest.NewServer(newTestRegistry(t))
	defer srv.Close()
	client := srv.Client()

	before := allocated()
	resp, _ := do(t, srv, "POST", "/v2/big/blobs/uploads/", nil, nil)
	loc := resp.Header.Get("Location")
	req, _ := http.NewRequestWithContext(t.Context(), "PATCH", srv.URL+loc, io.NopCloser(&patternReader{n: size}))
	req.ContentLength = -1 // chunked: the server cannot know the size in advance
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("PATCH = %d", resp.StatusCode)
	}
	resp, body := do(t, srv, "PUT", resp.Header.Get("Location")+"?digest="+d, nil, nil)
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("PUT = %d %s", resp.StatusCode, body)
	}
	push := allocated() - before
	t.Logf("push of %d MiB allocated %.2f MiB in total", size>>20, float64(push)/(1<<20))
	if push > budget {
		t.Errorf("push allocated %d bytes; budget %d for a %d-byte blob", push, budget, size)
	}

	before = allocated()
	req, _ = http.NewRequestWithContext(t.Context(), "GET", srv.URL+"/v2/big/blobs/"+d, nil)
	resp, err = client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	h.Reset()
	n, err := io.Copy(h, resp.Body)
	resp.Body.Close()
	if err != nil || n != size || "sha256:"+hex.EncodeToString(h.Sum(nil)) != d {
		t.Fatalf("pulled %d bytes (err %v), digest mismatch or short", n, err)
	}
	pull := allocated() - before
	t.Logf("pull of %d MiB allocated %.2f MiB in total", size>>20, float64(pull)/(1<<20))
	if pull > budget {
		t.Errorf("pull allocated %d bytes; budget %d for a %d-byte blob", pull, budget, size)
	}
}
