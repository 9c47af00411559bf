// Package filewatch calls a check function when watched files may have changed: after a
// burst of file-system events in their directories has gone quiet, and on a fixed poll
// interval whatever the events say. It owns only the when: what the files hold, whether
// they really changed, and what a failed reload keeps, belong to the caller's check.
//
// It watches directories, not files: certbot, editors and Kubernetes config maps replace a
// file by renaming or by swapping a symlink, which a watch on the old file never reports.
// Polling covers file systems without events (NFS, some container mounts), changes events
// miss, and a watcher that could not start.
package filewatch

import (
	"context"
	"log/slog"
	"path/filepath"
	"time"

	"github.com/fsnotify/fsnotify"
)

// Options configure Run.
type Options struct {
	// What names the watched files in log lines ("htpasswd", "TLS certificate", "policy").
	What string
	// Dirs lists the directories to watch. Run calls it at the start and again before
	// every check, so directories that appear later (a symlink's new target, a new policy
	// subdirectory) are watched from then on.
	Dirs func() []string
	// Check is called once events have been quiet for Debounce, every Poll, and at least
	// every MaxDelay while events keep coming (a file rewritten faster than Debounce).
	Check func()
	// CheckAtStart also calls Check once the watches are in place, for a file that may
	// have changed between the caller's first load and the start of Run.
	CheckAtStart bool
	// Debounce and Poll must be positive.
	Debounce, Poll time.Duration
	// MaxDelay bounds how long a burst of events may postpone a check; 0 means 10 times
	// Debounce. Without it a file rewritten more often than Debounce (a loop writing it, a
	// sync tool) would be checked only at the next poll.
	MaxDelay time.Duration
	// NoEvents turns file events off, leaving polling alone (tests of the fallback).
	NoEvents bool
	Logger   *slog.Logger
}

// Run watches until ctx is done.
func Run(ctx context.Context, o Options) {
	var events <-chan fsnotify.Event
	var errs <-chan error
	var fw *fsnotify.Watcher
	if !o.NoEvents {
		var err error
		if fw, err = fsnotify.NewWatcher(); err != nil {
			o.Logger.Warn("file events unavailable; polling only", "files", o.What, "err", err, "every", o.Poll)
			fw = nil
		} else {
			defer fw.Close()
			events, errs = fw.Events, fw.Errors
		}
	}
	watched := make(map[string]bool)
	watchDirs := func() {
		if fw == nil {
			return
		}
		for _, d := range o.Dirs() {
			if watched[d] {
				continue
			}
			if err := fw.Add(d); err != nil {
				o.Logger.Debug("cannot watch directory; relying on polling", "files", o.What, "dir", d, "err", err)
				continue
			}
			watched[d] = true
		}
	}
	check := func() {
		watchDirs() // first, so nothing written after the check goes unseen
		o.Check()
	}
	watchDirs()
	if o.CheckAtStart {
		o.Check()
	}

	maxDelay := o.MaxDelay
	if maxDelay <= 0 {
		maxDelay = 10 * o.Debounce
	}
	poll := time.NewTicker(o.Poll)
	defer poll.Stop()
	quiet := time.NewTimer(o.Debounce)
	quiet.Stop()
	defer quiet.Stop()
	var burst time.Time // when the events not yet checked began; zero when there are none
	for {
		select {
		case <-ctx.Done():
			return
		case ev, ok := <-events:
			if !ok {
				events = nil
				continue
			}
			if ev.Op == fsnotify.Chmod {
				continue // permissions only: the content is the same
			}
			now := time.Now()
			if burst.IsZero() {
				burst = now
			}
			if now.Sub(burst) >= maxDelay {
				burst = time.Time{}
				quiet.Stop()
				check()
				continue
			}
			quiet.Reset(o.Debounce)
		case err, ok := <-errs:
			if !ok {
				errs = nil
				continue
			}
			o.Logger.Warn("file watch error; polling continues", "files", o.What, "err", err)
		case <-quiet.C:
			burst = time.Time{}
			check()
		case <-poll.C:
			check()
		}
	}
}

// FileDirs lists the directories to watch for files: each one's own directory and, when
// it is a symlink, its target's (an edit in place of the target happens there), without
// repeats.
func FileDirs(paths ...string) []string {
	var dirs []string
	seen := map[string]bool{}
	add := func(d string) {
		if !seen[d] {
			seen[d] = true
			dirs = append(dirs, d)
		}
	}
	for _, p := range paths {
		add(filepath.Dir(p))
		if real, err := filepath.EvalSymlinks(p); err == nil {
			add(filepath.Dir(real))
		}
	}
	return dirs
}
