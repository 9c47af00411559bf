package registry

import (
	"context"
	"fmt"
	"log/slog"
	"time"
)

// GCOptions configures GC.
type GCOptions struct {
	// DryRun reports what would be removed and removes nothing.
	DryRun bool
	// RemoveUntagged also removes manifests no tag reaches (registry:2's
	// --delete-untagged): the roots are then the tags alone, and what they reach through
	// index children and referrers is kept. Off, every manifest revision is a root.
	RemoveUntagged bool
	// UploadMaxAge is the age past which an unfinished upload is removed; 0 means one
	// week, registry:2's default upload purging age.
	UploadMaxAge time.Duration
	// TempMaxAge is the age past which a temporary file (".tmp-*") an interrupted write
	// left, or an empty directory (a blob or link directory made just before a crash), is
	// removed: 0 means one hour, far longer than any write keeps either; negative means any
	// age, for a GC known to run while nothing writes (gateway gc holds the data
	// directory's lock against gateways serving it).
	TempMaxAge time.Duration
	// Logger receives one line per removal (Debug) and the summary (Info); nil discards.
	Logger *slog.Logger
	// Now is the clock uploads are aged against; nil means time.Now.
	Now func() time.Time
}

// GCReport counts what GC found and removed (or, in a dry run, would remove).
type GCReport struct {
	Repositories       int
	Manifests          int // manifest revisions kept
	ManifestsRemoved   int // untagged revisions removed (RemoveUntagged)
	BlobsKept          int
	BytesKept          int64
	BlobsRemoved       int
	BytesRemoved       int64
	LinksRemoved       int // repository layer links and referrer entries to removed content
	UploadsRemoved     int
	UploadBytesRemoved int64
	TempFilesRemoved   int // interrupted writes' temporary files older than TempMaxAge
	EmptyDirsRemoved   int // empty directories under blobs/ and repositories/ older than TempMaxAge
}

// GC collects garbage in the registry:2 layout under root. It marks, per repository,
// from every manifest revision (or, with RemoveUntagged, from every tag, following index
// children and referrers), everything those manifests reference (config, layers, child
// manifests, recursively), then sweeps: untagged revisions when asked, blobs nothing
// marked, the repository links to them, referrer entries of deleted manifests, uploads
// older than UploadMaxAge, and what crashes leave (issue 12): temporary files of
// interrupted writes and empty directories, older than TempMaxAge. A manifest GC
// cannot read makes it fail before removing anything: it never sweeps on an incomplete
// mark.
//
// GC must run while no registry (ours or registry:2) is writing to root, as registry:2's
// garbage-collect must: a blob uploaded before its manifest is pushed is unreferenced in
// between, and an online sweep would remove it. With deletion, GC holds root exclusively
// and fails with ErrInUse, removing nothing, while any process has it attached (Attach:
// every serving gateway replica); a dry run only reads and needs no lock.
func GC(ctx context.Context, root string, opts GCOptions) (GCReport, error) {
	if !opts.DryRun {
		lock, err := gcLock(root)
		if err != nil {
			return GCReport{}, err
		}
		defer lock.Close()
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	now := time.Now
	if opts.Now != nil {
		now = opts.Now
	}
	maxAge := opts.UploadMaxAge
	if maxAge <= 0 {
		maxAge = 7 * 24 * time.Hour
	}
	tempAge := opts.TempMaxAge
	switch {
	case tempAge == 0:
		tempAge = time.Hour
	case tempAge < 0:
		tempAge = -1 // any age: now - mtime > -1 holds for every file
	}
	g := &collector{
		l: newLayout(root), log: log, dry: opts.DryRun, untagged: opts.RemoveUntagged,
		marked: map[digest]bool{}, refs: map[digest]manifestLinks{}, deadRevs: map[string]map[digest]bool{},
		gone: map[string]bool{}, touched: map[string]bool{},
	}
	repos, err := listRepos(g.l)
	if err != nil {
		return g.rep, err
	}
	g.rep.Repositories = len(repos)
	for _, name := range repos {
		if err := ctx.Err(); err != nil {
			return g.rep, err
		}
		if err := g.markRepo(name); err != nil {
			return g.rep, fmt.Errorf("gc: marking %s (nothing removed): %w", name, err)
		}
	}
	for _, name := range repos {
		if err := ctx.Err(); err != nil {
			return g.rep, err
		}
		if err := g.sweepRepo(name, now(), maxAge); err != nil {
			return g.rep, fmt.Errorf("gc: sweeping %s: %w", name, err)
		}
	}
	if err := g.sweepBlobs(ctx); err != nil {
		return g.rep, fmt.Errorf("gc: sweeping blobs: %w", err)
	}
	if err := g.sweepTemps(ctx, now(), tempAge); err != nil {
		return g.rep, fmt.Errorf("gc: sweeping temporary files: %w", err)
	}
	for _, dir := range []string{g.l.blobsDir(), g.l.reposDir()} {
		if _, err := g.sweepEmptyDirs(ctx, dir, true, now(), tempAge); err != nil {
			return g.rep, fmt.Errorf("gc: sweeping empty directories: %w", err)
		}
	}
	log.InfoContext(ctx, "garbage collection done", "dry_run", opts.DryRun,
		"repositories", g.rep.Repositories, "manifests", g.rep.Manifests,
		"manifests_removed", g.rep.ManifestsRemoved,
		"blobs_kept", g.rep.BlobsKept, "blobs_removed", g.rep.BlobsRemoved,
		"bytes_removed", g.rep.BytesRemoved, "uploads_removed", g.rep.UploadsRemoved,
		"temp_files_removed", g.rep.TempFilesRemoved, "empty_dirs_removed", g.rep.EmptyDirsRemoved)
	return g.rep, nil
}

type collector struct {
	l        layout
	log      *slog.Logger
	dry      bool
	untagged bool
	marked   map[digest]bool            // live blobs, manifests included
	refs     map[digest]manifestLinks   // parsed manifests, by digest
	deadRevs map[string]map[digest]bool // per repository: revisions to remove
	rep      GCReport
	// gone holds what a dry run would have removed, so the empty-directory sweep sees
	// the tree as a real run would leave it; touched, the directories this run removed
	// something from.
	gone, touched map[string]bool
}

type manifestLinks struct{ blobs, children []digest }
