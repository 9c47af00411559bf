package testenv

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Leftovers lists what a crash leaves under the given directories (a registry's blobs/
// and repositories/): temporary files (.tmp-*) and empty directories, the latter with a
// trailing slash. A directory that does not exist holds none.
func Leftovers(t testing.TB, dirs ...string) []string {
	t.Helper()
	var out []string
	for _, top := range dirs {
		err := filepath.WalkDir(top, func(p string, e fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if strings.HasPrefix(e.Name(), ".tmp-") {
				out = append(out, p)
			}
			if e.IsDir() && p != top {
				if ents, _ := os.ReadDir(p); len(ents) == 0 {
					out = append(out, p+"/")
				}
			}
			return nil
		})
		if err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
	}
	return out
}
