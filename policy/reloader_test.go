package policy

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/portcullis/portcullis/access"
	"github.com/portcullis/portcullis/internal/reload"
	"github.com/portcullis/portcullis/internal/testenv"
)

// policyFor grants pull on one repository, so each version of the file is observable.
func policyFor(name string) string {
	return "package portcullis.authz\n\ngranted contains {\"type\": \"repository\", \"name\": \"" + name +
		"\", \"actions\": [\"pull\"]}\n"
}

const brokenPolicy = "package portcullis.authz\n\ngranted contains x if {\n\tx :=\n}\n"

func writeFile(t *testing.T, path, text string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}

// syncBuffer collects log output written from server goroutines.
type syncBuffer = testenv.SyncBuffer

func allowsPull(t *testing.T, a authorizer, name string) bool {
	t.Helper()
	d, err := a.Authorize(t.Context(), access.Input{Principal: access.Anonymous(), Access: []access.Resource{repo(name, "pull")}})
	if err != nil {
		t.Fatal(err)
	}
	return d.Allows(repo(name, "pull"))
}

func TestReloaderKeepsLastGood(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "policy.rego")
	writeFile(t, file, policyFor("one"))
	var logs syncBuffer
	r, err := NewReloader(t.Context(), file, slog.New(slog.NewTextHandler(&logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	if !allowsPull(t, r, "one") {
		t.Fatal("first policy not served")
	}

	writeFile(t, file, brokenPolicy)
	err = r.Reload(t.Context())
	if err == nil {
		t.Fatal("Reload of a broken policy succeeded")
	}
	if !strings.Contains(err.Error(), "policy.rego:5") {
		t.Errorf("error %q lacks file:line", err)
	}
	if !strings.Contains(logs.String(), "policy.rego:5") || !strings.Contains(logs.String(), "keeping the last good version") {
		t.Errorf("log lacks the failure with file:line:\n%s", logs.String())
	}
	if !allowsPull(t, r, "one") {
		t.Error("broken reload replaced the last good policy")
	}

	writeFile(t, file, policyFor("two"))
	if err := r.Reload(t.Context()); err != nil {
		t.Fatal(err)
	}
	if allowsPull(t, r, "one") || !allowsPull(t, r, "two") {
		t.Error("fixed policy not swapped in")
	}

	if err := os.Remove(file); err != nil {
		t.Fatal(err)
	}
	if err := r.Reload(t.Context()); err == nil || !allowsPull(t, r, "two") {
		t.Errorf("removed file: Reload err=%v; last good must stay", err)
	}
}

func TestNewReloader(t *testing.T) {
	logger := slog.New(slog.DiscardHandler)
	if _, err := NewReloader(t.Context(), filepath.Join(t.TempDir(), "missing.rego"), logger); err == nil {
		t.Error("missing file: want an error")
	}
	broken := filepath.Join(t.TempDir(), "p.rego")
	writeFile(t, broken, brokenPolicy)
	if _, err := NewReloader(t.Context(), broken, logger); err == nil {
		t.Error("broken first policy: want an error")
	}
	r, err := NewReloader(t.Context(), "", logger)
	if err != nil {
		t.Fatal(err)
	}
	if r.Engine().Modules()[0] != DefaultName || r.Reload(t.Context()) != nil {
		t.Error("empty path must serve the default policy")
	}
}

// TestReloaderRun drives the watcher through file events: each step writes files and
// waits for the reload attempt it causes (no sleeps), then checks what is served.
func TestReloaderRun(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "policy.rego"), "package portcullis.authz\n\ngranted contains {\"type\": \"repository\", \"name\": data.repo, \"actions\": [\"pull\"]}\n")
	writeFile(t, filepath.Join(dir, "data.json"), `{"repo": "one"}`)
	var logs syncBuffer
	r, err := NewReloader(t.Context(), dir, slog.New(slog.NewTextHandler(&logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	attempts := make(chan error, 16)
	r.file.Watch = reload.Watch{Debounce: 10 * time.Millisecond, Checked: func(attempted bool, err error) {
		if attempted {
			attempts <- err
		}
	}}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() { r.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()

	wait := func(step string) error {
		t.Helper()
		select {
		case err := <-attempts:
			return err
		case <-time.After(30 * time.Second): // a deadline for a hung watcher, not a sleep
			t.Fatalf("%s: no reload", step)
			return nil
		}
	}
	// Run may not have added its watches yet; rewrite until the first event lands. Its
	// first check may also read the file half-written (os.WriteFile truncates first):
	// that attempt fails and the next write's succeeds.
	for i := 0; ; i++ {
		writeFile(t, filepath.Join(dir, "data.json"), `{"repo": "two"}`)
		select {
		case err := <-attempts:
			if err != nil && i < 200 {
				continue
			} else if err != nil {
				t.Fatal(err)
			}
		case <-time.After(50 * time.Millisecond):
			if i < 200 {
				continue
			}
			t.Fatal("watcher never reported")
		}
		break
	}
	if !allowsPull(t, r, "two") {
		t.Fatal("data change not picked up")
	}

	writeFile(t, filepath.Join(dir, "policy.rego"), brokenPolicy)
	if err := wait("broken"); err == nil {
		t.Fatal("broken policy reload reported success")
	}
	if !allowsPull(t, r, "two") {
		t.Fatal("broken policy replaced the last good one")
	}

	// Moving the grant into a new subdirectory: the first attempt sees no granted rule and
	// is refused; the write into the new subdirectory, whose watch Run adds on creation,
	// completes the policy.
	writeFile(t, filepath.Join(dir, "policy.rego"), "package portcullis.other\n")
	for err := wait("unbroken"); err != nil || !allowsPull(t, r, "none"); err = wait("sub") {
		if err := os.MkdirAll(filepath.Join(dir, "sub"), 0o755); err != nil {
			t.Fatal(err)
		}
		writeFile(t, filepath.Join(dir, "sub", "p.rego"), policyFor("none"))
	}
	if allowsPull(t, r, "two") {
		t.Error("old grant still served")
	}
	if !strings.Contains(logs.String(), "policy.rego:5") {
		t.Errorf("log lacks the broken file's location:\n%s", logs.String())
	}
}

func TestReloaderRefusesPolicyFailingItsTests(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "p.rego"), policyFor("one"))
	const test = "package portcullis.authz_test\n\nimport data.portcullis.authz\n\ntest_one if count(authz.granted) == 1\n"
	writeFile(t, filepath.Join(dir, "p_test.rego"), test)
	var logs syncBuffer
	r, err := NewReloader(t.Context(), dir, slog.New(slog.NewJSONHandler(&logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	// A change that compiles but breaks the policy's own test (two grants, not one).
	writeFile(t, filepath.Join(dir, "p.rego"), policyFor("one")+"\ngranted contains {\"type\": \"repository\", \"name\": \"two\", \"actions\": [\"pull\"]}\n")
	err = r.Reload(t.Context())
	if err == nil || !strings.Contains(err.Error(), "p_test.rego:5") {
		t.Fatalf("Reload = %v, want the failing test's file:line", err)
	}
	if !allowsPull(t, r, "one") || allowsPull(t, r, "two") {
		t.Error("a policy failing its tests was swapped in")
	}
	if !strings.Contains(logs.String(), `p_test.rego:5: data.portcullis.authz_test.test_one failed`) {
		t.Errorf("log lacks the failing test:\n%s", logs.String())
	}
}

// TestReloaderWatchModes covers a single policy file replaced by rename, as editors and
// config-map updates do, under both file notifications and the polling fallback.
func TestReloaderWatchModes(t *testing.T) {
	for _, mode := range []string{"notify", "poll"} {
		t.Run(mode, func(t *testing.T) {
			dir := t.TempDir()
			file := filepath.Join(dir, "policy.rego")
			writeFile(t, file, policyFor("one"))
			r, err := NewReloader(t.Context(), file, slog.New(slog.DiscardHandler))
			if err != nil {
				t.Fatal(err)
			}
			attempts := make(chan error, 64)
			r.file.Watch = reload.Watch{Debounce: 5 * time.Millisecond, Poll: 5 * time.Millisecond, NoEvents: mode == "poll",
				Checked: func(attempted bool, err error) {
					select {
					case attempts <- err:
					default:
					}
				}}
			ctx, cancel := context.WithCancel(t.Context())
			done := make(chan struct{})
			go func() { r.Run(ctx); close(done) }()
			defer func() { cancel(); <-done }()

			deadline := time.After(30 * time.Second)
			for i := 0; !allowsPull(t, r, "two"); i++ {
				tmp := filepath.Join(dir, ".policy.rego.tmp")
				writeFile(t, tmp, policyFor("two"))
				if err := os.Rename(tmp, file); err != nil {
					t.Fatal(err)
				}
				select {
				case <-attempts:
				case <-time.After(50 * time.Millisecond): // Run may still be adding its watch
				case <-deadline:
					t.Fatal("the renamed file was never reloaded")
				}
			}
			if allowsPull(t, r, "one") {
				t.Error("old policy still served")
			}
		})
	}
}
