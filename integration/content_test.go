package integration

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sync/atomic"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

const ociManifest = "application/vnd.oci.image.manifest.v1+json"

// image is what seedImage pushed: one manifest (tag "v1") with a config and a layer.
type image struct {
	Manifest  []byte
	MediaType string
	Digest    string // of the manifest
	Config    string // digest
	Layer     string // digest
}

// seedImage pushes one random image to each repository as admin, through the gateway,
// with go-containerregistry's remote.Write: what a real client does.
func seedImage(t testing.TB, s *stack, repos ...string) image {
	t.Helper()
	img, err := random.Image(512, 1)
	if err != nil {
		t.Fatal(err)
	}
	for _, repo := range repos {
		ref, err := name.ParseReference(s.Host+"/"+repo+":v1", name.Insecure)
		if err != nil {
			t.Fatal(err)
		}
		if err := remote.Write(ref, img, userAuth(admin)); err != nil {
			t.Fatalf("seeding %s as admin: %v", repo, err)
		}
	}
	raw, err := img.RawManifest()
	if err != nil {
		t.Fatal(err)
	}
	mt, _ := img.MediaType()
	d, _ := img.Digest()
	cfg, _ := img.ConfigName()
	layers, _ := img.Layers()
	ld, _ := layers[0].Digest()
	return image{Manifest: raw, MediaType: string(mt), Digest: d.String(), Config: cfg.String(), Layer: ld.String()}
}

func userAuth(user string) remote.Option {
	return remote.WithAuth(&authn.Basic{Username: user, Password: passwordOf(user)})
}

func digestOf(b []byte) string {
	h := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(h[:])
}

// unique makes content no other call made.
var unique atomic.Int64

// bareBlob stores content in repo straight into the registry (no gateway) and returns its
// digest.
func bareBlob(t testing.TB, s *stack, repo string, content []byte) string {
	t.Helper()
	d := digestOf(content)
	r := call(t, anon, http.MethodPost, s.Bare+"/v2/"+repo+"/blobs/uploads/?digest="+d, content, nil)
	if r.Status != http.StatusCreated {
		t.Fatalf("seeding blob in %s: %d %s", repo, r.Status, r.Body)
	}
	return d
}

// bareManifest creates a new image (a unique config, no layers) in repo under tag, straight
// into the registry, and returns the manifest's digest.
func bareManifest(t testing.TB, s *stack, repo, tag string) string {
	t.Helper()
	cfg := fmt.Appendf(nil, `{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]},"comment":"%d"}`, unique.Add(1))
	cd := bareBlob(t, s, repo, cfg)
	m := freshManifest(cd, len(cfg))
	r := call(t, anon, http.MethodPut, s.Bare+"/v2/"+repo+"/manifests/"+tag, m, http.Header{"Content-Type": {ociManifest}})
	if r.Status != http.StatusCreated {
		t.Fatalf("seeding manifest %s:%s: %d %s", repo, tag, r.Status, r.Body)
	}
	return digestOf(m)
}

func freshManifest(configDigest string, size int) []byte {
	return fmt.Appendf(nil, `{"schemaVersion":2,"mediaType":%q,"config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":%q,"size":%d},"layers":[]}`,
		ociManifest, configDigest, size)
}

// bareUpload opens an upload session in repo straight in the registry and returns its
// path (the Location, without scheme and host).
func bareUpload(t testing.TB, s *stack, repo string) string {
	t.Helper()
	r := call(t, anon, http.MethodPost, s.Bare+"/v2/"+repo+"/blobs/uploads/", nil, nil)
	if r.Status != http.StatusAccepted {
		t.Fatalf("opening upload in %s: %d %s", repo, r.Status, r.Body)
	}
	u, err := url.Parse(r.Header.Get("Location"))
	if err != nil || u.Path == "" {
		t.Fatalf("upload Location %q: %v", r.Header.Get("Location"), err)
	}
	return u.RequestURI()
}

// pullImage reads repo:v1 as user with go-containerregistry, layers included.
func pullImage(s *stack, user, repo string) (v1.Image, error) {
	ref, err := name.ParseReference(s.Host+"/"+repo+":v1", name.Insecure)
	if err != nil {
		return nil, err
	}
	opt := remote.WithAuth(authn.Anonymous)
	if user != anon {
		opt = userAuth(user)
	}
	img, err := remote.Image(ref, opt)
	if err != nil {
		return nil, err
	}
	layers, err := img.Layers()
	if err != nil {
		return nil, err
	}
	for _, l := range layers {
		rc, err := l.Compressed()
		if err != nil {
			return nil, err
		}
		_, err = io.Copy(io.Discard, rc)
		rc.Close()
		if err != nil {
			return nil, err
		}
	}
	return img, nil
}
