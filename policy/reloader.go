package policy

import (
	"context"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/portcullis/portcullis/access"
	"github.com/portcullis/portcullis/internal/filewatch"
	"github.com/portcullis/portcullis/internal/reload"
)

// Reloader serves the policy at a path and swaps in a new Engine when the files change
// (Run) or on demand (Reload, which cmd/gateway calls on SIGHUP). A policy that fails to
// parse, compile or pass its own tests never replaces the one being served: the failure
// is logged with file and line and the last good policy keeps answering.
//
// What is compared between checks is every module and the data file, so an edit anywhere
// in a policy directory reloads it. A broken policy is compiled once per edit, not at
// every poll (see internal/reload); a failure that was not the files' fault waits for the
// next edit or SIGHUP.
type Reloader struct {
	path   string
	logger *slog.Logger
	file   *reload.Value[Engine]
}

// NewReloader loads the policy at path and returns a Reloader serving it. An empty path
// serves the built-in Default policy, and Run then has nothing to watch. The first load
// must succeed: there is no last good policy to fall back on.
func NewReloader(ctx context.Context, path string, logger *slog.Logger) (*Reloader, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	r := &Reloader{path: path, logger: logger}
	c := reload.Config[Engine]{Name: "policy", Parse: r.parse, Loaded: r.loaded, Logger: logger}
	if path != "" {
		c.Paths = []string{path}
		c.List = func() ([]string, error) { return sourceFiles(path) }
		c.Dirs = r.dirs
	}
	var err error
	if r.file, err = reload.New(ctx, c); err != nil {
		return nil, err
	}
	return r, nil
}

// Authorize asks the policy being served.
func (r *Reloader) Authorize(ctx context.Context, in access.Input) (access.Decision, error) {
	return r.file.Load().Authorize(ctx, in)
}

// Engine returns the policy being served.
func (r *Reloader) Engine() *Engine { return r.file.Load() }

// Name is "policy", for the reload log lines.
func (r *Reloader) Name() string { return r.file.Name() }

// Reload reads and compiles the policy again and swaps it in. On failure it keeps the
// current policy, logs the error with its file:line locations, and returns it.
func (r *Reloader) Reload(ctx context.Context) error { return r.file.Reload(ctx) }

// Run watches the policy's files and reloads when they change, until ctx is done. It
// watches the directory holding a policy file and its symlink target's directory, or a
// policy directory and all its subdirectories (a new one is added when its creation
// triggers a check). Events are debounced, a check whose files hash the same as the last
// attempt is skipped, and it also polls: an edit in place of a symlink's target, or a
// file system without events, is still seen.
func (r *Reloader) Run(ctx context.Context) { r.file.Run(ctx) }

// OnReport has f told of every reload attempt (see reload.Value.OnReport).
func (r *Reloader) OnReport(f func(reload.Report)) { r.file.OnReport(f) }

func (r *Reloader) parse(ctx context.Context, files []reload.File) (*Engine, error) {
	if r.path == "" {
		return Default(ctx)
	}
	src, err := buildSource(r.path, files)
	if err != nil {
		return nil, err
	}
	e, err := Compile(ctx, src)
	if err != nil {
		return nil, fmt.Errorf("loading policy %s: %w", r.path, err)
	}
	return e, nil
}

func (r *Reloader) loaded(old, e *Engine) {
	if r.path == "" {
		return
	}
	msg := "policy reloaded"
	if old == nil {
		msg = "policy loaded"
	}
	r.logger.Info(msg, "path", r.path, "modules", e.Modules(), "tests_passed", e.TestsPassed())
}

// dirs lists what to watch: a policy file's directory and its symlink target's (an edit
// of /etc/portcullis/policy.rego -> elsewhere happens in the target's directory), or every
// directory of a policy tree.
func (r *Reloader) dirs() []string {
	st, err := os.Stat(r.path)
	if err != nil || !st.IsDir() {
		return filewatch.FileDirs(r.path)
	}
	var ds []string
	_ = filepath.WalkDir(r.path, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.IsDir() {
			ds = append(ds, p)
		}
		return nil
	})
	return ds
}
