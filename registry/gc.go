package registry

import (
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// GCOptions configures GC.
type GCOptions struct {
	// DryRun reports what would be removed and removes nothing.
	DryRun bool
	// UploadMaxAge is the age past which an unfinished upload is removed; 0 means one
	// week, registry:2's default upload purging age.
	UploadMaxAge time.Duration
	// Logger receives one line per removal (Debug) and the summary (Info); nil discards.
	Logger *slog.Logger
	// Now is the clock uploads are aged against; nil means time.Now.
	Now func() time.Time
}

// GCReport counts what GC found and removed (or, in a dry run, would remove).
type GCReport struct {
	Repositories       int
	Manifests          int // manifest revisions marked live
	BlobsKept          int
	BytesKept          int64
	BlobsRemoved       int
	BytesRemoved       int64
	LinksRemoved       int // repository layer links and referrer entries to removed content
	UploadsRemoved     int
	UploadBytesRemoved int64
}

// GC collects garbage in the registry:2 layout under root: it marks every manifest that a
// repository still links as a revision (which covers every tag and every referrer, as
// both are revisions), everything those manifests reference (config, layers, child
// manifests of an index, recursively), then sweeps blobs nothing marked, the repository
// links to them, referrer entries of deleted manifests, and uploads older than
// UploadMaxAge. A manifest GC cannot read makes it fail before sweeping anything: it
// never removes a blob on an incomplete mark.
//
// GC must run while no registry (ours or registry:2) is writing to root, as registry:2's
// garbage-collect must: a blob uploaded before its manifest is pushed is unreferenced in
// between, and an online sweep would remove it.
func GC(ctx context.Context, root string, opts GCOptions) (GCReport, error) {
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
	g := &collector{l: newLayout(root), log: log, dry: opts.DryRun, marked: map[digest]bool{}}
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
	g.rep.Manifests = g.revisions
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
	log.InfoContext(ctx, "garbage collection done", "dry_run", opts.DryRun,
		"repositories", g.rep.Repositories, "manifests", g.rep.Manifests,
		"blobs_kept", g.rep.BlobsKept, "blobs_removed", g.rep.BlobsRemoved,
		"bytes_removed", g.rep.BytesRemoved, "uploads_removed", g.rep.UploadsRemoved)
	return g.rep, nil
}

type collector struct {
	l         layout
	log       *slog.Logger
	dry       bool
	marked    map[digest]bool
	revisions int
	rep       GCReport
}

// linkedDigests lists the digests linked under dir/<alg>/<hex>/link.
func linkedDigests(dir string) ([]digest, error) {
	var out []digest
	for _, alg := range algorithms {
		entries, err := os.ReadDir(filepath.Join(dir, string(alg)))
		if isNotExist(err) {
			continue
		}
		if err != nil {
			return nil, err
		}
		for _, e := range entries {
			d, err := readLink(filepath.Join(dir, string(alg), e.Name(), "link"))
			if isNotExist(err) {
				continue
			}
			if err != nil {
				return nil, err
			}
			out = append(out, d)
		}
	}
	return out, nil
}

func (g *collector) markRepo(name string) error {
	revs, err := linkedDigests(g.l.revisionsDir(name))
	if err != nil {
		return err
	}
	g.revisions += len(revs)
	for _, d := range revs {
		if err := g.markManifest(d); err != nil {
			return err
		}
	}
	return nil
}

// markManifest marks a manifest and, recursively, what it references.
func (g *collector) markManifest(d digest) error {
	if g.marked[d] {
		return nil
	}
	g.marked[d] = true
	body, err := os.ReadFile(g.l.blobData(d))
	if isNotExist(err) {
		g.log.Warn("gc: manifest revision without its blob", "digest", d.String())
		return nil
	}
	if err != nil {
		return err
	}
	refs, children, err := manifestRefs(body)
	if err != nil {
		return fmt.Errorf("manifest %s: %w", d, err)
	}
	for _, r := range refs {
		g.marked[r] = true
	}
	for _, c := range children {
		if err := g.markManifest(c); err != nil {
			return err
		}
	}
	return nil
}

// manifestRefs reads the blobs (config, layers, schema 1 fsLayers) and child manifests a
// stored manifest references. Digests of algorithms the registry does not support are an
// error: GC cannot tell their blobs apart, so it must not sweep.
func manifestRefs(body []byte) (blobs, children []digest, err error) {
	var m struct {
		manifest
		FSLayers []struct {
			BlobSum string `json:"blobSum"`
		} `json:"fsLayers"`
	}
	if err := json.Unmarshal(body, &m); err != nil {
		return nil, nil, fmt.Errorf("unreadable manifest: %w", err)
	}
	add := func(list *[]digest, s string) error {
		d, ok := parseDigest(s)
		if !ok {
			return fmt.Errorf("unsupported digest %q", s)
		}
		*list = append(*list, d)
		return nil
	}
	if m.Config != nil {
		if err := add(&blobs, m.Config.Digest); err != nil {
			return nil, nil, err
		}
	}
	for _, l := range m.Layers {
		if err := add(&blobs, l.Digest); err != nil {
			return nil, nil, err
		}
	}
	for _, l := range m.FSLayers {
		if err := add(&blobs, l.BlobSum); err != nil {
			return nil, nil, err
		}
	}
	for _, c := range m.Manifests {
		if err := add(&children, c.Digest); err != nil {
			return nil, nil, err
		}
	}
	return blobs, children, nil
}

func (g *collector) remove(path string, stop string) error {
	if g.dry {
		return nil
	}
	if stop == "" {
		return os.RemoveAll(path)
	}
	return removeDirs(path, stop)
}

// sweepRepo drops the repository's links to blobs about to be removed, referrer entries
// of deleted manifests, and stale uploads.
func (g *collector) sweepRepo(name string, now time.Time, maxAge time.Duration) error {
	layersDir := filepath.Join(g.l.repoDir(name), "_layers")
	layers, err := linkedDigests(layersDir)
	if err != nil {
		return err
	}
	for _, d := range layers {
		if !g.marked[d] {
			g.log.Debug("gc: unlinking blob", "repository", name, "digest", d.String())
			g.rep.LinksRemoved++
			if err := g.remove(g.l.layerLinkDir(name, d), ""); err != nil {
				return err
			}
		}
	}
	refRoot := filepath.Join(g.l.repoDir(name), "_manifests", "referrers")
	subjects, err := linkedSubjects(refRoot)
	if err != nil {
		return err
	}
	for _, subj := range subjects {
		refs, err := linkedDigests(g.l.referrersDir(name, subj))
		if err != nil {
			return err
		}
		for _, d := range refs {
			if !linkExists(g.l.revisionLinkDir(name, d), d) {
				g.rep.LinksRemoved++
				if err := g.remove(g.l.referrerLinkDir(name, subj, d), refRoot); err != nil {
					return err
				}
			}
		}
	}
	ups, err := os.ReadDir(g.l.uploadsDir(name))
	if err != nil && !isNotExist(err) {
		return err
	}
	for _, u := range ups {
		dir := filepath.Join(g.l.uploadsDir(name), u.Name())
		started := uploadStart(dir)
		if now.Sub(started) <= maxAge {
			continue
		}
		if fi, err := os.Stat(filepath.Join(dir, "data")); err == nil {
			g.rep.UploadBytesRemoved += fi.Size()
		}
		g.rep.UploadsRemoved++
		g.log.Debug("gc: removing stale upload", "repository", name, "upload", u.Name(), "started", started)
		if err := g.remove(dir, ""); err != nil {
			return err
		}
	}
	return nil
}

// linkedSubjects lists the subject digests of a referrers index: <root>/<alg>/<hex>.
func linkedSubjects(root string) ([]digest, error) {
	var out []digest
	for _, alg := range algorithms {
		entries, err := os.ReadDir(filepath.Join(root, string(alg)))
		if isNotExist(err) {
			continue
		}
		if err != nil {
			return nil, err
		}
		for _, e := range entries {
			if d, ok := parseDigest(string(alg) + ":" + e.Name()); ok {
				out = append(out, d)
			}
		}
	}
	return out, nil
}

// uploadStart reads an upload's startedat (registry:2 writes RFC 3339), falling back to
// the directory's modification time.
func uploadStart(dir string) time.Time {
	if b, err := os.ReadFile(filepath.Join(dir, "startedat")); err == nil {
		if t, err := time.Parse(time.RFC3339Nano, strings.TrimSpace(string(b))); err == nil {
			return t
		}
	}
	if fi, err := os.Stat(dir); err == nil {
		return fi.ModTime()
	}
	return time.Time{}
}

// sweepBlobs removes every blobs/<alg>/<xx>/<hex>/data not marked. Blobs of algorithms
// the registry does not know are left alone.
func (g *collector) sweepBlobs(ctx context.Context) error {
	root := g.l.blobsDir()
	return filepath.WalkDir(root, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			if isNotExist(err) {
				return nil
			}
			return err
		}
		if e.IsDir() || e.Name() != "data" {
			return nil
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		parts := strings.Split(filepath.ToSlash(rel), "/")
		if len(parts) != 4 {
			return nil
		}
		d, ok := parseDigest(parts[0] + ":" + parts[2])
		if !ok || parts[1] != d.hex[:2] {
			return nil
		}
		fi, err := e.Info()
		if err != nil {
			return err
		}
		if g.marked[d] {
			g.rep.BlobsKept++
			g.rep.BytesKept += fi.Size()
			return nil
		}
		g.rep.BlobsRemoved++
		g.rep.BytesRemoved += fi.Size()
		g.log.Debug("gc: removing blob", "digest", d.String(), "size", fi.Size())
		return g.remove(filepath.Dir(p), root)
	})
}
