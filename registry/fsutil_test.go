package registry

import (
	"os"
	"path/filepath"
	"testing"
)

// TestWriteFileAtomicMode: files the registry writes (manifests, links, hash states) are
// 0644 like registry:2's, not CreateTemp's 0600, so another user's registry:2, GC or
// backup can read them.
func TestWriteFileAtomicMode(t *testing.T) {
	path := filepath.Join(t.TempDir(), "a", "b", "link")
	if err := writeFileAtomic(path, []byte("sha256:x")); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o644 {
		t.Fatalf("mode %v, want 0644", fi.Mode().Perm())
	}
	if b, _ := os.ReadFile(path); string(b) != "sha256:x" {
		t.Fatalf("content %q", b)
	}
}
