package policy

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/fsnotify/fsnotify"
)

// Run watches the policy's files and reloads when they change, until ctx is done. It
// watches the directory holding a policy file (editors and Kubernetes config maps replace
// files by renaming, which a watch on the file itself would lose), or a policy directory
// and its subdirectories. Events are debounced, and a reload whose files hash the same as
// the last attempt is skipped. It also polls every r.poll, notifications or not: an edit
// in place of a symlink's target, or a file system without events, is still seen.
func (r *Reloader) Run(ctx context.Context) {
	if r.path == "" {
		<-ctx.Done()
		return
	}
	w, err := fsnotify.NewWatcher()
	if err == nil {
		err = r.watchDirs(w)
		if err != nil {
			w.Close()
		}
	}
	if err != nil {
		r.logger.Warn("policy file notifications unavailable; polling", "path", r.path, "interval", r.poll, "error", err)
		r.runPoll(ctx)
		return
	}
	defer w.Close()

	timer := time.NewTimer(r.debounce)
	timer.Stop()
	defer timer.Stop()
	poll := time.NewTicker(r.poll)
	defer poll.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-poll.C:
			r.attempt(ctx)
		case ev, ok := <-w.Events:
			if !ok {
				return
			}
			if ev.Has(fsnotify.Create) {
				if st, err := os.Stat(ev.Name); err == nil && st.IsDir() {
					_ = r.addTree(w, ev.Name) // a new subdirectory of a policy directory
				}
			}
			timer.Reset(r.debounce)
		case err, ok := <-w.Errors:
			if !ok {
				return
			}
			r.logger.Warn("policy file watch error", "path", r.path, "error", err)
		case <-timer.C:
			r.attempt(ctx)
		}
	}
}

func (r *Reloader) runPoll(ctx context.Context) {
	t := time.NewTicker(r.poll)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			r.attempt(ctx)
		}
	}
}

func (r *Reloader) attempt(ctx context.Context) {
	err := r.reload(ctx, true)
	if r.onReload != nil {
		r.onReload(err)
	}
}

func (r *Reloader) watchDirs(w *fsnotify.Watcher) error {
	st, err := os.Stat(r.path)
	if err != nil {
		return err
	}
	if !st.IsDir() {
		// A symlinked policy file (/etc/portcullis/policy.rego -> elsewhere) changes in
		// its target's directory, so watch that too.
		if real, err := filepath.EvalSymlinks(r.path); err == nil && filepath.Dir(real) != filepath.Dir(r.path) {
			if err := w.Add(filepath.Dir(real)); err != nil {
				return err
			}
		}
		return w.Add(filepath.Dir(r.path))
	}
	return r.addTree(w, r.path)
}

func (r *Reloader) addTree(w *fsnotify.Watcher, root string) error {
	return filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.IsDir() {
			return err
		}
		return w.Add(p)
	})
}
