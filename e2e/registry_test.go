package e2e

import (
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// startRegistry starts Debian's docker-registry (distribution 2.8) on a free loopback port
// with filesystem storage in a temp dir and deletes enabled, and returns its http:// URL.
func startRegistry(t *testing.T) string {
	t.Helper()
	bin := needTool(t, "docker-registry")
	dir := t.TempDir()
	addr := freeAddr(t)
	cfg := fmt.Sprintf(`version: 0.1
log:
  level: warn
storage:
  filesystem:
    rootdirectory: %s
  delete:
    enabled: true
  maintenance:
    uploadpurging:
      enabled: false
http:
  addr: %s
`, filepath.Join(dir, "data"), addr)
	file := filepath.Join(dir, "config.yml")
	if err := os.WriteFile(file, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	logf, err := os.Create(filepath.Join(dir, "registry.log"))
	if err != nil {
		t.Fatal(err)
	}
	defer logf.Close()
	cmd := exec.Command(bin, "serve", file)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting docker-registry: %v", err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-done
	})
	url := "http://" + addr
	if err := waitStatus(done, url+"/v2/", http.StatusOK); err != nil {
		b, _ := os.ReadFile(logf.Name())
		t.Fatalf("docker-registry: %v\n%s", err, b)
	}
	return url
}

// waitStatus polls url until it answers want, the process (done) exits, or readyTimeout
// passes.
func waitStatus(done <-chan struct{}, url string, want int) error {
	client := &http.Client{Timeout: 3 * time.Second}
	defer client.CloseIdleConnections()
	deadline := time.Now().Add(readyTimeout)
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	last := errors.New("no answer yet")
	for time.Now().Before(deadline) {
		select {
		case <-done:
			return errors.New("process exited")
		case <-tick.C:
		}
		resp, err := client.Get(url)
		if err != nil {
			last = err
			continue
		}
		resp.Body.Close()
		if resp.StatusCode == want {
			return nil
		}
		last = fmt.Errorf("status %d, want %d", resp.StatusCode, want)
	}
	return fmt.Errorf("%s not ready within %v: %v", url, readyTimeout, last)
}
