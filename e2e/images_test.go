package e2e

import (
	"path/filepath"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// ociTag is the tag under which images sit in the OCI layouts the tests write (skopeo's
// oci:DIR:TAG reads the org.opencontainers.image.ref.name annotation).
const ociTag = "1"

// randomImage makes a linux/amd64 OCI image of n random gzip layers of 64 KiB each.
// OCI media types throughout, because skopeo's oci: transport finds only OCI manifests in
// a layout.
func randomImage(t *testing.T, n int) v1.Image {
	t.Helper()
	layers := make([]v1.Layer, n)
	for i := range layers {
		l, err := random.Layer(64<<10, types.OCILayer)
		if err != nil {
			t.Fatalf("random layer: %v", err)
		}
		layers[i] = l
	}
	base := mutate.ConfigMediaType(mutate.MediaType(empty.Image, types.OCIManifestSchema1), types.OCIConfigJSON)
	img, err := mutate.AppendLayers(base, layers...)
	if err != nil {
		t.Fatalf("appending layers: %v", err)
	}
	cfg, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	cfg = cfg.DeepCopy()
	cfg.OS, cfg.Architecture = "linux", "amd64"
	cfg.Config.Cmd = []string{"/hello"}
	if img, err = mutate.ConfigFile(img, cfg); err != nil {
		t.Fatal(err)
	}
	return img
}

// writeLayout writes img to a new OCI image layout tagged ociTag and returns its directory.
func writeLayout(t *testing.T, img v1.Image) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "layout")
	p, err := layout.Write(dir, empty.Index)
	if err != nil {
		t.Fatalf("OCI layout: %v", err)
	}
	if err := p.AppendImage(img, layout.WithAnnotations(map[string]string{
		"org.opencontainers.image.ref.name": ociTag,
	})); err != nil {
		t.Fatalf("OCI layout: %v", err)
	}
	return dir
}

// writeDockerArchive writes img as a `docker save` tarball tagged ref and returns its path.
func writeDockerArchive(t *testing.T, img v1.Image, ref string) string {
	t.Helper()
	tag, err := name.NewTag(ref)
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "image.tar")
	if err := tarball.WriteToFile(file, tag, img); err != nil {
		t.Fatalf("docker archive: %v", err)
	}
	return file
}

// layoutDigest returns the manifest digest of the only image in an OCI layout.
func layoutDigest(t *testing.T, dir string) v1.Hash {
	t.Helper()
	idx, err := layout.ImageIndexFromPath(dir)
	if err != nil {
		t.Fatalf("reading OCI layout %s: %v", dir, err)
	}
	m, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Manifests) != 1 {
		t.Fatalf("OCI layout %s holds %d manifests, want 1", dir, len(m.Manifests))
	}
	return m.Manifests[0].Digest
}

func mustDigest(t *testing.T, img v1.Image) v1.Hash {
	t.Helper()
	d, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return d
}
