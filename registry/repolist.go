package registry

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// listReposAfter returns, in the catalog's order (byte order of the names), the
// repositories whose names sort after last, at most limit of them (limit < 0: all). It
// reads only the directories it needs: a catalog page costs about the page's repositories
// rather than a walk of every repository (issue 15: the catalog of 5,000 repositories was
// walked whole for every page, ten times for one filtered page of the web UI).
//
// The walk visits a directory's children in an order that is the names' order: a child c
// stands for two keys, its own name prefix+c (is c a repository?) and the range of names
// under it, which all start with prefix+c+"/". Sorted by key, these ranges never overlap
// and sit in the right place between the siblings: "a-b" and "a.b" come before "a/x"
// ('-' and '.' sort before '/'), though a walk of "a" in directory order would put "a/x"
// first. Ranges entirely at or before last are skipped unread.
//
// What is a repository is listRepos' rule: a directory holding _manifests or _layers;
// directories starting with "_" hold data and are not descended into.
func listReposAfter(l layout, last string, limit int) ([]string, error) {
	w := repoWalk{last: last, limit: limit, out: []string{}}
	entries, err := readDirs(l.reposDir())
	if err != nil {
		return nil, err
	}
	if err := w.dir(l.reposDir(), "", entries); err != nil {
		return nil, fmt.Errorf("walking repositories: %w", err)
	}
	return w.out, nil
}

type repoWalk struct {
	last  string
	limit int
	out   []string
}

func (w *repoWalk) full() bool { return w.limit >= 0 && len(w.out) >= w.limit }

// walkKey is one key of a directory's walk: a child's own name, or the range under it.
type walkKey struct {
	key   string // prefix+child, or prefix+child+"/"
	child string
	under bool
}

// dir walks the children (entries) of the directory at path, whose repository-name
// prefix is prefix ("" or "team/app/").
func (w *repoWalk) dir(path, prefix string, entries []string) error {
	keys := make([]walkKey, 0, 2*len(entries))
	for _, c := range entries {
		if strings.HasPrefix(c, "_") {
			continue
		}
		keys = append(keys, walkKey{prefix + c, c, false}, walkKey{prefix + c + "/", c, true})
	}
	slices.SortFunc(keys, func(a, b walkKey) int { return strings.Compare(a.key, b.key) })
	// The children read for their own key, kept for their range (which follows soon).
	read := map[string][]string{}
	for _, k := range keys {
		if w.full() {
			return nil
		}
		if !k.under {
			if k.key <= w.last {
				continue
			}
			sub, err := readDirs(filepath.Join(path, k.child))
			if err != nil {
				return err
			}
			read[k.child] = sub
			if slices.Contains(sub, "_manifests") || slices.Contains(sub, "_layers") {
				w.out = append(w.out, k.key)
			}
			continue
		}
		// Names under the child: every one starts with k.key. Skip the range when last
		// sorts after all of them (last is not in it and is greater than its start).
		if w.last >= k.key && !strings.HasPrefix(w.last, k.key) {
			continue
		}
		sub, ok := read[k.child]
		if !ok {
			var err error
			if sub, err = readDirs(filepath.Join(path, k.child)); err != nil {
				return err
			}
		}
		delete(read, k.child)
		if err := w.dir(filepath.Join(path, k.child), k.key, sub); err != nil {
			return err
		}
	}
	return nil
}

// readDirs lists the subdirectories of path; none when it does not exist (removed while
// walking, or no repository yet).
func readDirs(path string) ([]string, error) {
	entries, err := os.ReadDir(path)
	if err != nil {
		if isNotExist(err) {
			return nil, nil
		}
		return nil, err
	}
	var out []string
	for _, e := range entries {
		if e.IsDir() {
			out = append(out, e.Name())
		}
	}
	return out, nil
}
