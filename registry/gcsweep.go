package registry

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// remove removes path (recursively), or in a dry run notes that it would. Either way
// its directory is noted as touched: if that leaves it empty, sweepEmptyDirs removes it
// (and so on up) whatever its age, since this run is why it is empty.
func (g *collector) remove(path string) error {
	g.touched[filepath.Dir(path)] = true
	if g.dry {
		g.gone[path] = true
		return nil
	}
	return os.RemoveAll(path)
}

// sweepRepo drops the repository's links to blobs about to be removed, referrer entries
// of deleted manifests, and stale uploads.
func (g *collector) sweepRepo(name string, now time.Time, maxAge time.Duration) error {
	dead := g.deadRevs[name]
	for d := range dead {
		g.rep.ManifestsRemoved++
		g.log.Debug("gc: removing untagged manifest", "repository", name, "digest", d.String())
		if err := g.remove(g.l.revisionLinkDir(name, d)); err != nil {
			return err
		}
	}
	layersDir := filepath.Join(g.l.repoDir(name), "_layers")
	layers, err := linkedDigests(layersDir)
	if err != nil {
		return err
	}
	for _, d := range layers {
		if !g.marked[d] {
			g.log.Debug("gc: unlinking blob", "repository", name, "digest", d.String())
			g.rep.LinksRemoved++
			if err := g.remove(g.l.layerLinkDir(name, d)); err != nil {
				return err
			}
		}
	}
	refRoot := filepath.Join(g.l.repoDir(name), "_manifests", "referrers")
	subjects, err := digestDirs(refRoot)
	if err != nil {
		return err
	}
	for _, subj := range subjects {
		refs, err := linkedDigests(g.l.referrersDir(name, subj))
		if err != nil {
			return err
		}
		for _, d := range refs {
			if dead[d] || !linkExists(g.l.revisionLinkDir(name, d), d) {
				g.rep.LinksRemoved++
				if err := g.remove(g.l.referrerLinkDir(name, subj, d)); err != nil {
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
		if err := g.remove(dir); err != nil {
			return err
		}
	}
	return nil
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
		return g.remove(filepath.Dir(p))
	})
}

// sweepTemps removes temporary files (".tmp-*", from writes a crash interrupted) older
// than maxAge anywhere under the layout.
func (g *collector) sweepTemps(ctx context.Context, now time.Time, maxAge time.Duration) error {
	return filepath.WalkDir(g.l.base, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			if isNotExist(err) {
				return nil
			}
			return err
		}
		if e.IsDir() || !strings.HasPrefix(e.Name(), ".tmp-") {
			return nil
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		fi, err := e.Info()
		if err != nil || now.Sub(fi.ModTime()) <= maxAge {
			return nil
		}
		g.rep.TempFilesRemoved++
		g.log.Debug("gc: removing stale temporary file", "path", p)
		return g.remove(p)
	})
}

// sweepEmptyDirs removes the empty directories under dir, deepest first, and reports
// whether dir itself is (or, in a dry run, would be) gone; the root of the sweep stays. A
// crash between creating a blob's directory and renaming its data in, or between creating
// a link's directory and writing the link, leaves such a directory (issue 12). One that
// was empty before this run is removed only when older than maxAge (a directory made a
// moment ago may be about to receive its file); one this run emptied goes at once, as
// removing a blob always took its empty parents.
func (g *collector) sweepEmptyDirs(ctx context.Context, dir string, root bool, now time.Time, maxAge time.Duration) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, err
	}
	entries, err := os.ReadDir(dir)
	if isNotExist(err) {
		return true, nil
	}
	if err != nil {
		return false, err
	}
	empty, emptied := true, g.touched[dir]
	for _, e := range entries {
		p := filepath.Join(dir, e.Name())
		if g.gone[p] {
			continue
		}
		if !e.IsDir() {
			empty = false
			continue
		}
		gone, err := g.sweepEmptyDirs(ctx, p, false, now, maxAge)
		if err != nil {
			return false, err
		}
		if gone {
			emptied = true
		} else {
			empty = false
		}
	}
	if root || !empty {
		return false, nil
	}
	if !emptied {
		fi, err := os.Stat(dir)
		if err != nil || now.Sub(fi.ModTime()) <= maxAge {
			return false, nil
		}
	}
	g.rep.EmptyDirsRemoved++
	g.log.Debug("gc: removing empty directory", "path", dir)
	if g.dry {
		g.gone[dir] = true
		return true, nil
	}
	if err := os.Remove(dir); err != nil && !isNotExist(err) {
		return false, err
	}
	return true, nil
}
