package e2e

import (
	"bytes"
	"crypto/rand"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// freeSpace is what statfs says is left on dir's file system.
func freeSpace(t *testing.T, dir string) int64 {
	t.Helper()
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		t.Fatal(err)
	}
	return int64(st.Bavail) * int64(st.Bsize)
}

// mountSmallDisk mounts an 8 MiB tmpfs at dir for the test, or skips (fails under CI)
// when that is not possible (not root).
func mountSmallDisk(t *testing.T, dir string) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=8m", "tmpfs", dir).CombinedOutput()
	if err != nil {
		msg := fmt.Sprintf("mounting an 8 MiB tmpfs needs root: %v %s", err, out)
		if os.Getenv("CI") != "" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	t.Cleanup(func() { _ = exec.Command("umount", "-l", dir).Run() })
}

// TestFullDisk runs the binary's bundled registry on an 8 MiB file system (issue 12 fault
// 2): a chunk that does not fit is a 507 in the JSON envelope saying the storage is full,
// logged at ERROR with the file and the free space; its bytes are released (the session
// keeps its Range, the space is back) so the next push works at once; a PATCH refused for
// its length leaves nothing in the session; and the abandoned session is purged on
// schedule, with its space.
func TestFullDisk(t *testing.T) {
	t.Parallel()
	data := t.TempDir()
	disk := filepath.Join(data, "registry")
	mountSmallDisk(t, disk)
	g := startGateway(t, data, append(authFlags(t), "--upload-purge-age", "4s", "--upload-purge-interval", "250ms")...)
	const repo = "/v2/" + adminUser + "/full"

	resp, b := g.call(t, "POST", repo+"/blobs/uploads/", adminUser, adminPass, nil, nil)
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("POST: %d %s", resp.StatusCode, b)
	}
	session := resp.Header.Get("Location")
	chunk := func(n int) []byte {
		c := make([]byte, n)
		_, _ = rand.Read(c)
		return c
	}
	patch := func(body []byte, contentRange string) (*http.Response, []byte) {
		t.Helper()
		req, err := http.NewRequestWithContext(t.Context(), "PATCH", g.URL+session, io.MultiReader(bytes.NewReader(body)))
		if err != nil {
			t.Fatal(err)
		}
		req.ContentLength = -1 // streamed: the registry learns the length by reading
		req.SetBasicAuth(adminUser, adminPass)
		req.Header.Set("Content-Type", "application/octet-stream")
		if contentRange != "" {
			req.Header.Set("Content-Range", contentRange)
		}
		resp, err := g.Client.Do(req)
		if err != nil {
			t.Fatalf("PATCH: %v", err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, b
	}
	first := 3 << 20
	if resp, b := patch(chunk(first), ""); resp.StatusCode != http.StatusAccepted {
		t.Fatalf("first 3 MiB chunk: %d %s", resp.StatusCode, b)
	}
	freeBefore := freeSpace(t, disk)

	from := len(g.Log())
	resp, b = patch(chunk(8<<20), "")
	if resp.StatusCode != http.StatusInsufficientStorage || !strings.Contains(string(b), `"code":"UNAVAILABLE"`) ||
		!strings.Contains(string(b), "storage is full") || resp.Header.Get("Content-Type") != "application/json" {
		t.Errorf("chunk larger than the disk: %d %s %s; want 507 in the JSON envelope saying the storage is full",
			resp.StatusCode, resp.Header.Get("Content-Type"), b)
	}
	line, _ := reloadWaitLog(t, g, from, "registry storage is full")
	for _, want := range []string{"level=ERROR", "file=", "free_bytes="} {
		if !strings.Contains(line, want) {
			t.Errorf("full-disk log line lacks %s: %s", want, line)
		}
	}
	resp, _ = g.call(t, "GET", session, adminUser, adminPass, nil, nil)
	if got, want := resp.Header.Get("Range"), fmt.Sprintf("0-%d", first-1); got != want {
		t.Errorf("session Range after the failed chunk %q, want %q", got, want)
	}
	if free := freeSpace(t, disk); free < freeBefore {
		t.Errorf("free space %d after the failed chunk, %d before it: its bytes were kept", free, freeBefore)
	}

	// Space is back: a push works at once.
	d := g.pushGGCR(t, adminUser+"/after-full:1", adminUser, adminPass, 1)
	if got, err := remoteGet(t, g, adminUser+"/after-full:1", adminUser, adminPass); err != nil || got != d {
		t.Errorf("pull after the full disk: %s %v", got, err)
	}

	// A chunk refused for its length leaves nothing behind.
	resp, b = patch([]byte("0123456789"), fmt.Sprintf("%d-%d", first, first+3))
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("chunk longer than its Content-Range: %d %s, want 400", resp.StatusCode, b)
	}
	resp, _ = g.call(t, "GET", session, adminUser, adminPass, nil, nil)
	if got, want := resp.Header.Get("Range"), fmt.Sprintf("0-%d", first-1); got != want {
		t.Errorf("session Range after the refused chunk %q, want %q", got, want)
	}

	// Abandoned, the session is purged with its data once idle for --upload-purge-age.
	purged := freeSpace(t, disk)
	reloadWait(t, "the idle session purged", func() (bool, string) {
		resp, _ := g.call(t, "GET", session, adminUser, adminPass, nil, nil)
		return resp.StatusCode == http.StatusNotFound, fmt.Sprintf("GET session: %d", resp.StatusCode)
	})
	if free := freeSpace(t, disk); free < purged+int64(first)-(64<<10) {
		t.Errorf("free space %d after the purge, %d before: the session's 3 MiB were not released", free, purged)
	}
	if !strings.Contains(g.Log(), "purged idle uploads") {
		t.Errorf("no log line for the purge")
	}
}
