package auth

import (
	"context"
	"log/slog"
	"path/filepath"
	"time"

	"github.com/fsnotify/fsnotify"
)

// Watch timings. Events come in bursts (an editor writes, truncates, renames), so a reload
// waits for the directory to be quiet for debounce; poll catches what events miss (network
// file systems, a symlink target in a directory not watched yet, a watcher that failed).
const (
	defaultDebounce = 100 * time.Millisecond
	defaultPoll     = 10 * time.Second
)

// watcher reloads a fileSource when its file changes.
type watcher struct {
	src      *fileSource
	logger   *slog.Logger
	debounce time.Duration
	poll     time.Duration
	// checked, when set, is called after every check; a test seam to wait without sleeping.
	checked func()
	// pollOnly turns file events off, so tests can prove the polling fallback alone works.
	pollOnly bool
}

func newWatcher(src *fileSource, logger *slog.Logger) *watcher {
	return &watcher{src: src, logger: logger, debounce: defaultDebounce, poll: defaultPoll}
}

// run watches until ctx ends. It watches the file's directory, not the file: a rename or
// symlink swap replaces the inode, and a watch on the old one would go quiet. It also
// watches the directory of the symlink's current target, for targets edited in place.
func (w *watcher) run(ctx context.Context) {
	var events <-chan fsnotify.Event
	var errs <-chan error
	var fw *fsnotify.Watcher
	var err error
	if !w.pollOnly {
		fw, err = fsnotify.NewWatcher()
	}
	if err != nil {
		w.logger.Warn("file events unavailable; polling only", "err", err, "interval", w.poll)
	} else if fw != nil {
		defer fw.Close()
		events, errs = fw.Events, fw.Errors
	}
	watched := make(map[string]bool)
	watchDirs := func() {
		if fw == nil {
			return
		}
		for _, d := range w.dirs() {
			if watched[d] {
				continue
			}
			if err := fw.Add(d); err != nil {
				w.logger.Debug("cannot watch directory; relying on polling", "dir", d, "err", err)
				continue
			}
			watched[d] = true
		}
	}
	watchDirs()
	// The file may have changed between the first load and now.
	w.check()

	ticker := time.NewTicker(w.poll)
	defer ticker.Stop()
	quiet := time.NewTimer(w.debounce)
	quiet.Stop()
	defer quiet.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case _, ok := <-events:
			if !ok {
				events = nil
				continue
			}
			quiet.Reset(w.debounce)
		case err, ok := <-errs:
			if !ok {
				errs = nil
				continue
			}
			w.logger.Warn("file watch error; polling continues", "err", err)
		case <-quiet.C:
			w.check()
			watchDirs()
		case <-ticker.C:
			w.check()
			watchDirs()
		}
	}
}

// check reloads when the content changed, logging the outcome of a failed attempt once.
func (w *watcher) check() {
	attempted, err := w.src.reloadChanged(false)
	if attempted && err != nil {
		w.logger.Warn("reload failed; keeping the last good version", "err", err)
	}
	if w.checked != nil {
		w.checked()
	}
}

// dirs lists the directories to watch: the file's own and its symlink target's.
func (w *watcher) dirs() []string {
	ds := []string{filepath.Dir(w.src.path)}
	if real, err := filepath.EvalSymlinks(w.src.path); err == nil {
		if d := filepath.Dir(real); d != ds[0] {
			ds = append(ds, d)
		}
	}
	return ds
}
