package e2e

import (
	"bytes"
	"crypto/rand"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/portcullis/portcullis/internal/testenv"
)

// Kill ends the gateway with SIGKILL, as a crash or the OOM killer would.
func (g *gateway) Kill() {
	g.t.Helper()
	_ = g.cmd.Process.Kill()
	<-g.done
	if g.Client != nil {
		g.Client.CloseIdleConnections()
	}
}

// crashLeftovers lists temporary files and empty directories under the bundled
// registry's blobs/ and repositories/.
func crashLeftovers(t *testing.T, data string) []string {
	t.Helper()
	base := filepath.Join(data, "registry", "docker", "registry", "v2")
	return testenv.Leftovers(t, filepath.Join(base, "blobs"), filepath.Join(base, "repositories"))
}

// TestCrashLeftoversGC kills the binary with SIGKILL while uploads stream and pushes run,
// then runs `gateway gc --delete` (issue 12 fault 6): gc refuses while a gateway serves
// the directory, and once it has stopped removes every temporary file and empty
// directory the crash left; the registry serves and takes pushes afterwards.
func TestCrashLeftoversGC(t *testing.T) {
	t.Parallel()
	data := t.TempDir()
	g := startGateway(t, data, authFlags(t)...)
	kept := g.pushGGCR(t, adminUser+"/kept:1", adminUser, adminPass, 2)

	// gc while the gateway serves: refused, nothing touched.
	out, errOut, err := tryCmd(t, "", gatewayBin, "gc", "--delete", "--data", data)
	if err == nil || !strings.Contains(errOut, "stop it first") {
		t.Errorf("gc --delete while serving: err %v, stdout %q, stderr %q; want a refusal", err, out, errOut)
	}

	// Uploads that stream and never finish, and pushes in a loop.
	const repo = "/v2/" + adminUser + "/crash"
	var wg sync.WaitGroup
	var writers []*io.PipeWriter
	for range 3 {
		resp, b := g.call(t, "POST", repo+"/blobs/uploads/", adminUser, adminPass, nil, nil)
		if resp.StatusCode != http.StatusAccepted {
			t.Fatalf("POST upload: %d %s", resp.StatusCode, b)
		}
		pr, pw := io.Pipe()
		writers = append(writers, pw)
		req, _ := http.NewRequestWithContext(t.Context(), "PATCH", g.URL+resp.Header.Get("Location"), pr)
		req.SetBasicAuth(adminUser, adminPass)
		req.Header.Set("Content-Type", "application/octet-stream")
		wg.Add(1)
		go func() {
			defer wg.Done()
			if resp, err := g.Client.Do(req); err == nil {
				resp.Body.Close()
			}
		}()
		chunk := make([]byte, 1<<20)
		_, _ = rand.Read(chunk)
		go func() { _, _ = pw.Write(chunk) }()
	}
	stop := make(chan struct{})
	for i := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := 0; ; n++ {
				select {
				case <-stop:
					return
				default:
				}
				blob := []byte(strings.Repeat("x", 4096+i*7+n))
				req, _ := http.NewRequestWithContext(t.Context(), "POST",
					g.URL+repo+"/blobs/uploads/?digest="+sha256Digest(blob), bytes.NewReader(blob))
				req.SetBasicAuth(adminUser, adminPass)
				resp, err := g.Client.Do(req)
				if err != nil {
					return // the gateway is gone
				}
				resp.Body.Close()
			}
		}()
	}
	// Kill once the streamed bytes are on disk.
	uploads := filepath.Join(data, "registry", "docker", "registry", "v2", "repositories", adminUser, "crash", "_uploads")
	deadline := time.Now().Add(30 * time.Second)
	for streaming := 0; streaming < 3; {
		if time.Now().After(deadline) {
			t.Fatalf("the uploads' bytes never reached %s", uploads)
		}
		streaming = 0
		ents, _ := os.ReadDir(uploads)
		for _, e := range ents {
			if fi, err := os.Stat(filepath.Join(uploads, e.Name(), "data")); err == nil && fi.Size() > 0 {
				streaming++
			}
		}
		time.Sleep(20 * time.Millisecond) // polling another process's files
	}
	g.Kill()
	close(stop)
	for _, pw := range writers {
		pw.CloseWithError(io.ErrUnexpectedEOF)
	}
	wg.Wait()

	// kill -9 lands in the few instructions between making a directory and filling it
	// only by chance; put there what it leaves when it does, as the issue found it: a blob
	// directory made just before the rename that never happened, and a link's temporary
	// file.
	base := filepath.Join(data, "registry", "docker", "registry", "v2")
	ghost := filepath.Join(base, "blobs", "sha256", "de", "de"+strings.Repeat("0", 62))
	tmp := filepath.Join(base, "repositories", adminUser, "crash", "_manifests", "tags", "t", "current", ".tmp-4242")
	for _, p := range []string{ghost, filepath.Dir(tmp)} {
		if err := os.MkdirAll(p, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(tmp, []byte("sha256:"), 0o644); err != nil {
		t.Fatal(err)
	}
	before := crashLeftovers(t, data)
	t.Logf("left by the crash: %d temporary files and empty directories", len(before))

	out, _ = runCmd(t, "", gatewayBin, "gc", "--delete", "--data", data)
	t.Logf("gateway gc --delete: %s", strings.TrimSpace(out))
	if after := crashLeftovers(t, data); len(after) != 0 {
		t.Errorf("after gc --delete, still there: %v", after)
	}

	g.Start()
	if got, err := remoteGet(t, g, adminUser+"/kept:1", adminUser, adminPass); err != nil || got != kept {
		t.Errorf("pulling kept:1 after the crash and gc: %s, %v", got, err)
	}
	d := g.pushGGCR(t, adminUser+"/after:1", adminUser, adminPass, 2)
	if got, err := remoteGet(t, g, adminUser+"/after:1", adminUser, adminPass); err != nil || got != d {
		t.Errorf("push then pull after gc: %s, %v; want %s", got, err, d)
	}
}
