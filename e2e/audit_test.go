package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// auditRecord is what the tests read of an audit line.
type auditRecord struct {
	Seq        uint64 `json:"seq"`
	Kind       string `json:"kind"`
	User       string `json:"user"`
	Repository string `json:"repository"`
	Reference  string `json:"reference"`
	Digest     string `json:"digest"`
	Method     string `json:"method"`
	Status     int    `json:"status"`
	Reason     string `json:"reason"`
}

// auditQuery runs `gateway audit query` on files and decodes its JSON lines.
func auditQuery(t *testing.T, args ...string) []auditRecord {
	t.Helper()
	out, _ := runCmd(t, "", gatewayBin, append([]string{"audit", "query"}, args...)...)
	var recs []auditRecord
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		if l == "" {
			continue
		}
		var r auditRecord
		if err := json.Unmarshal([]byte(l), &r); err != nil {
			t.Fatalf("query printed %q: %v", l, err)
		}
		recs = append(recs, r)
	}
	return recs
}

// auditVerify runs `gateway audit verify` and fails the test unless it says OK.
func auditVerify(t *testing.T, data string, files ...string) string {
	t.Helper()
	out, _ := runCmd(t, "", gatewayBin, append([]string{"audit", "verify", "--data", data}, files...)...)
	if !strings.Contains(out, "OK: ") {
		t.Fatalf("audit verify: %s", out)
	}
	return out
}

// kill ends the gateway with SIGKILL, as a crash would.
func (g *gateway) kill() {
	g.t.Helper()
	if err := g.cmd.Process.Signal(syscall.SIGKILL); err != nil && !errors.Is(err, os.ErrProcessDone) {
		g.t.Fatal(err)
	}
	<-g.done
}

// pushes records the pushes clients saw succeed.
type pushes struct {
	mu   sync.Mutex
	done map[string]string // repo:tag -> manifest digest
}

func (p *pushes) add(ref, digest string) {
	p.mu.Lock()
	p.done[ref] = digest
	p.mu.Unlock()
}

func (p *pushes) count() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.done)
}

// pushLoop pushes small random images as alice until ctx ends or a push fails, adding
// each acknowledged one to ok; it returns the first error.
func (g *gateway) pushLoop(ctx context.Context, t *testing.T, repo string, ok *pushes) error {
	opts := append(g.ggcrOptions(t, adminUser, adminPass), remote.WithContext(ctx))
	for i := 0; ctx.Err() == nil; i++ {
		img := randomImage(t, 1)
		ref := fmt.Sprintf("%s:%d", repo, i)
		if err := remote.Write(g.ggcrRef(t, ref), img, opts...); err != nil {
			return err
		}
		ok.add(ref, mustDigest(t, img).String())
	}
	return ctx.Err()
}

// checkRecorded fails the test for every acknowledged push that has no push record with
// its tag and the digest the tag points to.
func checkRecorded(t *testing.T, ok *pushes, recs []auditRecord) {
	t.Helper()
	have := map[string]bool{}
	for _, r := range recs {
		if r.Kind == "push" && r.Method == http.MethodPut && r.Status == http.StatusCreated && r.Reference != "" {
			have[r.Repository+":"+r.Reference+"@"+r.Digest] = true
		}
	}
	ok.mu.Lock()
	defer ok.mu.Unlock()
	for ref, d := range ok.done {
		if !have[ref+"@"+d] {
			t.Errorf("push of %s (%s) was acknowledged but has no audit record", ref, d)
		}
	}
}

// TestAuditCrash kills the gateway with SIGKILL in the middle of concurrent pushes. After
// a restart every push a client saw succeed has its record, the chain verifies (a line cut
// short by the kill is removed at start, the records before it signed by the start
// checkpoint), and `gateway gc --delete` appends its record to the same chain.
func TestAuditCrash(t *testing.T) {
	t.Parallel()
	data := t.TempDir()
	logFile := filepath.Join(t.TempDir(), "audit", "audit.log")
	g := startGateway(t, data, append(authFlags(t), "--audit-log", logFile, "--audit-checkpoint-every", "25")...)

	ok := &pushes{done: map[string]string{}}
	ctx, cancel := context.WithCancel(t.Context())
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() { _ = g.pushLoop(ctx, t, fmt.Sprintf("%s/crash%d", adminUser, w), ok) })
	}
	deadline := time.Now().Add(2 * time.Minute)
	for ok.count() < 12 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond) // pushes happen in other goroutines; this only waits for enough of them
	}
	g.kill()
	cancel()
	wg.Wait()
	t.Logf("%d pushes acknowledged before SIGKILL", ok.count())
	if ok.count() == 0 {
		t.Fatal("no push succeeded before the kill")
	}

	g.Start()
	checkRecorded(t, ok, auditQuery(t, "--action", "push", logFile))
	g.Stop()
	out := auditVerify(t, data, logFile)
	t.Logf("after the crash: %s", strings.TrimSpace(out))

	runCmd(t, "", gatewayBin, "gc", "--delete", "--data", data, "--audit-log", logFile)
	gc := auditQuery(t, "--action", "gc", logFile)
	if len(gc) != 1 {
		t.Errorf("gc --delete left %d gc records, want 1", len(gc))
	}
	auditVerify(t, data, logFile)
}

// TestAuditDiskFull puts the audit log on a 256 KiB tmpfs and fills it. With
// --audit-fail closed (the default) pushes get 503 while pulls go on; no push that was
// acknowledged lacks its record; when space is freed, pushes work again without a restart.
func TestAuditDiskFull(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", dir).CombinedOutput(); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("mounting a tmpfs (the test runs as root under CI): %v: %s", err, out)
		}
		t.Skipf("cannot mount a tmpfs (needs root): %v: %s", err, out)
	}
	t.Cleanup(func() { cleanupCmd("umount", "-l", dir) })
	data := t.TempDir()
	logFile := filepath.Join(dir, "audit.log")
	g := startGateway(t, data, append(authFlags(t), "--audit-log", logFile, "--audit-sync-interval", "100ms")...)
	ok := &pushes{done: map[string]string{}}
	before := fmt.Sprintf("%s/full:before", adminUser)
	digest := g.pushGGCR(t, before, adminUser, adminPass, 1)
	ok.add(before, digest)

	// Fill the tmpfs.
	filler := filepath.Join(dir, "filler")
	f, err := os.Create(filler)
	if err != nil {
		t.Fatal(err)
	}
	chunk := make([]byte, 4096)
	for {
		if _, err := f.Write(chunk); err != nil {
			break
		}
	}
	f.Close()

	// Pushes fail: the first one whose record cannot be written is not acknowledged (its
	// answer is aborted), the next ones are refused with 503 before they reach the registry.
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	err = g.pushLoop(ctx, t, adminUser+"/full", ok)
	cancel()
	if err == nil || !strings.Contains(err.Error(), "503") && !strings.Contains(err.Error(), "UNAVAILABLE") {
		t.Fatalf("pushing with the audit log full: %v, want 503 UNAVAILABLE", err)
	}
	t.Logf("push with the audit log full: %v", err)
	resp := g.request(t, http.MethodPost, "/v2/"+adminUser+"/full/blobs/uploads/", adminUser, adminPass)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(string(body), "audit log cannot be written") {
		t.Errorf("upload start with the audit log full: %d %s, want 503 naming the audit log", resp.StatusCode, body)
	}
	if got, err := remoteGet(t, g, before, adminUser, adminPass); err != nil || got != digest {
		t.Errorf("pull with the audit log full: %s, %v; reads must go on", got, err)
	}

	// Space back: writes resume, same process.
	pid := g.cmd.Process.Pid
	os.Remove(filler)
	deadline := time.Now().Add(time.Minute)
	for {
		resp := g.request(t, http.MethodPost, "/v2/"+adminUser+"/full/blobs/uploads/", adminUser, adminPass)
		resp.Body.Close()
		if resp.StatusCode == http.StatusAccepted {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("pushes still refused (%d) a minute after space was freed", resp.StatusCode)
		}
		time.Sleep(50 * time.Millisecond) // the trail retries on its own interval
	}
	after := adminUser + "/full:after"
	ok.add(after, g.pushGGCR(t, after, adminUser, adminPass, 1))
	if g.cmd.Process.Pid != pid {
		t.Fatal("the gateway was restarted")
	}
	g.Stop()
	checkRecorded(t, ok, auditQuery(t, "--action", "push", logFile))
	auditVerify(t, data, logFile)
}

// request sends one authenticated request to the gateway.
func (g *gateway) request(t *testing.T, method, path, user, pass string) *http.Response {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, g.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.SetBasicAuth(user, pass)
	resp, err := g.Client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

// TestAuditStdout: --audit-log - writes the trail to stdout, apart from the operational
// log on stderr, and the lines captured there verify as a chain.
func TestAuditStdout(t *testing.T) {
	t.Parallel()
	needGateway(t)
	data := t.TempDir()
	addr := freeAddr(t)
	var stdout, stderr lockedWriter
	cmd := exec.Command(gatewayBin, append([]string{"serve", "--listen", addr, "--data", data, "--tls", "off", "--audit-log", "-"}, authFlags(t)...)...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	defer cmd.Process.Kill()
	deadline := time.Now().Add(readyTimeout)
	for {
		req, _ := http.NewRequest("GET", "http://"+addr+"/v2/", nil)
		req.SetBasicAuth(adminUser, "not-the-password")
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusUnauthorized {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("not ready: %s", stderr.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	cmd.Process.Signal(syscall.SIGTERM)
	if err := <-done; err != nil {
		t.Fatalf("exit: %v\n%s", err, stderr.String())
	}
	var kinds []string
	for _, l := range strings.Split(strings.TrimSpace(stdout.String()), "\n") {
		var r auditRecord
		if err := json.Unmarshal([]byte(l), &r); err != nil {
			t.Fatalf("stdout holds a line that is not an audit record: %q", l)
		}
		kinds = append(kinds, r.Kind)
	}
	if strings.Join(kinds, ",") != "checkpoint,login_failed,checkpoint" {
		t.Errorf("records on stdout: %v", kinds)
	}
	if strings.Contains(stderr.String(), `"kind":"login_failed"`) || !strings.Contains(stderr.String(), "msg=request") {
		t.Errorf("the operational log on stderr mixes in the audit trail, or lacks the access log:\n%s", stderr.String())
	}
	file := filepath.Join(t.TempDir(), "stdout.log")
	os.WriteFile(file, []byte(stdout.String()), 0o600)
	auditVerify(t, data, file)
}

// lockedWriter serialises writes from a process's output copier with reads by the test.
type lockedWriter struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedWriter) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
