package registry

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestReadCacheSeesForeignWrites: a link rewritten in place (as registry:2's filesystem
// driver does), replaced by rename, or removed behind the cache's back is read anew.
func TestReadCacheSeesForeignWrites(t *testing.T) {
	c := newReadCache()
	dir := t.TempDir()
	path := filepath.Join(dir, "link")
	d1 := digest{alg: "sha256", hex: "1111111111111111111111111111111111111111111111111111111111111111"}
	d2 := digest{alg: "sha256", hex: "2222222222222222222222222222222222222222222222222222222222222222"}
	d3 := digest{alg: "sha256", hex: "3333333333333333333333333333333333333333333333333333333333333333"}
	write := func(d digest) {
		t.Helper()
		if err := os.WriteFile(path, []byte(d.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	read := func(want digest) {
		t.Helper()
		got, err := c.readLink(path)
		if err != nil || got != want {
			t.Fatalf("readLink = %v, %v; want %v", got, err, want)
		}
	}
	write(d1)
	read(d1)
	read(d1) // from the cache

	// In place, same size: only the modification time tells; make sure it moves.
	write(d2)
	later := time.Now().Add(time.Second)
	os.Chtimes(path, later, later)
	read(d2)

	// Replaced by rename: a new inode.
	tmp := filepath.Join(dir, "tmp")
	os.WriteFile(tmp, []byte(d3.String()), 0o644)
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
	read(d3)

	os.Remove(path)
	if _, err := c.readLink(path); err == nil {
		t.Fatal("readLink of a removed link succeeded from the cache")
	}
	if c.linkExists(dir, d3) {
		t.Fatal("linkExists true for a removed link")
	}
}

func TestReadCacheBounds(t *testing.T) {
	c := newReadCache()
	big := make([]byte, maxCachedManifestSize+1)
	c.putManifest(digest{alg: "sha256", hex: "aa"}, big, "x")
	if _, ok := c.manifest(digest{alg: "sha256", hex: "aa"}); ok {
		t.Fatal("a manifest over the size limit was cached")
	}
	body := make([]byte, maxCachedManifestSize)
	for i := range maxCachedManifestBytes/maxCachedManifestSize + 2 {
		c.putManifest(digest{alg: "sha256", hex: string(rune('a' + i))}, body, "x")
	}
	if c.bytes > maxCachedManifestBytes {
		t.Fatalf("cache holds %d bytes, bound %d", c.bytes, maxCachedManifestBytes)
	}
}
