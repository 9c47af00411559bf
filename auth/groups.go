package auth

import (
	"context"
	"fmt"
	"log/slog"
	"slices"

	"github.com/portcullis/portcullis/internal/reload"
)

// Groups is a groups file (YAML or htgroup lines, see parseGroups), reloadable while in use.
// It is safe for concurrent use.
type Groups struct {
	logger *slog.Logger
	file   *reload.Value[groupTable]
}

// groupTable is one parsed version of the file.
type groupTable struct {
	byUser map[string][]string // user -> sorted groups
	groups int
}

// NewGroups loads the groups file. A missing or invalid file is an error: a groups file
// configured explicitly must exist.
func NewGroups(file string, logger *slog.Logger) (*Groups, error) {
	g := &Groups{logger: orDiscard(logger).With("file", file)}
	var err error
	g.file, err = reload.New(context.Background(), reload.Config[groupTable]{
		Name:   "groups",
		Paths:  []string{file},
		Parse:  parseGroupsFile,
		Loaded: g.loaded,
		Logger: g.logger,
	})
	if err != nil {
		return nil, err
	}
	return g, nil
}

// Name is "groups", for the reload log lines.
func (g *Groups) Name() string { return g.file.Name() }

// Reload rereads the file; when it is missing or invalid the groups already loaded stay in
// force, and the reason is logged and returned.
func (g *Groups) Reload(ctx context.Context) error { return g.file.Reload(ctx) }

// Run watches the file and reloads it when its content changes, until ctx ends (see
// Htpasswd.Run).
func (g *Groups) Run(ctx context.Context) { g.file.Run(ctx) }

// OnReport has f told of every reload attempt (see reload.Value.OnReport).
func (g *Groups) OnReport(f func(reload.Report)) { g.file.OnReport(f) }

func parseGroupsFile(_ context.Context, files []reload.File) (*groupTable, error) {
	groups, err := parseGroups(files[0].Data)
	if err != nil {
		return nil, fmt.Errorf("parsing groups %q: %w", files[0].Path, err)
	}
	return &groupTable{byUser: invertGroups(groups), groups: len(groups)}, nil
}

func (g *Groups) loaded(_, cur *groupTable) {
	g.logger.Info("groups loaded", "groups", cur.groups, "users", len(cur.byUser))
}

// For returns the sorted groups user belongs to, never nil. The caller owns the slice.
func (g *Groups) For(user string) []string {
	gs := g.file.Load().byUser[user]
	if gs == nil {
		return []string{}
	}
	return slices.Clone(gs)
}
