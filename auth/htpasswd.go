package auth

import (
	"context"
	"fmt"
	"log/slog"

	htpasswd "github.com/tg123/go-htpasswd"
	"golang.org/x/sync/singleflight"

	"github.com/portcullis/portcullis/internal/reload"
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
}

// Htpasswd is an htpasswd users file, reloadable while in use. It is safe for concurrent use.
type Htpasswd struct {
	logger *slog.Logger
	file   *reload.Value[userTable]
	// nextGen numbers the next table parsed; parses never overlap (reload.Config.Parse).
	nextGen uint64
	cache   *credCache // nil when disabled
	flight  singleflight.Group
	// match compares a password with an entry (dummy: the unknown-user comparison whose
	// result is ignored); a seam so tests can count bcrypt runs.
	match func(m htpasswd.EncodedPasswd, pass string, dummy bool) bool
}

// NewHtpasswd loads the htpasswd file. A file that is missing or has any bad line is an
// error: the gateway must not start with fewer users than the administrator wrote.
func NewHtpasswd(file string, opts HtpasswdOptions) (*Htpasswd, error) {
	h := &Htpasswd{
		logger: orDiscard(opts.Logger).With("file", file),
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
	var err error
	h.file, err = reload.New(context.Background(), reload.Config[userTable]{
		Name:   "htpasswd",
		Paths:  []string{file},
		Parse:  h.parse,
		Loaded: h.loaded,
		Logger: h.logger,
	})
	if err != nil {
		return nil, err
	}
	return h, nil
}

// Name is "htpasswd", for the reload log lines.
func (h *Htpasswd) Name() string { return h.file.Name() }

// Reload rereads the file and swaps in the new users, invalidating every cached
// verification. When the file is missing or does not parse, the users already loaded stay in
// force; the reason is logged and returned.
func (h *Htpasswd) Reload(ctx context.Context) error { return h.file.Reload(ctx) }

// Run watches the file and reloads it when its content changes, until ctx ends. It handles
// the file being replaced by rename or by a symlink swap (as Kubernetes does with mounted
// secrets), and also polls in case file events are missed. A change that does not parse is
// logged once and leaves the last good users in force; a touch or an event for another file
// keeps the cache.
func (h *Htpasswd) Run(ctx context.Context) { h.file.Run(ctx) }

// OnReport has f told of every reload attempt (see reload.Value.OnReport): the audit
// trail records each as config_reloaded.
func (h *Htpasswd) OnReport(f func(reload.Report)) { h.file.OnReport(f) }

// parse builds the next generation of users from the file.
func (h *Htpasswd) parse(_ context.Context, files []reload.File) (*userTable, error) {
	users, dummyUser, err := parseHtpasswd(files[0].Data)
	if err != nil {
		return nil, fmt.Errorf("parsing htpasswd %q: %w", files[0].Path, err)
	}
	dummy := fallbackDummy
	if dummyUser != "" {
		dummy = users[dummyUser]
	}
	t := &userTable{gen: h.nextGen, users: users, dummy: dummy, dummyUser: dummyUser}
	h.nextGen++
	return t, nil
}

// loaded runs once a new generation is in force.
func (h *Htpasswd) loaded(_, cur *userTable) {
	if h.cache != nil {
		// Entries are tagged with their generation, so this only frees memory early.
		h.cache.purge()
	}
	h.logger.Info("htpasswd loaded", "users", len(cur.users), "generation", cur.gen)
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
	t := h.file.Load()
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
func (h *Htpasswd) users() int { return len(h.file.Load().users) }

func orDiscard(l *slog.Logger) *slog.Logger {
	if l == nil {
		return slog.New(slog.DiscardHandler)
	}
	return l
}
