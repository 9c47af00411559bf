package auth

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"

	htpasswd "github.com/tg123/go-htpasswd"
	"golang.org/x/sync/singleflight"
)

// defaultCacheSize is the number of verified credentials remembered when
// HtpasswdOptions.CacheSize is 0.
const defaultCacheSize = 1024

// HtpasswdOptions tunes NewHtpasswd.
type HtpasswdOptions struct {
	// Logger receives reload and watch messages; nil discards them.
	Logger *slog.Logger
	// CacheSize bounds how many successful verifications are remembered so bcrypt does not
	// run on every request. 0 means 1024; a negative value disables the cache.
	CacheSize int
	// AllowEmpty accepts a file with no users (empty, or blank lines and comments only).
	// Without it such a file is refused like a malformed one: at start, and at a reload,
	// which keeps the last good users (issue 12: an editor truncating the file, or a failed
	// copy, locked everyone out).
	AllowEmpty bool
}

// ErrNoUsers is the error (wrapped) for a users file without users, unless
// HtpasswdOptions.AllowEmpty.
var ErrNoUsers = errors.New("the file has no users (an empty htpasswd is refused unless allowed: empty_htpasswd: allow)")

// Htpasswd is an htpasswd users file, reloadable while in use. It is safe for concurrent use.
type Htpasswd struct {
	logger     *slog.Logger
	allowEmpty bool
	src        *fileSource
	table      atomic.Pointer[userTable]
	cache      *credCache // nil when disabled
	flight     singleflight.Group
	// match compares a password with an entry (dummy: the unknown-user comparison whose
	// result is ignored); a seam so tests can count bcrypt runs.
	match func(m htpasswd.EncodedPasswd, pass string, dummy bool) bool
}

// NewHtpasswd loads the htpasswd file. A file that is missing, has any bad line, or has no
// users (unless opts.AllowEmpty) is an error: the gateway must not start with fewer users
// than the administrator wrote.
func NewHtpasswd(file string, opts HtpasswdOptions) (*Htpasswd, error) {
	h := &Htpasswd{
		logger:     orDiscard(opts.Logger).With("file", file),
		allowEmpty: opts.AllowEmpty,
		match: func(m htpasswd.EncodedPasswd, pass string, _ bool) bool {
			return m.MatchesPassword(pass)
		},
	}
	size := opts.CacheSize
	if size == 0 {
		size = defaultCacheSize
	}
	if size > 0 {
		c, err := newCredCache(size)
		if err != nil {
			return nil, err
		}
		h.cache = c
	}
	h.src = &fileSource{path: file, load: h.load}
	if err := h.src.reload(true); err != nil {
		return nil, err
	}
	return h, nil
}

// Reload rereads the file and swaps in the new users, invalidating every cached
// verification. When the file is missing or does not parse, the users already loaded stay in
// force; the reason is logged and returned.
func (h *Htpasswd) Reload() error {
	err := h.src.reload(true)
	if err != nil {
		h.logger.Warn("htpasswd reload failed; keeping the last good users", "err", err)
	}
	return err
}

// Run watches the file and reloads it when its content changes, until ctx ends. It handles
// the file being replaced by rename or by a symlink swap (as Kubernetes does with mounted
// secrets), and also polls in case file events are missed. A change that does not parse is
// logged once and leaves the last good users in force. Run returns when ctx ends.
func (h *Htpasswd) Run(ctx context.Context) {
	newWatcher(h.src, h.logger).run(ctx)
}

// load parses data and publishes it as the next generation.
func (h *Htpasswd) load(data []byte) error {
	users, dummyUser, err := parseHtpasswd(data)
	if err != nil {
		return fmt.Errorf("parsing htpasswd %q: %w", h.src.path, err)
	}
	if len(users) == 0 && !h.allowEmpty {
		return fmt.Errorf("loading htpasswd %q: %w", h.src.path, ErrNoUsers)
	}
	dummy := fallbackDummy
	if dummyUser != "" {
		dummy = users[dummyUser]
	}
	var gen uint64
	if old := h.table.Load(); old != nil {
		gen = old.gen + 1
	}
	h.table.Store(&userTable{gen: gen, users: users, dummy: dummy, dummyUser: dummyUser})
	if h.cache != nil {
		// Entries are tagged with their generation, so this only frees memory early.
		h.cache.purge()
	}
	h.logger.Info("htpasswd loaded", "users", len(users), "generation", gen)
	return nil
}

// Verify reports whether pass is user's password. Successful verifications are cached until
// the next reload; failures never are. An unknown user costs what a typical known user does
// (see userTable.dummy). Verify is false when ctx ends before the comparison does.
func (h *Htpasswd) Verify(ctx context.Context, user, pass string) bool {
	ok, _ := h.verify(ctx, user, pass)
	return ok
}

// verify is Verify that tells a cancelled wait (error) apart from a wrong password.
func (h *Htpasswd) verify(ctx context.Context, user, pass string) (bool, error) {
	t := h.table.Load()
	m, known := t.users[user]
	if !known {
		// Same cost as a known user, result ignored: timing must not reveal who exists.
		h.match(t.dummy, pass, true)
		return false, nil
	}
	if h.cache == nil {
		return h.match(m, pass, false), nil
	}
	key := h.cache.key(user, pass)
	if h.cache.has(key, t.gen) {
		return true, nil
	}
	// Concurrent first requests with the same credential share one comparison.
	ch := h.flight.DoChan(flightKey(key, t.gen), func() (any, error) {
		ok := h.match(m, pass, false)
		if ok {
			h.cache.add(key, t.gen)
		}
		return ok, nil
	})
	select {
	case res := <-ch:
		return res.Val.(bool), nil
	case <-ctx.Done():
		return false, fmt.Errorf("verifying password: %w", ctx.Err())
	}
}

// users reports the number of users loaded (for tests and logs).
func (h *Htpasswd) users() int { return len(h.table.Load().users) }

func orDiscard(l *slog.Logger) *slog.Logger {
	if l == nil {
		return slog.New(slog.DiscardHandler)
	}
	return l
}
