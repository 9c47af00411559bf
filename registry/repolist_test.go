package registry

import (
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestListReposAfter checks the paged walk against the whole walk (listRepos) for every
// last and limit, over names whose byte order differs from a directory walk's order
// ("a-b" and "a.b" before "a/x"), nested repositories, and data directories.
func TestListReposAfter(t *testing.T) {
	l := layout{base: t.TempDir()}
	names := []string{"a", "a-b", "a.b", "a/x", "a/x/y", "a/x-z", "a_c", "ab", "b/c/d", "b/c-d", "b.c/d", "z0", "z/9"}
	rng := rand.New(rand.NewPCG(1, 2))
	alphabet := "ab-._/"
	for range 60 {
		n := make([]byte, 1+rng.IntN(6))
		for i := range n {
			n[i] = alphabet[rng.IntN(len(alphabet))]
		}
		s := string(n)
		if !slices.ContainsFunc(strings.Split(s, "/"), func(seg string) bool { return seg == "" || seg == "." || seg == ".." }) {
			names = append(names, s)
		}
	}
	for i, n := range names {
		data := "_manifests"
		if i%3 == 0 {
			data = "_layers"
		}
		if err := os.MkdirAll(filepath.Join(l.reposDir(), filepath.FromSlash(n), data), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	// A directory with only uploads is no repository; nor is a data directory's content.
	_ = os.MkdirAll(filepath.Join(l.reposDir(), "up", "_uploads", "x", "_manifests"), 0o755)
	all, err := listRepos(l)
	if err != nil {
		t.Fatal(err)
	}
	lasts := append([]string{"", "~", "a/", "a-", "a/x/", "b/c"}, all...)
	for _, last := range lasts {
		i, _ := slices.BinarySearch(all, last)
		if i < len(all) && all[i] == last {
			i++
		}
		want := all[i:]
		for _, limit := range []int{-1, 0, 1, 2, 5, 1000} {
			got, err := listReposAfter(l, last, limit)
			if err != nil {
				t.Fatal(err)
			}
			w := want
			if limit >= 0 && len(w) > limit {
				w = w[:limit]
			}
			if !slices.Equal(got, w) {
				t.Fatalf("after %q limit %d: got %q, want %q", last, limit, got, w)
			}
		}
	}
}
