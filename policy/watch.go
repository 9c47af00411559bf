package policy

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/portcullis/portcullis/internal/filewatch"
)

// Run watches the policy's files and reloads when they change, until ctx is done. It
// watches the directory holding a policy file and its symlink target's directory, or a
// policy directory and all its subdirectories (a new one is added when its creation
// triggers a reload). Events are debounced, a reload whose files hash the same as the last
// attempt is skipped, and it also polls every r.poll: an edit in place of a symlink's
// target, or a file system without events, is still seen.
func (r *Reloader) Run(ctx context.Context) {
	if r.path == "" {
		<-ctx.Done()
		return
	}
	filewatch.Run(ctx, filewatch.Options{
		What:     "policy",
		Dirs:     r.dirs,
		Check:    func() { r.attempt(ctx) },
		Debounce: r.debounce,
		Poll:     r.poll,
		NoEvents: r.noEvents,
		Logger:   r.logger,
	})
}

func (r *Reloader) attempt(ctx context.Context) {
	err := r.reload(ctx, true)
	if r.onReload != nil {
		r.onReload(err)
	}
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
