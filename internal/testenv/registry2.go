package testenv

import (
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// Registry2 starts Debian's docker-registry (distribution 2.8) on a free loopback port
// with filesystem storage under root (a temporary directory when root is ""), deletes
// enabled, and returns its host:port once /v2/ answers. It is killed when the test ends;
// its output is logged if the test failed.
func Registry2(t testing.TB, root string) string {
	t.Helper()
	return Registry2With(t, root, "")
}

// Registry2With is Registry2 with extra top-level configuration appended (an auth
// section, say: then a 401 from /v2/ counts as ready).
func Registry2With(t testing.TB, root, extra string) string {
	t.Helper()
	bin := NeedTool(t, "docker-registry")
	dir := t.TempDir()
	if root == "" {
		root = filepath.Join(dir, "data")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	cfg := Registry2Config(t, root, addr)
	if extra != "" {
		f, err := os.OpenFile(cfg, os.O_APPEND|os.O_WRONLY, 0)
		if err != nil {
			t.Fatal(err)
		}
		_, err = f.WriteString(extra)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	var out SyncBuffer
	cmd := exec.Command(bin, "serve", cfg)
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting docker-registry: %v", err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-done
		if t.Failed() {
			t.Logf("docker-registry output:\n%s", out.String())
		}
	})
	// Readiness: the process gives no signal but answering; poll, bounded.
	client := &http.Client{Timeout: 3 * time.Second}
	defer client.CloseIdleConnections()
	deadline := time.Now().Add(30 * time.Second)
	for {
		select {
		case <-done:
			t.Fatalf("docker-registry exited:\n%s", out.String())
		default:
		}
		if resp, err := client.Get("http://" + addr + "/v2/"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK || (extra != "" && resp.StatusCode == http.StatusUnauthorized) {
				return addr
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("docker-registry did not answer on %s within 30s:\n%s", addr, out.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Registry2Config writes a docker-registry configuration serving root on addr (deletes
// enabled, upload purging off, warnings only) and returns its path.
func Registry2Config(t testing.TB, root, addr string) string {
	t.Helper()
	cfg := filepath.Join(t.TempDir(), "config.yml")
	if err := os.WriteFile(cfg, fmt.Appendf(nil, `version: 0.1
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
`, root, addr), 0o600); err != nil {
		t.Fatal(err)
	}
	return cfg
}

// SyncBuffer collects output written from several goroutines (a child process, a
// server's logger) and reads it back safely.
type SyncBuffer struct {
	mu sync.Mutex
	b  []byte
}

func (l *SyncBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.b = append(l.b, p...)
	return len(p), nil
}

func (l *SyncBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return string(l.b)
}
