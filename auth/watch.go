package auth

import (
	"context"
	"log/slog"
	"path/filepath"
	"time"

	"github.com/portcullis/portcullis/internal/filewatch"
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

// run watches until ctx ends: the file's directory and its symlink target's, with a check
// once the watches are in place (the file may have changed since the first load).
func (w *watcher) run(ctx context.Context) {
	filewatch.Run(ctx, filewatch.Options{
		What:         filepath.Base(w.src.path),
		Dirs:         func() []string { return filewatch.FileDirs(w.src.path) },
		Check:        w.check,
		CheckAtStart: true,
		Debounce:     w.debounce,
		Poll:         w.poll,
		NoEvents:     w.pollOnly,
		Logger:       w.logger,
	})
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
