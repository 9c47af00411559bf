// Package reload keeps a value built from files current: the users of an htpasswd file,
// the groups, the compiled policy, a certificate and key. It is the one implementation of
// "read the files, skip them if their content is what was last tried, build a complete
// new value, swap it in, and on failure keep the last good value and say why once".
//
// A Value reads its files, hashes what it read (a read error counts as content too), and
// hands the files to the caller's Parse, which builds the value or fails without
// publishing anything. The last good value sits behind an atomic pointer, so readers on
// the request path never wait for a reload. Run watches the files with internal/filewatch
// (which owns when to look); Reload is the forced path that SIGHUP takes.
//
// The package owns the when-it-changed and the keep-the-last-good; what the files mean,
// and what a new value invalidates, belong to Parse and Loaded.
package reload

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/portcullis/portcullis/internal/filewatch"
)

// Watch defaults. Writers come in bursts (an editor writes, truncates, renames; certbot
// replaces the certificate, then the key), so a check waits for the directory to be
// quiet; the poll catches what events miss (network file systems, a symlink target in a
// directory not watched yet, a watcher that failed to start).
const (
	DefaultDebounce = 250 * time.Millisecond
	DefaultPoll     = 10 * time.Second
)

// File is one file as read for an attempt.
type File struct {
	Path string
	Data []byte
}

// Config describes a Value. Name and Parse are required; a Value with neither Paths nor
// List reads no files (Parse gets none) and never changes.
type Config[T any] struct {
	// Name names the value in log lines and in the reload interface ("htpasswd",
	// "groups", "policy", "certificate").
	Name string
	// Paths are the files read, in the order Parse receives them, unless List is set.
	// Log lines name them, and Run watches their directories unless Dirs is set.
	Paths []string
	// List, when set, lists the files to read at each attempt instead of Paths: for a
	// source whose set of files changes (a policy directory). A listing error is treated
	// as a read error.
	List func() ([]string, error)
	// Dirs lists the directories Run watches, asked again before every check. Nil means
	// Paths' directories and their symlink targets' (filewatch.FileDirs).
	Dirs func() []string
	// Parse builds a complete value from the files, or fails. It must not publish
	// anything: on error the last good value stays. Calls never overlap.
	Parse func(ctx context.Context, files []File) (*T, error)
	// Loaded, when set, is called after a new value is in force, with the one it replaced
	// (nil at the first load): to log it, or to drop what was derived from the old one.
	// Calls never overlap, with each other or with Parse.
	Loaded func(old, cur *T)
	// Logger receives failed attempts; nil discards them.
	Logger *slog.Logger
}

// Watch tunes Run; zero fields take the defaults. It is a field of Value so that tests of
// the packages using one can shorten the timings and wait for checks without sleeping.
type Watch struct {
	Debounce time.Duration // DefaultDebounce when 0
	Poll     time.Duration // DefaultPoll when 0
	// NoEvents turns file events off, leaving polling alone (tests of the fallback).
	NoEvents bool
	// Checked, when set, is called after every check Run makes (including the one at
	// its start, once the watches are in place), telling whether the check attempted a
	// load because what it read had changed, and how that attempt went.
	Checked func(attempted bool, err error)
}

// Value is a value built from files and kept current. It is safe for concurrent use.
type Value[T any] struct {
	// Watch may be changed before Run starts, not after.
	Watch Watch

	cfg    Config[T]
	logger *slog.Logger
	cur    atomic.Pointer[T]

	mu   sync.Mutex // serialises attempts, so values are published in order
	seen [sha256.Size]byte

	report atomic.Pointer[func(Report)]
}

// Report is the outcome of one reload attempt after the first load, for whoever must
// keep a record of configuration changes (the audit trail's config_reloaded events):
// which value, its files with the SHA-256 of what was read, and why it failed.
type Report struct {
	Name  string
	Files []FileSum // the files read; when reading failed, those that could be read
	Err   error     // nil: the new value is in force
}

// FileSum is a file and the SHA-256 of the content an attempt read.
type FileSum struct {
	Path   string
	SHA256 [sha256.Size]byte
}

// OnReport sets f to be told of every attempt Run or Reload makes to load a new value,
// successful or not (not of checks that found the files unchanged). f runs while the
// attempt holds the value's lock, so it must be quick; nil stops the reports. It may be
// called at any time.
func (v *Value[T]) OnReport(f func(Report)) {
	if f == nil {
		v.report.Store(nil)
		return
	}
	v.report.Store(&f)
}

// New reads the files and builds the first value. Unlike later attempts, a failure here
// is returned and nothing is logged: there is no last good value to keep.
func New[T any](ctx context.Context, c Config[T]) (*Value[T], error) {
	if c.Name == "" || c.Parse == nil {
		return nil, errors.New("reload: Config needs a Name and a Parse function")
	}
	v := &Value[T]{cfg: c, logger: c.Logger}
	if v.logger == nil {
		v.logger = slog.New(slog.DiscardHandler)
	}
	files, sum, err := v.read()
	if err != nil {
		return nil, err
	}
	cur, err := v.parse(ctx, files)
	if err != nil {
		return nil, err
	}
	v.seen = sum
	v.publish(cur)
	return v, nil
}

// Load returns the value in force. It never blocks on a reload.
func (v *Value[T]) Load() *T { return v.cur.Load() }

// Name is Config.Name.
func (v *Value[T]) Name() string { return v.cfg.Name }

// Reload reads and builds the value now, even when the files are what the last attempt
// saw (SIGHUP: the way to retry a failure that was not the content's fault). On failure
// the last good value stays; the reason is logged and returned.
func (v *Value[T]) Reload(ctx context.Context) error {
	_, err := v.attempt(ctx, true)
	return err
}

// Check is what Run does at each event or poll: it builds the value again only if what
// the files hold (or the error reading them) differs from the last attempt, so a touch,
// an event for another file in the directory, or a poll of a broken file that nobody has
// fixed yet, costs a read and a hash and logs nothing. It reports whether it attempted a
// load and how that went; a failure is logged, once per distinct content.
func (v *Value[T]) Check(ctx context.Context) (attempted bool, err error) {
	return v.attempt(ctx, false)
}

// Run watches the files until ctx ends, checking them after a burst of events has gone
// quiet, on every poll, and once at the start (they may have changed since New). It
// handles files replaced by rename or by a symlink swap (as Kubernetes updates mounted
// secrets and config maps); internal/filewatch says how.
func (v *Value[T]) Run(ctx context.Context) {
	w := v.Watch
	if w.Debounce <= 0 {
		w.Debounce = DefaultDebounce
	}
	if w.Poll <= 0 {
		w.Poll = DefaultPoll
	}
	dirs := v.cfg.Dirs
	if dirs == nil {
		dirs = func() []string { return filewatch.FileDirs(v.cfg.Paths...) }
	}
	filewatch.Run(ctx, filewatch.Options{
		What: v.cfg.Name,
		Dirs: dirs,
		Check: func() {
			attempted, err := v.Check(ctx)
			if w.Checked != nil {
				w.Checked(attempted, err)
			}
		},
		CheckAtStart: true,
		Debounce:     w.Debounce,
		Poll:         w.Poll,
		NoEvents:     w.NoEvents,
		Logger:       v.logger,
	})
}

// attempt reads the files and, when force is set or their hash differs from the last
// attempt's, builds and publishes a new value.
//
// The hash is recorded before Parse runs, whatever Parse then says. That is deliberate:
// a broken file is parsed (for a policy: compiled, and its tests run) and logged once,
// not at every poll and every unrelated event in its directory. The price is that a
// failure not caused by the content (the context ending mid-compile, say) is not retried
// until the files change again or Reload forces an attempt.
func (v *Value[T]) attempt(ctx context.Context, force bool) (bool, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	files, sum, err := v.read()
	if !force && sum == v.seen {
		return false, nil
	}
	v.seen = sum
	if err == nil {
		var next *T
		if next, err = v.parse(ctx, files); err == nil {
			v.publish(next)
			v.reportAttempt(files, nil)
			return true, nil
		}
	}
	v.reportAttempt(files, err)
	v.logger.Error("reload failed; keeping the last good version", "what", v.cfg.Name,
		"path", strings.Join(v.cfg.Paths, ", "), "err", err)
	return true, err
}

func (v *Value[T]) reportAttempt(files []File, err error) {
	f := v.report.Load()
	if f == nil {
		return
	}
	r := Report{Name: v.cfg.Name, Err: err}
	for _, file := range files {
		r.Files = append(r.Files, FileSum{Path: file.Path, SHA256: sha256.Sum256(file.Data)})
	}
	if len(files) == 0 {
		for _, p := range v.cfg.Paths {
			r.Files = append(r.Files, FileSum{Path: p})
		}
	}
	(*f)(r)
}

func (v *Value[T]) parse(ctx context.Context, files []File) (*T, error) {
	next, err := v.cfg.Parse(ctx, files)
	if err == nil && next == nil {
		err = fmt.Errorf("%s: nothing loaded", v.cfg.Name) // fail closed
	}
	return next, err
}

func (v *Value[T]) publish(next *T) {
	old := v.cur.Swap(next)
	if v.cfg.Loaded != nil {
		v.cfg.Loaded(old, next)
	}
}

// read reads every file and hashes paths and contents. A failure has a hash of its own,
// so the same failure twice is "unchanged" and logged once.
func (v *Value[T]) read() ([]File, [sha256.Size]byte, error) {
	paths := v.cfg.Paths
	if v.cfg.List != nil {
		var err error
		if paths, err = v.cfg.List(); err != nil {
			return nil, errorSum(err), err
		}
	}
	h := sha256.New()
	files := make([]File, 0, len(paths))
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			err = fmt.Errorf("reading %s: %w", v.cfg.Name, err)
			return nil, errorSum(err), err
		}
		// Length-prefixed, so no two different file sets hash alike.
		fmt.Fprintf(h, "%d:%s%d:", len(p), p, len(data))
		h.Write(data)
		files = append(files, File{Path: p, Data: data})
	}
	var sum [sha256.Size]byte
	h.Sum(sum[:0])
	return files, sum, nil
}

func errorSum(err error) [sha256.Size]byte {
	return sha256.Sum256([]byte("error\x00" + err.Error()))
}
