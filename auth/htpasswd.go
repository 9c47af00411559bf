package auth

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"time"

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
	// AllowEmpty accepts a file with no users (empty, or blank lines and comments only).
	// Without it such a file is refused like a malformed one: at start, and at a reload,
	// which keeps the last good users (issue 12: an editor truncating the file, or a failed
	// copy, locked everyone out).
	AllowEmpty bool
	// MaxVerifications caps the password verifications (hash comparisons, not cache hits)
	// running at once, so a flood of wrong passwords cannot take every core from the
	// requests whose credentials are cached. 0 means half of GOMAXPROCS, at least 1.
	MaxVerifications int
	// VerifyWait is how long a verification waits for a free slot before it is refused
	// (the login is then throttled, not failed). 0 means 1s.
	VerifyWait time.Duration
}

// ErrNoUsers is the error (wrapped) for a users file without users, unless
// HtpasswdOptions.AllowEmpty.
var ErrNoUsers = errors.New("the file has no users (an empty htpasswd is refused unless allowed: empty_htpasswd: allow)")

// Htpasswd is an htpasswd users file, reloadable while in use. It is safe for concurrent use.
type Htpasswd struct {
	logger     *slog.Logger
	allowEmpty bool
	file       *reload.Value[userTable]
	// nextGen numbers the next table parsed; parses never overlap (reload.Config.Parse).
	nextGen uint64
	cache   *credCache // nil when disabled
	flight  singleflight.Group
	// match compares a password with an entry of the given kind (dummy: a comparison whose
	// result is ignored, run so every verification costs the same); a seam so tests can
	// count comparisons per kind.
	match func(m htpasswd.EncodedPasswd, pass, kind string, dummy bool) bool
	// slots holds one token per verification running (HtpasswdOptions.MaxVerifications).
	slots    chan struct{}
	slotWait time.Duration
}

// NewHtpasswd loads the htpasswd file. A file that is missing, has any bad line, or has no
// users (unless opts.AllowEmpty) is an error: the gateway must not start with fewer users
// than the administrator wrote.
func NewHtpasswd(file string, opts HtpasswdOptions) (*Htpasswd, error) {
	h := &Htpasswd{
		logger:     orDiscard(opts.Logger).With("file", file),
		allowEmpty: opts.AllowEmpty,
		match: func(m htpasswd.EncodedPasswd, pass, _ string, _ bool) bool {
			return m.MatchesPassword(pass)
		},
		slotWait: opts.VerifyWait,
	}
	slots := opts.MaxVerifications
	if slots <= 0 {
		slots = max(1, runtime.GOMAXPROCS(0)/2)
	}
	h.slots = make(chan struct{}, slots)
	if h.slotWait <= 0 {
		h.slotWait = time.Second
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
	users, kinds, err := parseHtpasswd(files[0].Data)
	if err != nil {
		return nil, fmt.Errorf("parsing htpasswd %q: %w", files[0].Path, err)
	}
	if len(users) == 0 && !h.allowEmpty {
		return nil, fmt.Errorf("loading htpasswd %q: %w", files[0].Path, ErrNoUsers)
	}
	t := &userTable{gen: h.nextGen, users: users, kinds: kinds}
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
// the next reload; failures never are. Every verification that is not answered from the
// cache costs the same, known user or not, whatever the kind of its hash (see
// userTable.kinds). Verify is false when ctx ends before the comparison does, or when no
// verification slot frees up in time (HtpasswdOptions.MaxVerifications).
func (h *Htpasswd) Verify(ctx context.Context, user, pass string) bool {
	ok, _ := h.verify(ctx, user, pass)
	return ok
}

// errBusy is verify's answer when every verification slot stayed taken for the whole
// wait: the credentials were not checked.
var errBusy = errors.New("too many password verifications running")

// cachedValid reports whether user and pass verified before against the users in force,
// without comparing anything: a lookup in the cache of verified credentials.
func (h *Htpasswd) cachedValid(user, pass string) bool {
	t := h.file.Load()
	if _, known := t.users[user]; !known || h.cache == nil {
		return false
	}
	return h.cache.has(h.cache.key(user, pass), t.gen)
}

// verify is Verify that tells a cancelled wait or errBusy (errors) apart from a wrong
// password.
func (h *Htpasswd) verify(ctx context.Context, user, pass string) (bool, error) {
	t := h.file.Load()
	if _, known := t.users[user]; !known || h.cache == nil {
		return h.compare(ctx, t, user, pass)
	}
	key := h.cache.key(user, pass)
	if h.cache.has(key, t.gen) {
		return true, nil
	}
	// Concurrent first requests with the same credential share one comparison, which
	// runs to its end even if the request that started it goes away.
	ch := h.flight.DoChan(flightKey(key, t.gen), func() (any, error) {
		ok, err := h.compare(context.WithoutCancel(ctx), t, user, pass)
		if ok {
			h.cache.add(key, t.gen)
		}
		return ok, err
	})
	select {
	case res := <-ch:
		return res.Val.(bool), res.Err
	case <-ctx.Done():
		return false, fmt.Errorf("verifying password: %w", ctx.Err())
	}
}

// compare runs one verification in a slot: the user's own entry, if known, and each other
// kind's representative (results ignored), so it costs one comparison per kind of hash in
// the file whoever is named (userTable.kinds). The slots cap the CPU that verifications,
// failed ones above all, can take (issue 12): a verification waits at most slotWait for
// one, then gives up with errBusy rather than queue behind a flood of guesses.
func (h *Htpasswd) compare(ctx context.Context, t *userTable, user, pass string) (bool, error) {
	select {
	case h.slots <- struct{}{}:
	default:
		wait := time.NewTimer(h.slotWait)
		defer wait.Stop()
		select {
		case h.slots <- struct{}{}:
		case <-wait.C:
			return false, errBusy
		case <-ctx.Done():
			return false, fmt.Errorf("verifying password: %w", ctx.Err())
		}
	}
	defer func() { <-h.slots }()
	e, known := t.users[user]
	ok := false
	if known {
		ok = h.match(e.m, pass, t.kinds[e.kind].name, false)
	}
	for i, k := range t.kinds {
		if !known || i != e.kind {
			h.match(k.m, pass, k.name, true)
		}
	}
	return ok, nil
}

// users reports the number of users loaded (for tests and logs).
func (h *Htpasswd) users() int { return len(h.file.Load().users) }

func orDiscard(l *slog.Logger) *slog.Logger {
	if l == nil {
		return slog.New(slog.DiscardHandler)
	}
	return l
}
