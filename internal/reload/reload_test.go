package reload

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/portcullis/portcullis/internal/testenv"
)

// text is a value parsed from files: their contents joined; a file holding "broken"
// does not parse.
type text struct{ s string }

// fixture is a Value over one file in a fresh directory, counting parses and logging
// into a buffer.
type fixture struct {
	dir, path string
	v         *Value[text]
	parses    int
	loaded    []string // "old->cur" for every publication
	logs      *testenv.SyncBuffer
}

func newFixture(t *testing.T, content string) *fixture {
	t.Helper()
	fx := &fixture{dir: t.TempDir(), logs: &testenv.SyncBuffer{}}
	fx.path = filepath.Join(fx.dir, "file")
	fx.write(t, content)
	v, err := New(t.Context(), Config[text]{
		Name:   "thing",
		Paths:  []string{fx.path},
		Parse:  fx.parse,
		Loaded: fx.load,
		Logger: slog.New(slog.NewTextHandler(fx.logs, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	fx.v = v
	return fx
}

func (fx *fixture) parse(_ context.Context, files []File) (*text, error) {
	fx.parses++
	var b strings.Builder
	for _, f := range files {
		if string(f.Data) == "broken" {
			return nil, errors.New(f.Path + " is broken")
		}
		b.Write(f.Data)
	}
	return &text{b.String()}, nil
}

func (fx *fixture) load(old, cur *text) {
	o := "nil"
	if old != nil {
		o = old.s
	}
	fx.loaded = append(fx.loaded, o+"->"+cur.s)
}

func (fx *fixture) write(t *testing.T, content string) {
	t.Helper()
	if err := os.WriteFile(fx.path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func (fx *fixture) failures() int {
	return strings.Count(fx.logs.String(), "keeping the last good version")
}

// TestCheck walks one Value through the cases a watcher meets, step by step: what each
// check attempts, what is served after it, how many parses and failure lines it cost.
func TestCheck(t *testing.T) {
	fx := newFixture(t, "one")
	if fx.v.Load().s != "one" || fx.v.Name() != "thing" || len(fx.loaded) != 1 || fx.loaded[0] != "nil->one" {
		t.Fatalf("first load: %q, loaded %v", fx.v.Load().s, fx.loaded)
	}
	steps := []struct {
		name          string
		change        func(t *testing.T)
		force         bool
		wantAttempted bool
		wantErr       bool
		wantServed    string
		wantParses    int // cumulative, the first load included
		wantFailures  int // cumulative failure log lines
	}{
		{"unchanged", nil, false, false, false, "one", 1, 0},
		{"touched", func(t *testing.T) {
			now := time.Now().Add(time.Minute)
			if err := os.Chtimes(fx.path, now, now); err != nil {
				t.Fatal(err)
			}
		}, false, false, false, "one", 1, 0},
		{"another file in the directory", func(t *testing.T) {
			if err := os.WriteFile(filepath.Join(fx.dir, "other"), []byte("x"), 0o644); err != nil {
				t.Fatal(err)
			}
		}, false, false, false, "one", 1, 0},
		{"changed", func(t *testing.T) { fx.write(t, "two") }, false, true, false, "two", 2, 0},
		{"broken keeps the last good", func(t *testing.T) { fx.write(t, "broken") }, false, true, true, "two", 3, 1},
		{"broken again is not parsed nor logged again", nil, false, false, false, "two", 3, 1},
		{"forced on broken tries and logs", nil, true, true, true, "two", 4, 2},
		{"missing keeps the last good", func(t *testing.T) {
			if err := os.Remove(fx.path); err != nil {
				t.Fatal(err)
			}
		}, false, true, true, "two", 4, 3},
		{"still missing is logged once", nil, false, false, false, "two", 4, 3},
		{"fixed", func(t *testing.T) { fx.write(t, "three") }, false, true, false, "three", 5, 3},
		{"forced on unchanged parses again", nil, true, true, false, "three", 6, 3},
	}
	for _, s := range steps {
		if s.change != nil {
			s.change(t)
		}
		var attempted bool
		var err error
		if s.force {
			attempted, err = true, fx.v.Reload(t.Context())
		} else {
			attempted, err = fx.v.Check(t.Context())
		}
		if attempted != s.wantAttempted || (err != nil) != s.wantErr {
			t.Fatalf("%s: attempted %v, err %v; want %v, error %v", s.name, attempted, err, s.wantAttempted, s.wantErr)
		}
		if got := fx.v.Load().s; got != s.wantServed {
			t.Fatalf("%s: serving %q, want %q", s.name, got, s.wantServed)
		}
		if fx.parses != s.wantParses || fx.failures() != s.wantFailures {
			t.Fatalf("%s: %d parses, %d failure lines; want %d, %d\nlog:\n%s", s.name, fx.parses, fx.failures(), s.wantParses, s.wantFailures, fx.logs)
		}
	}
	if want := []string{"nil->one", "one->two", "two->three", "three->three"}; strings.Join(fx.loaded, " ") != strings.Join(want, " ") {
		t.Errorf("Loaded calls %v, want %v", fx.loaded, want)
	}
	if log := fx.logs.String(); !strings.Contains(log, "what=thing") || !strings.Contains(log, "path="+fx.path) || !strings.Contains(log, "is broken") {
		t.Errorf("failure lines do not say what, where and why:\n%s", log)
	}
}

func TestNew(t *testing.T) {
	dir := t.TempDir()
	broken := filepath.Join(dir, "broken")
	if err := os.WriteFile(broken, []byte("broken"), 0o644); err != nil {
		t.Fatal(err)
	}
	parse := func(_ context.Context, files []File) (*text, error) {
		if len(files) > 0 && string(files[0].Data) == "broken" {
			return nil, errors.New("broken")
		}
		return &text{}, nil
	}
	tests := []struct {
		name string
		cfg  Config[text]
		is   error
	}{
		{"missing file", Config[text]{Name: "x", Paths: []string{filepath.Join(dir, "missing")}, Parse: parse}, fs.ErrNotExist},
		{"broken file", Config[text]{Name: "x", Paths: []string{broken}, Parse: parse}, nil},
		{"no name", Config[text]{Paths: []string{broken}, Parse: parse}, nil},
		{"nil value", Config[text]{Name: "x", Parse: func(context.Context, []File) (*text, error) { return nil, nil }}, nil},
		{"listing fails", Config[text]{Name: "x", List: func() ([]string, error) { return nil, fs.ErrPermission }, Parse: parse}, fs.ErrPermission},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(t.Context(), tt.cfg)
			if err == nil || (tt.is != nil && !errors.Is(err, tt.is)) {
				t.Fatalf("New = %v, want an error (is %v)", err, tt.is)
			}
		})
	}
	t.Run("no files", func(t *testing.T) {
		v, err := New(t.Context(), Config[text]{Name: "x", Parse: parse})
		if err != nil || v.Load() == nil {
			t.Fatalf("New = %v", err)
		}
		if attempted, err := v.Check(t.Context()); attempted || err != nil {
			t.Fatalf("Check of nothing = %v, %v", attempted, err)
		}
	})
}

// TestList: with List, a file that appears in the listing is a change, and the files
// reach Parse in the listing's order.
func TestList(t *testing.T) {
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a"), filepath.Join(dir, "b")
	for _, p := range []string{a, b} {
		if err := os.WriteFile(p, []byte(filepath.Base(p)), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	listed := []string{a}
	fx := &fixture{logs: &testenv.SyncBuffer{}}
	v, err := New(t.Context(), Config[text]{Name: "x", List: func() ([]string, error) { return listed, nil }, Parse: fx.parse})
	if err != nil {
		t.Fatal(err)
	}
	listed = []string{b, a}
	if attempted, err := v.Check(t.Context()); !attempted || err != nil || v.Load().s != "ba" {
		t.Fatalf("Check after a new file: %v, %v, serving %q", attempted, err, v.Load().s)
	}
}

// TestRun drives Run through file events and through polling alone, waiting on the
// Checked seam (no sleeps).
func TestRun(t *testing.T) {
	for _, mode := range []string{"events", "poll"} {
		t.Run(mode, func(t *testing.T) {
			fx := newFixture(t, "one")
			checks := make(chan error, 1)
			fx.v.Watch = Watch{Debounce: time.Millisecond, Poll: time.Hour, Checked: func(attempted bool, err error) {
				if attempted {
					checks <- err
				}
			}}
			if mode == "poll" {
				fx.v.Watch.NoEvents, fx.v.Watch.Poll = true, 5*time.Millisecond
			}
			ctx, cancel := context.WithCancel(t.Context())
			done := make(chan struct{})
			go func() { fx.v.Run(ctx); close(done) }()
			t.Cleanup(func() { cancel(); <-done })
			wait := func(what string) error {
				t.Helper()
				select {
				case err := <-checks:
					return err
				case <-time.After(20 * time.Second): // a hang guard, not a timing assertion
					t.Fatalf("no reload after %s", what)
					return nil
				}
			}
			// Rename over the file, as editors and `gateway passwd` do.
			replace := func(content string) {
				tmp := filepath.Join(fx.dir, ".file.new")
				if err := os.WriteFile(tmp, []byte(content), 0o644); err != nil {
					t.Fatal(err)
				}
				if err := os.Rename(tmp, fx.path); err != nil {
					t.Fatal(err)
				}
			}
			replace("two")
			for wait("a rename") != nil || fx.v.Load().s != "two" {
			}
			replace("broken")
			if err := wait("a broken file"); err == nil {
				t.Fatal("a broken file loaded")
			}
			replace("three")
			for wait("the fix") != nil || fx.v.Load().s != "three" {
			}
		})
	}
}

// TestOnReport: every attempt after the first load is reported, with the files' SHA-256
// and the error; unchanged checks are not.
func TestOnReport(t *testing.T) {
	fx := newFixture(t, "one")
	var got []string
	fx.v.OnReport(func(r Report) {
		s := r.Name
		for _, f := range r.Files {
			s += fmt.Sprintf(" %s=%x", filepath.Base(f.Path), f.SHA256[:4])
		}
		if r.Err != nil {
			s += " error"
		}
		got = append(got, s)
	})
	fx.v.Check(t.Context()) // unchanged: no report
	fx.write(t, "two")
	fx.v.Check(t.Context())
	fx.write(t, "broken")
	fx.v.Check(t.Context())
	os.Remove(fx.path)
	fx.v.Reload(t.Context())
	sum := func(s string) string { h := sha256.Sum256([]byte(s)); return fmt.Sprintf("%x", h[:4]) }
	want := []string{"thing file=" + sum("two"), "thing file=" + sum("broken") + " error", "thing file=00000000 error"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("reports %q, want %q", got, want)
	}
	fx.v.OnReport(nil)
	fx.write(t, "three")
	fx.v.Check(t.Context())
	if len(got) != 3 {
		t.Errorf("reported after OnReport(nil): %q", got)
	}
}
