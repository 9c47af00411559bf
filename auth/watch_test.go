package auth

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/portcullis/portcullis/internal/reload"
)

// startWatch runs v's watcher until the test ends and returns a channel that receives
// after checks. Once startWatch returns, the directories are watched. Debounce is a
// millisecond and polling is off (an hour) unless pollOnly, so events are what is tested.
func startWatch[T any](t *testing.T, v *reload.Value[T], pollOnly bool) <-chan struct{} {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	checks := make(chan struct{}, 1)
	v.Watch = reload.Watch{Debounce: time.Millisecond, Poll: time.Hour, NoEvents: pollOnly,
		Checked: func(bool, error) {
			select {
			case checks <- struct{}{}:
			default: // one pending signal is enough: the waiter rereads the state
			}
		}}
	if pollOnly {
		v.Watch.Poll = 5 * time.Millisecond
	}
	done := make(chan struct{})
	go func() { v.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	<-checks // the first check runs after the watches are in place
	return checks
}

// waitFor waits, check by check, until cond holds; the deadline only turns a hang into a
// failure.
func waitFor(t *testing.T, checks <-chan struct{}, what string, cond func() bool) {
	t.Helper()
	deadline := time.After(20 * time.Second)
	for !cond() {
		select {
		case <-checks:
		case <-deadline:
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

func TestWatchHtpasswd(t *testing.T) {
	one := bcryptLine(t, "alice", "a", 4)
	two := one + bcryptLine(t, "bob", "b", 4)

	t.Run("rename replace", func(t *testing.T) {
		h, path := newTestHtpasswd(t, one, HtpasswdOptions{})
		checks := startWatch(t, h.file, false)
		replaceFile(t, path, two)
		waitFor(t, checks, "bob after rename", func() bool { return h.users() == 2 })
		if !h.Verify(t.Context(), "bob", "b") {
			t.Fatal("bob does not verify after reload")
		}
	})

	t.Run("write in place", func(t *testing.T) {
		h, path := newTestHtpasswd(t, one, HtpasswdOptions{})
		checks := startWatch(t, h.file, false)
		writeFile(t, filepath.Dir(path), filepath.Base(path), two)
		waitFor(t, checks, "bob after write", func() bool { return h.users() == 2 })
	})

	t.Run("symlink swap", func(t *testing.T) {
		// The layout Kubernetes uses for mounted secrets: htpasswd -> ..data/htpasswd,
		// ..data -> ..v1; an update renames a new ..data link over the old one.
		dir := t.TempDir()
		for v, content := range map[string]string{"..v1": one, "..v2": two} {
			if err := os.Mkdir(filepath.Join(dir, v), 0o700); err != nil {
				t.Fatal(err)
			}
			writeFile(t, filepath.Join(dir, v), "htpasswd", content)
		}
		mustSymlink(t, "..v1", filepath.Join(dir, "..data"))
		path := filepath.Join(dir, "htpasswd")
		mustSymlink(t, filepath.Join("..data", "htpasswd"), path)
		h, err := NewHtpasswd(path, HtpasswdOptions{})
		if err != nil {
			t.Fatal(err)
		}
		checks := startWatch(t, h.file, false)
		mustSymlink(t, "..v2", filepath.Join(dir, "..data_tmp"))
		if err := os.Rename(filepath.Join(dir, "..data_tmp"), filepath.Join(dir, "..data")); err != nil {
			t.Fatal(err)
		}
		waitFor(t, checks, "bob after symlink swap", func() bool { return h.users() == 2 })
	})

	t.Run("broken file keeps last good, fixed file loads", func(t *testing.T) {
		h, path := newTestHtpasswd(t, one, HtpasswdOptions{})
		checks := startWatch(t, h.file, false)
		replaceFile(t, path, two+"broken\n")
		<-checks // the check after the write
		if h.users() != 1 || !h.Verify(t.Context(), "alice", "a") {
			t.Fatal("a broken file changed the users")
		}
		writeFile(t, filepath.Dir(path), "htpasswd", two)
		waitFor(t, checks, "bob after fix", func() bool { return h.users() == 2 })
	})

	t.Run("unchanged content keeps the cache", func(t *testing.T) {
		h, path := newTestHtpasswd(t, one, HtpasswdOptions{})
		checks := startWatch(t, h.file, false)
		gen := h.file.Load().gen
		replaceFile(t, path, one)
		writeFile(t, filepath.Dir(path), "unrelated", "x")
		<-checks
		if got := h.file.Load().gen; got != gen {
			t.Fatalf("generation %d -> %d on a write that changed nothing", gen, got)
		}
	})

	t.Run("polling alone", func(t *testing.T) {
		h, path := newTestHtpasswd(t, one, HtpasswdOptions{})
		checks := startWatch(t, h.file, true)
		writeFile(t, filepath.Dir(path), "htpasswd", two)
		waitFor(t, checks, "bob by polling", func() bool { return h.users() == 2 })
	})
}

func TestWatchGroups(t *testing.T) {
	path := writeFile(t, t.TempDir(), "groups", "admins: alice\n")
	g, err := NewGroups(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	checks := startWatch(t, g.file, false)
	replaceFile(t, path, "admins: alice bob\n")
	waitFor(t, checks, "bob in admins", func() bool { return len(g.For("bob")) == 1 })
}

func TestRunStopsWithContext(t *testing.T) {
	h, _ := newTestHtpasswd(t, bcryptLine(t, "alice", "a", 4), HtpasswdOptions{})
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	h.Run(ctx) // returns: the test would hang otherwise
}

func mustSymlink(t *testing.T, target, link string) {
	t.Helper()
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
}

// replaceFile writes content beside path and renames it over path, as editors and
// configuration tools do, so a check never sees a half-written file.
func replaceFile(t *testing.T, path, content string) {
	t.Helper()
	tmp := writeFile(t, filepath.Dir(path), "."+filepath.Base(path)+".new", content)
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}
