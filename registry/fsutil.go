package registry

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// writeFileAtomic writes b to path through a temporary file in the same directory that is
// synced and renamed into place, so readers see the old content or the new, never a part.
func writeFileAtomic(path string, b []byte) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("creating %s: %w", dir, err)
	}
	f, err := os.CreateTemp(dir, ".tmp-*")
	if isNotExist(err) { // a concurrent delete pruned dir between MkdirAll and here
		if err = os.MkdirAll(dir, 0o755); err == nil {
			f, err = os.CreateTemp(dir, ".tmp-*")
		}
	}
	if err != nil {
		return fmt.Errorf("creating temporary file in %s: %w", dir, err)
	}
	tmp := f.Name()
	// CreateTemp makes 0600 files; registry:2 writes 0644 (0666 less a 022 umask), and
	// a registry:2, GC job or backup running as another user must read ours too.
	err = f.Chmod(0o644)
	if err == nil {
		_, err = f.Write(b)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return nil
}

// writeLink writes a registry:2 link file "<dir>/link" holding d, unless it already
// does (a re-push then costs a read, not an fsync).
func writeLink(dir string, d digest) error {
	if linkExists(dir, d) {
		return nil
	}
	return writeFileAtomic(filepath.Join(dir, "link"), []byte(d.String()))
}

// readLink reads a link file; fs.ErrNotExist when absent, an error when it does not hold
// a supported digest.
func readLink(path string) (digest, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return digest{}, err
	}
	d, ok := parseDigest(strings.TrimSpace(string(b)))
	if !ok {
		return digest{}, fmt.Errorf("link %s holds %q: not a supported digest", path, b)
	}
	return d, nil
}

// linkExists reports whether "<dir>/link" exists and names d.
func linkExists(dir string, d digest) bool {
	got, err := readLink(filepath.Join(dir, "link"))
	return err == nil && got == d
}

func isNotExist(err error) bool { return errors.Is(err, fs.ErrNotExist) }

// digestDirs lists the digests named by a registry:2 directory tree <root>/<alg>/<hex>
// (layer links, manifest revisions, referrers and their subjects), skipping names that are
// not digests of a supported algorithm.
func digestDirs(root string) ([]digest, error) {
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
