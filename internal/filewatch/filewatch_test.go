package filewatch

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// start runs a watcher over dirs() until the test ends; checks receives after every check.
func start(t *testing.T, o Options) <-chan struct{} {
	t.Helper()
	checks := make(chan struct{}, 1)
	o.Check = func() {
		select {
		case checks <- struct{}{}:
		default:
		}
	}
	o.CheckAtStart = true
	o.Logger = slog.New(slog.DiscardHandler)
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() { Run(ctx, o); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	<-checks // watches are in place
	return checks
}

func waitCheck(t *testing.T, checks <-chan struct{}, what string) {
	t.Helper()
	select {
	case <-checks:
	case <-time.After(20 * time.Second): // a hang guard, not a timing assertion
		t.Fatalf("no check after %s", what)
	}
}

// TestEvents: a write in a watched directory brings a check, with polling off.
func TestEvents(t *testing.T) {
	dir := t.TempDir()
	checks := start(t, Options{Dirs: func() []string { return []string{dir} }, Debounce: time.Millisecond, Poll: time.Hour})
	if err := os.WriteFile(filepath.Join(dir, "f"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	waitCheck(t, checks, "a write")
}

// TestPollOnly: with events off, checks keep coming from the poll.
func TestPollOnly(t *testing.T) {
	checks := start(t, Options{Dirs: func() []string { return nil }, Debounce: time.Hour, Poll: time.Millisecond, NoEvents: true})
	waitCheck(t, checks, "a poll")
	waitCheck(t, checks, "another poll")
}

// TestNewDirectories: a directory Dirs starts listing is watched from the next check on,
// so a write inside it brings a check of its own.
func TestNewDirectories(t *testing.T) {
	root := t.TempDir()
	sub := filepath.Join(root, "sub")
	var mu sync.Mutex
	dirs := []string{root}
	checks := start(t, Options{
		Dirs:     func() []string { mu.Lock(); defer mu.Unlock(); return append([]string(nil), dirs...) },
		Debounce: time.Millisecond,
		Poll:     time.Hour,
	})
	if err := os.Mkdir(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	dirs = append(dirs, sub)
	mu.Unlock()
	waitCheck(t, checks, "mkdir") // sub is watched before this check runs
	if err := os.WriteFile(filepath.Join(sub, "f"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	waitCheck(t, checks, "a write in the new directory")
}

func TestFileDirs(t *testing.T) {
	a, b := t.TempDir(), t.TempDir()
	target := filepath.Join(b, "cert.pem")
	if err := os.WriteFile(target, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(a, "cert.pem")
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
	bReal, _ := filepath.EvalSymlinks(b)
	got := FileDirs(link, filepath.Join(a, "key.pem"), filepath.Join(a, "missing"))
	want := []string{a, bReal}
	if len(got) != len(want) || got[0] != want[0] || got[1] != want[1] {
		t.Fatalf("FileDirs = %v, want %v", got, want)
	}
}

// TestRewritesWithinDebounce: two rewrites closer together than the debounce end with a
// check that sees the second (issue 12: notice rewrites faster than the debounce).
func TestRewritesWithinDebounce(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "f")
	if err := os.WriteFile(file, []byte("0"), 0o644); err != nil {
		t.Fatal(err)
	}
	seen := make(chan string, 16)
	o := Options{Dirs: func() []string { return []string{dir} }, Debounce: 200 * time.Millisecond, Poll: time.Hour,
		CheckAtStart: true, Logger: slog.New(slog.DiscardHandler)}
	o.Check = func() {
		b, _ := os.ReadFile(file)
		seen <- string(b)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() { Run(ctx, o); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	<-seen // watches in place
	for _, v := range []string{"first", "second"} {
		if err := os.WriteFile(file, []byte(v), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.After(20 * time.Second) // a hang guard, not a timing assertion
	for {
		select {
		case got := <-seen:
			if got == "second" {
				return
			}
		case <-deadline:
			t.Fatal("no check saw the second rewrite")
		}
	}
}

// TestRewrittenContinuously: a file rewritten more often than the debounce, without a
// quiet moment, is still checked while the writes go on (at least every MaxDelay), not only
// at the next poll.
func TestRewrittenContinuously(t *testing.T) {
	dir := t.TempDir()
	checks := start(t, Options{Dirs: func() []string { return []string{dir} }, Debounce: time.Second,
		MaxDelay: 2 * time.Second, Poll: time.Hour})
	stop := time.After(30 * time.Second) // a hang guard, not a timing assertion
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for i := 0; ; i++ {
		select {
		case <-checks:
			return // checked while every write came well within the debounce of the last
		case <-stop:
			t.Fatal("no check while the file kept being rewritten")
		case <-tick.C:
			if err := os.WriteFile(filepath.Join(dir, "f"), []byte{byte(i)}, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
}
