package registry

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// PurgeReport counts what PurgeUploads removed.
type PurgeReport struct {
	Uploads int   // sessions removed
	Bytes   int64 // their data
}

// PurgeUploads removes the upload sessions that have been idle for longer than olderThan:
// no chunk written since (the data file's modification time) and started before. It is
// registry:2's upload purging, run by the process serving the registry on a schedule, so
// that an abandoned session never pins its space (issue 12). Unlike registry:2, which ages
// a session from its start, a session still receiving chunks is never purged, however long
// the upload takes; and one a request is using right now is skipped.
func (reg *Registry) PurgeUploads(ctx context.Context, olderThan time.Duration) (PurgeReport, error) {
	var rep PurgeReport
	// Every _uploads directory: a repository may have nothing but sessions (listRepos,
	// for the catalog, looks for _manifests and _layers).
	var repos []string
	root := reg.fs.reposDir()
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if isNotExist(err) {
				return nil
			}
			return err
		}
		if d.IsDir() && strings.HasPrefix(d.Name(), "_") {
			if d.Name() == "_uploads" {
				rel, _ := filepath.Rel(root, filepath.Dir(p))
				repos = append(repos, filepath.ToSlash(rel))
			}
			return filepath.SkipDir
		}
		return nil
	})
	if err != nil {
		return rep, fmt.Errorf("listing uploads: %w", err)
	}
	now := time.Now()
	for _, name := range repos {
		ids, err := os.ReadDir(reg.fs.uploadsDir(name))
		if isNotExist(err) {
			continue
		}
		if err != nil {
			return rep, fmt.Errorf("listing uploads of %s: %w", name, err)
		}
		for _, id := range ids {
			if err := ctx.Err(); err != nil {
				return rep, err
			}
			unlock, ok := reg.sessions.tryLock(name + "/" + id.Name())
			if !ok {
				continue // a request is on it: not idle
			}
			dir := filepath.Join(reg.fs.uploadsDir(name), id.Name())
			last := uploadStart(dir)
			var size int64
			if fi, err := os.Stat(filepath.Join(dir, "data")); err == nil {
				size = fi.Size()
				if fi.ModTime().After(last) {
					last = fi.ModTime()
				}
			}
			if now.Sub(last) > olderThan {
				if err := os.RemoveAll(dir); err != nil {
					unlock()
					return rep, fmt.Errorf("purging upload %s: %w", dir, err)
				}
				rep.Uploads++
				rep.Bytes += size
				reg.log.Debug("purged idle upload", "repository", name, "upload", id.Name(), "last_write", last)
			}
			unlock()
		}
	}
	return rep, nil
}
