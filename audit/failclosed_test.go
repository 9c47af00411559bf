package audit

import (
	"context"
	"errors"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/portcullis/portcullis/access"
	"github.com/portcullis/portcullis/gateway"
)

// smallDisk mounts a 64 KiB tmpfs for the test (root only; under CI, which runs as root,
// failing to mount fails the test).
func smallDisk(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", dir).CombinedOutput(); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("mounting a tmpfs: %v: %s", err, out)
		}
		t.Skipf("cannot mount a tmpfs (needs root): %v: %s", err, out)
	}
	t.Cleanup(func() { exec.Command("umount", "-l", dir).Run() })
	return dir
}

// fill writes a file until the file system is full and returns it.
func fill(t *testing.T, dir string) string {
	t.Helper()
	name := filepath.Join(dir, "filler")
	f, err := os.Create(name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	buf := make([]byte, 512)
	for {
		if _, err := f.Write(buf); err != nil {
			return name
		}
	}
}

func forwarded(method string, kind gateway.Kind, status int) gateway.Record {
	return gateway.Record{ID: "r", Start: time.Unix(0, 0), Method: method, Path: "/v2/team/app/x",
		Route: gateway.Route{Kind: kind, Name: "team/app", Reference: "v1"}, Outcome: gateway.OutcomeForwarded, Status: status,
		Principal: access.Principal{Name: "alice", Method: access.MethodBasic}, Decided: true}
}

// observe calls Observe and reports whether it aborted the response.
func observe(tr *Trail, rec gateway.Record) (aborted bool) {
	defer func() {
		if p := recover(); p != nil {
			err, ok := p.(error)
			aborted = ok && errors.Is(err, http.ErrAbortHandler)
			if !aborted {
				panic(p)
			}
		}
	}()
	tr.Observe(context.Background(), rec)
	return false
}

// TestFailClosed: on a full disk, a closed trail aborts the answer to a push whose record
// it could not write, and refuses writes (Ready) while reads and refusals go on; an open
// trail never does either. When space is back both write again, the aborted push's record
// included, without a restart.
func TestFailClosed(t *testing.T) {
	disk := smallDisk(t)
	mk := func(name string, closed bool) (*Trail, Config) {
		return newTrail(t, func(c *Config) {
			c.File, c.FailClosed, c.SyncInterval = filepath.Join(disk, name), closed, 10*time.Millisecond
		})
	}
	closedTr, closedCfg := mk("closed.log", true)
	openTr, _ := mk("open.log", false)
	if closedTr.Ready() != nil || openTr.Ready() != nil {
		t.Fatal("not ready before the disk filled")
	}
	filler := fill(t, disk)
	// The log's last page may still have room: write denials until a write fails.
	for _, tr := range []*Trail{closedTr, openTr} {
		for i := 0; tr.Healthy() == nil; i++ {
			if i > 1000 {
				t.Fatal("the full disk takes every record")
			}
			tr.Emit(t.Context(), Event{Kind: KindDenied, User: "filler"})
			tr.mu.Lock()
			seq := tr.head.Seq
			tr.mu.Unlock()
			tr.file.sync(seq)
		}
	}

	if !observe(closedTr, forwarded("PUT", gateway.KindManifest, 201)) {
		t.Error("closed: a push whose record could not be written was acknowledged")
	}
	err := closedTr.Ready()
	if err == nil || !strings.Contains(err.Error(), "audit log cannot be written") || !strings.Contains(err.Error(), "no space left") {
		t.Errorf("closed: Ready = %v, want the reason writes are refused", err)
	}
	for _, rec := range []gateway.Record{
		forwarded("GET", gateway.KindManifest, 200), // a pull
		forwarded("PUT", gateway.KindManifest, 500), // a push the backend failed: not acknowledged anyway
		{Start: time.Unix(0, 0), Method: "GET", Outcome: gateway.OutcomeDenied, Status: 403, Route: gateway.Route{Kind: gateway.KindManifest, Name: "x"}},
	} {
		if observe(closedTr, rec) {
			t.Errorf("closed: aborted %s %d", rec.Method, rec.Status)
		}
	}
	if observe(openTr, forwarded("PUT", gateway.KindManifest, 201)) || openTr.Ready() != nil {
		t.Error("open: a full disk held up a write")
	}
	if openTr.Healthy() == nil {
		t.Error("open: Healthy does not report the full disk")
	}

	os.Remove(filler)
	deadline := time.Now().Add(30 * time.Second)
	for closedTr.Ready() != nil || openTr.Healthy() != nil {
		if time.Now().After(deadline) {
			t.Fatal("still failing 30s after space was freed")
		}
		time.Sleep(10 * time.Millisecond) // the trail retries on its interval
	}
	if observe(closedTr, forwarded("PUT", gateway.KindManifest, 201)) {
		t.Error("closed: aborted a push after space was freed")
	}
	for !strings.Contains(readFileString(t, closedCfg.File), `"reason":"recovered"`) {
		if time.Now().After(deadline) {
			t.Fatal("no recovered checkpoint")
		}
		time.Sleep(10 * time.Millisecond) // written by the trail's own goroutine
	}
	closedTr.Close(t.Context())
	rep, err := Verify([]string{closedCfg.File}, publicKey(t, closedCfg))
	if err != nil || !rep.OK() {
		t.Fatalf("%v %v", rep.Problem, err)
	}
	var pushes, recovered int
	Query([]string{closedCfg.File}, Filter{Action: "checkpoint"}, func(l Line, _ []byte) error {
		if l.Reason == "recovered" {
			recovered++
		}
		return nil
	})
	Query([]string{closedCfg.File}, Filter{Action: "push"}, func(l Line, _ []byte) error { pushes++; return nil })
	if pushes != 3 || recovered != 1 {
		t.Errorf("%d push records (want 3: the aborted one is kept and written later), %d recovered checkpoints", pushes, recovered)
	}
}

func readFileString(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
