package policy

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/open-policy-agent/opa/v1/ast"

	"github.com/portcullis/portcullis/access"
)

// Reloader serves the policy at a path and swaps in a new Engine when the files change
// (Run) or on demand (Reload, which cmd/gateway calls on SIGHUP). A policy that fails to
// parse, compile or pass its own tests never replaces the one being served: the failure
// is logged with file and line and the last good policy keeps answering.
type Reloader struct {
	path   string
	logger *slog.Logger
	cur    atomic.Pointer[Engine]

	mu       sync.Mutex // serialises reloads
	lastHash [sha256.Size]byte

	// debounce is how long Run waits after the last file event before reloading: editors
	// and config-map updates write in bursts. poll is the interval of the periodic check
	// that backs the notifications up.
	debounce time.Duration
	poll     time.Duration
	// onReload, when set (tests), is called after every reload attempt Run makes.
	onReload func(error)
	// noEvents turns file notifications off, leaving polling alone (tests).
	noEvents bool
}

// NewReloader loads the policy at path and returns a Reloader serving it. An empty path
// serves the built-in Default policy, and Run then has nothing to watch. The first load
// must succeed: there is no last good policy to fall back on.
func NewReloader(ctx context.Context, path string, logger *slog.Logger) (*Reloader, error) {
	r := &Reloader{path: path, logger: logger, debounce: 250 * time.Millisecond, poll: 5 * time.Second}
	if path == "" {
		e, err := Default(ctx)
		if err != nil {
			return nil, err
		}
		r.cur.Store(e)
		return r, nil
	}
	src, hash, err := readHashed(path)
	if err != nil {
		return nil, err
	}
	e, err := Compile(ctx, src)
	if err != nil {
		return nil, fmt.Errorf("loading policy %s: %w", path, err)
	}
	r.cur.Store(e)
	r.lastHash = hash
	logger.Info("policy loaded", "path", path, "modules", e.Modules(), "tests_passed", e.TestsPassed())
	return r, nil
}

// Authorize asks the policy being served.
func (r *Reloader) Authorize(ctx context.Context, in access.Input) (access.Decision, error) {
	return r.cur.Load().Authorize(ctx, in)
}

// Engine returns the policy being served.
func (r *Reloader) Engine() *Engine { return r.cur.Load() }

// Reload reads and compiles the policy again and swaps it in. On failure it keeps the
// current policy, logs the error with its file:line locations, and returns it.
func (r *Reloader) Reload(ctx context.Context) error { return r.reload(ctx, false) }

// reload does the work; with ifChanged it skips sources identical to the last attempt, so
// unrelated file events do not reload and a broken file is reported once, not per event.
func (r *Reloader) reload(ctx context.Context, ifChanged bool) error {
	if r.path == "" {
		return nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	src, hash, err := readHashed(r.path)
	if err != nil {
		r.logFailure(err)
		return err
	}
	if ifChanged && hash == r.lastHash {
		return nil
	}
	r.lastHash = hash
	e, err := Compile(ctx, src)
	if err != nil {
		err = fmt.Errorf("loading policy %s: %w", r.path, err)
		r.logFailure(err)
		return err
	}
	r.cur.Store(e)
	r.logger.Info("policy reloaded", "path", r.path, "modules", e.Modules(), "tests_passed", e.TestsPassed())
	return nil
}

func (r *Reloader) logFailure(err error) {
	attrs := []any{"path", r.path, "error", err}
	var ae ast.Errors
	if errors.As(err, &ae) {
		locs := make([]string, 0, len(ae))
		for _, e := range ae {
			if e.Location != nil {
				locs = append(locs, fmt.Sprintf("%s:%d", e.Location.File, e.Location.Row))
			}
		}
		attrs = append(attrs, "locations", locs)
	}
	r.logger.Error("policy reload failed; keeping the previous policy", attrs...)
}

// readHashed reads the source at path and a digest of everything in it.
func readHashed(path string) (Source, [sha256.Size]byte, error) {
	src, err := ReadSource(path)
	if err != nil {
		return Source{}, [sha256.Size]byte{}, err
	}
	h := sha256.New()
	names := make([]string, 0, len(src.Modules))
	for n := range src.Modules {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		fmt.Fprintf(h, "%d:%s%d:%s", len(n), n, len(src.Modules[n]), src.Modules[n])
	}
	data, err := json.Marshal(src.Data) // sorted keys: stable
	if err != nil {
		return Source{}, [sha256.Size]byte{}, fmt.Errorf("hashing policy data: %w", err)
	}
	h.Write(data)
	var sum [sha256.Size]byte
	h.Sum(sum[:0])
	return src, sum, nil
}
