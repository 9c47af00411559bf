package registry

import (
	"encoding/json"
	"fmt"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/portcullis/portcullis/errcode"
	"github.com/portcullis/portcullis/reference"
)

// page applies the spec's pagination to a sorted list: entries strictly after last, at
// most n of them when n is given. more reports whether entries were cut off.
func page(all []string, q url.Values) (out []string, n int, more bool, err error) {
	n = -1
	if ns, ok := q["n"]; ok {
		v, perr := strconv.Atoi(ns[0])
		if perr != nil || v < 0 {
			return nil, 0, false, errcode.New(errcode.Unsupported, "n must be a non-negative integer").WithStatus(http.StatusBadRequest)
		}
		n = v
	}
	if last := q.Get("last"); last != "" {
		i, _ := slices.BinarySearch(all, last)
		if i < len(all) && all[i] == last {
			i++
		}
		all = all[i:]
	}
	if n >= 0 && len(all) > n {
		return all[:n], n, n > 0, nil
	}
	return all, n, false, nil
}

// setNextLink sets the RFC 5988 Link header pointing at the next page (a relative URL,
// as registry:2 sends it).
func setNextLink(w http.ResponseWriter, path string, last string, n int) {
	v := url.Values{}
	v.Set("last", last)
	v.Set("n", strconv.Itoa(n))
	w.Header().Set("Link", "<"+path+"?"+v.Encode()+`>; rel="next"`)
}

func writeJSON(w http.ResponseWriter, r *http.Request, contentType string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encoding response: %w", err)
	}
	w.Header().Set("Content-Type", contentType)
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		_, _ = w.Write(b)
	}
	return nil
}

func (reg *Registry) repoExists(name string) bool {
	for _, sub := range []string{"_manifests", "_layers"} {
		if fi, err := os.Stat(filepath.Join(reg.fs.repoDir(name), sub)); err == nil && fi.IsDir() {
			return true
		}
	}
	return false
}

// serveTags lists the repository's tags in lexical order.
func (reg *Registry) serveTags(w http.ResponseWriter, r *http.Request, rt Route) error {
	if !reg.repoExists(rt.Name) {
		return errcode.New(errcode.NameUnknown, "repository name not known to registry")
	}
	entries, err := os.ReadDir(reg.fs.tagsDir(rt.Name))
	if err != nil && !isNotExist(err) {
		return fmt.Errorf("listing tags of %s: %w", rt.Name, err)
	}
	tags := make([]string, 0, len(entries))
	for _, e := range entries {
		if e.IsDir() && reference.ValidTag(e.Name()) {
			if _, err := os.Stat(reg.fs.tagCurrentLink(rt.Name, e.Name())); err == nil {
				tags = append(tags, e.Name())
			}
		}
	}
	slices.Sort(tags)
	out, n, more, err := page(tags, r.URL.Query())
	if err != nil {
		return err
	}
	if more {
		setNextLink(w, "/v2/"+rt.Name+"/tags/list", out[len(out)-1], n)
	}
	return writeJSON(w, r, "application/json", struct {
		Name string   `json:"name"`
		Tags []string `json:"tags"`
	}{rt.Name, out})
}

// serveCatalog lists repositories: directories under repositories/ that hold _manifests
// or _layers, found by a walk that does not descend into "_" directories (registry:2's
// rule; those hold data, not repositories). A page reads only what it lists
// (listReposAfter).
func (reg *Registry) serveCatalog(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	_, n, _, err := page(nil, q) // checks n
	if err != nil {
		return err
	}
	limit := -1
	if n >= 0 {
		limit = n + 1 // one more than the page: is there a next one?
	}
	repos, err := listReposAfter(reg.fs, q.Get("last"), limit)
	if err != nil {
		return err
	}
	out, more := repos, false
	if n >= 0 && len(repos) > n {
		out, more = repos[:n], n > 0
	}
	if more {
		setNextLink(w, "/v2/_catalog", out[len(out)-1], n)
	}
	return writeJSON(w, r, "application/json", struct {
		Repositories []string `json:"repositories"`
	}{out})
}

func listRepos(l layout) ([]string, error) {
	root := l.reposDir()
	repos := []string{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if isNotExist(err) {
				return nil
			}
			return err
		}
		if !d.IsDir() || p == root {
			return nil
		}
		base := d.Name()
		if strings.HasPrefix(base, "_") {
			if base == "_manifests" || base == "_layers" {
				rel, _ := filepath.Rel(root, filepath.Dir(p))
				name := filepath.ToSlash(rel)
				if len(repos) == 0 || repos[len(repos)-1] != name {
					repos = append(repos, name)
				}
			}
			return filepath.SkipDir
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("walking repositories: %w", err)
	}
	slices.Sort(repos)
	return slices.Compact(repos), nil
}
