package e2e

import (
	"io"
	"io/fs"
	"maps"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// blobFiles maps each blob data file under DATA/registry/docker/registry/v2/blobs to its
// size.
func blobFiles(t *testing.T, data string) map[string]int64 {
	t.Helper()
	root := filepath.Join(data, "registry", "docker", "registry", "v2", "blobs")
	files := map[string]int64{}
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		files[path] = info.Size()
		return nil
	})
	if err != nil {
		t.Fatalf("walking %s: %v", root, err)
	}
	return files
}

// blobPath is where the bundled registry keeps the blob with digest h.
func blobPath(data string, h v1.Hash) string {
	return filepath.Join(data, "registry", "docker", "registry", "v2", "blobs",
		h.Algorithm, h.Hex[:2], h.Hex, "data")
}

func total(files map[string]int64) (n int64) {
	for _, s := range files {
		n += s
	}
	return n
}

// imageBlobs returns the digests of an image's config and layers.
func imageBlobs(t *testing.T, img v1.Image) []v1.Hash {
	t.Helper()
	cfg, err := img.ConfigName()
	if err != nil {
		t.Fatal(err)
	}
	blobs := []v1.Hash{cfg}
	layers, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range layers {
		d, err := l.Digest()
		if err != nil {
			t.Fatal(err)
		}
		blobs = append(blobs, d)
	}
	return blobs
}

func TestGC(t *testing.T) {
	t.Parallel()
	data := t.TempDir()
	g := startGateway(t, data, authFlags(t)...)
	opts := g.ggcrOptions(t, adminUser, adminPass)

	doomed, kept := randomImage(t, 3), randomImage(t, 1)
	for ref, img := range map[string]v1.Image{"gone:1": doomed, "kept:1": kept} {
		if err := remote.Write(g.ggcrRef(t, adminUser+"/"+ref), img, opts...); err != nil {
			t.Fatalf("pushing %s: %v", ref, err)
		}
	}
	digest := mustDigest(t, doomed).String()
	if _, err := exec.LookPath("skopeo"); err == nil {
		s := newSkopeo(t, g, adminUser, adminPass)
		if stderr, err := s.delete(adminUser + "/gone@" + digest); err != nil {
			t.Fatalf("skopeo delete: %v\n%s", err, stderr)
		}
	} else if err := remote.Delete(g.ggcrRef(t, adminUser+"/gone@"+digest), opts...); err != nil {
		t.Fatalf("remote.Delete: %v", err)
	}
	g.Stop()

	before := blobFiles(t, data)
	doomedBlobs := imageBlobs(t, doomed)
	for _, h := range append(doomedBlobs, imageBlobs(t, kept)...) {
		if _, ok := before[blobPath(data, h)]; !ok {
			t.Fatalf("blob %s not at %s before gc; the storage layout is not distribution's", h, blobPath(data, h))
		}
	}

	out, _ := runCmd(t, "", gatewayBin, "gc", "--data", data)
	t.Logf("gateway gc (dry run): %s", strings.TrimSpace(out))
	if after := blobFiles(t, data); !maps.Equal(after, before) {
		t.Errorf("dry-run gc changed the blobs: %d files (%d bytes) before, %d (%d) after",
			len(before), total(before), len(after), total(after))
	}

	out, _ = runCmd(t, "", gatewayBin, "gc", "--delete", "--data", data)
	t.Logf("gateway gc --delete: %s", strings.TrimSpace(out))
	after := blobFiles(t, data)
	for _, h := range doomedBlobs {
		if _, ok := after[blobPath(data, h)]; ok {
			t.Errorf("blob %s of the deleted image survived gc --delete", h)
		}
	}
	for _, h := range imageBlobs(t, kept) {
		if _, ok := after[blobPath(data, h)]; !ok {
			t.Errorf("blob %s of a tagged image was removed by gc --delete", h)
		}
	}
	if total(after) >= total(before) {
		t.Errorf("blob bytes %d after gc --delete, want fewer than %d", total(after), total(before))
	}
	t.Logf("blob bytes: %d before gc, %d after gc --delete", total(before), total(after))

	g.Start()
	if got, err := remoteGet(t, g, adminUser+"/kept:1", adminUser, adminPass); err != nil || got != mustDigest(t, kept).String() {
		t.Errorf("pulling kept:1 after gc: %s, %v", got, err)
	}
	d := g.pushGGCR(t, adminUser+"/again:1", adminUser, adminPass, 2)
	if got, err := remoteGet(t, g, adminUser+"/again:1", adminUser, adminPass); err != nil || got != d {
		t.Errorf("push then pull after gc: %s, %v; want %s", got, err, d)
	}
	// Pushing the deleted image again must upload its blobs afresh and serve them.
	if err := remote.Write(g.ggcrRef(t, adminUser+"/gone:1"), doomed, g.ggcrOptions(t, adminUser, adminPass)...); err != nil {
		t.Errorf("pushing the collected image again: %v", err)
	}
	img, err := remote.Image(g.ggcrRef(t, adminUser+"/gone:1"), g.ggcrOptions(t, adminUser, adminPass)...)
	if err != nil {
		t.Fatalf("pulling gone:1 again: %v", err)
	}
	layers, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range layers {
		rc, err := l.Compressed()
		if err != nil {
			t.Fatalf("layer after re-push: %v", err)
		}
		if _, err := io.Copy(io.Discard, rc); err != nil {
			t.Errorf("reading layer after re-push: %v", err)
		}
		rc.Close()
	}
}
