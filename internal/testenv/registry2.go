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
	return StartRegistry2With(t, root, "").Addr
}

// Registry2With is Registry2 with extra top-level configuration appended (an auth
// section, say: then a 401 from /v2/ counts as ready).
func Registry2With(t testing.TB, root, extra string) string {
	t.Helper()
	return StartRegistry2With(t, root, extra).Addr
}

// Registry2Server is a docker-registry process that a test may kill and start again on
// the same address and storage (an upstream failing under the gateway).
type Registry2Server struct {
	// Addr is host:port, the same across restarts.
	Addr string

	t     testing.TB
	bin   string
	cfg   string
	extra string
	out   SyncBuffer
	cmd   *exec.Cmd
	done  chan struct{}
}

// StartRegistry2 is Registry2, returning the process.
func StartRegistry2(t testing.TB, root string) *Registry2Server {
	t.Helper()
	return StartRegistry2With(t, root, "")
}

// StartRegistry2With is Registry2With, returning the process.
func StartRegistry2With(t testing.TB, root, extra string) *Registry2Server {
	t.Helper()
	r := &Registry2Server{t: t, bin: NeedTool(t, "docker-registry"), extra: extra}
	if root == "" {
		root = filepath.Join(t.TempDir(), "data")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r.Addr = ln.Addr().String()
	ln.Close()
	r.cfg = Registry2Config(t, root, r.Addr)
	if extra != "" {
		f, err := os.OpenFile(r.cfg, os.O_APPEND|os.O_WRONLY, 0)
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
	t.Cleanup(func() {
		r.Kill()
		if t.Failed() {
			t.Logf("docker-registry output:\n%s", r.out.String())
		}
	})
	r.Start()
	return r
}

// Start runs the process and waits until /v2/ answers.
func (r *Registry2Server) Start() {
	t := r.t
	t.Helper()
	cmd := exec.Command(r.bin, "serve", r.cfg)
	cmd.Stdout, cmd.Stderr = &r.out, &r.out
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting docker-registry: %v", err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	r.cmd, r.done = cmd, done
	// Readiness: the process gives no signal but answering; poll, bounded.
	client := &http.Client{Timeout: 3 * time.Second}
	defer client.CloseIdleConnections()
	deadline := time.Now().Add(30 * time.Second)
	for {
		select {
		case <-done:
			t.Fatalf("docker-registry exited:\n%s", r.out.String())
		default:
		}
		if resp, err := client.Get("http://" + r.Addr + "/v2/"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK || (r.extra != "" && resp.StatusCode == http.StatusUnauthorized) {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("docker-registry did not answer on %s within 30s:\n%s", r.Addr, r.out.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Kill ends the process with SIGKILL (no graceful anything) and waits for it to exit.
func (r *Registry2Server) Kill() {
	if r.cmd == nil {
		return
	}
	_ = r.cmd.Process.Kill()
	<-r.done
	r.cmd = nil
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
