package auth

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"sync/atomic"
)

// Groups is a groups file (YAML or htgroup lines, see parseGroups), reloadable while in use.
// It is safe for concurrent use.
type Groups struct {
	logger *slog.Logger
	src    *fileSource
	byUser atomic.Pointer[map[string][]string]
}

// NewGroups loads the groups file. A missing or invalid file is an error: a groups file
// configured explicitly must exist.
func NewGroups(file string, logger *slog.Logger) (*Groups, error) {
	g := &Groups{logger: orDiscard(logger).With("file", file)}
	g.src = &fileSource{path: file, load: g.load}
	if err := g.src.reload(true); err != nil {
		return nil, err
	}
	return g, nil
}

// Reload rereads the file; when it is missing or invalid the groups already loaded stay in
// force, and the reason is logged and returned.
func (g *Groups) Reload() error {
	err := g.src.reload(true)
	if err != nil {
		g.logger.Warn("groups reload failed; keeping the last good groups", "err", err)
	}
	return err
}

// Run watches the file and reloads it when its content changes, until ctx ends (see
// Htpasswd.Run).
func (g *Groups) Run(ctx context.Context) {
	newWatcher(g.src, g.logger).run(ctx)
}

func (g *Groups) load(data []byte) error {
	groups, err := parseGroups(data)
	if err != nil {
		return fmt.Errorf("parsing groups %q: %w", g.src.path, err)
	}
	byUser := invertGroups(groups)
	g.byUser.Store(&byUser)
	g.logger.Info("groups loaded", "groups", len(groups), "users", len(byUser))
	return nil
}

// For returns the sorted groups user belongs to, never nil. The caller owns the slice.
func (g *Groups) For(user string) []string {
	gs := (*g.byUser.Load())[user]
	if gs == nil {
		return []string{}
	}
	return slices.Clone(gs)
}
