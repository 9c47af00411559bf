package certs

import (
	"context"
	"path/filepath"
	"time"

	"github.com/fsnotify/fsnotify"
)

// Run watches the certificate and key until ctx is done, reloading them when they change,
// and returns nil. It watches the files' directories rather than the files, because certbot
// and Kubernetes replace files by renaming or swapping a symlink, which a watch on the old
// file never reports; a periodic check covers file systems without change events.
func (f *Files) Run(ctx context.Context) error {
	var events <-chan fsnotify.Event
	var watchErrs <-chan error
	if !f.noWatch {
		w, err := fsnotify.NewWatcher()
		if err != nil {
			f.logger.Warn("cannot watch TLS certificate files; checking periodically instead", "err", err, "every", f.pollEvery)
		} else {
			defer w.Close()
			for _, dir := range uniqueDirs(f.certFile, f.keyFile) {
				if err := w.Add(dir); err != nil {
					f.logger.Warn("cannot watch TLS certificate directory; checking periodically instead", "dir", dir, "err", err, "every", f.pollEvery)
				}
			}
			events, watchErrs = w.Events, w.Errors
		}
	}

	poll := time.NewTicker(f.pollEvery)
	defer poll.Stop()
	settle := time.NewTimer(f.debounce)
	settle.Stop()
	defer settle.Stop()
	var lastErr string

	check := func() {
		changed, err := f.reload(false)
		if err != nil {
			if err.Error() != lastErr {
				f.logger.Error("TLS certificate reload failed; still serving the previous certificate", "err", err)
			}
			lastErr = err.Error()
		} else {
			lastErr = ""
		}
		if f.onReload != nil && (changed || err != nil) {
			f.onReload(err)
		}
	}

	for {
		select {
		case <-ctx.Done():
			return nil
		case ev, ok := <-events:
			if !ok {
				events = nil
				continue
			}
			if ev.Op == fsnotify.Chmod {
				continue
			}
			// Wait for the writer to settle: cert and key are rarely replaced at once.
			settle.Reset(f.debounce)
		case err, ok := <-watchErrs:
			if !ok {
				watchErrs = nil
				continue
			}
			f.logger.Warn("watching TLS certificate files", "err", err)
		case <-settle.C:
			check()
		case <-poll.C:
			check()
		}
	}
}

func uniqueDirs(files ...string) []string {
	var dirs []string
	seen := map[string]bool{}
	for _, file := range files {
		d := filepath.Dir(file)
		if !seen[d] {
			seen[d] = true
			dirs = append(dirs, d)
		}
	}
	return dirs
}
