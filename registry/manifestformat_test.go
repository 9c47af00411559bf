package registry

import (
	"errors"
	"testing"

	"github.com/portcullis/portcullis/errcode"
)

func TestStoredMediaType(t *testing.T) {
	for body, want := range map[string]string{
		`{"schemaVersion":2,"mediaType":"application/vnd.docker.distribution.manifest.v2+json"}`: mtDockerManifest,
		`{"schemaVersion":2,"config":{},"layers":[]}`:                                            mtOCIManifest,
		`{"schemaVersion":2,"manifests":[]}`:                                                     mtOCIIndex,
		`{"schemaVersion":1,"fsLayers":[],"signatures":[]}`:                                      "application/vnd.docker.distribution.manifest.v1+prettyjws",
		`{"schemaVersion":1,"fsLayers":[]}`:                                                      "application/vnd.docker.distribution.manifest.v1+json",
		`not json`:                                                                               "application/octet-stream",
		// Stored by an older version or another registry: never served as a document.
		`{"schemaVersion":2,"mediaType":"text/html","config":{},"layers":[]}`: "application/octet-stream",
		`{"schemaVersion":2,"mediaType":"image/svg+xml"}`:                     "application/octet-stream",
	} {
		if got := storedMediaType([]byte(body)); got != want {
			t.Errorf("storedMediaType(%s) = %q, want %q", body, got, want)
		}
	}
}

// FuzzParseManifest: any body is either accepted, with every descriptor digest valid, or
// refused with a client error (4xx), never an internal one.
func FuzzParseManifest(f *testing.F) {
	d := "sha256:" + "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"
	for _, s := range []string{
		`{"schemaVersion":2,"mediaType":"` + mtOCIManifest + `","config":{"mediaType":"a/b","digest":"` + d + `","size":5},"layers":[]}`,
		`{"schemaVersion":2,"mediaType":"` + mtOCIIndex + `","manifests":[{"mediaType":"a","digest":"` + d + `","size":1}]}`,
		`{"schemaVersion":2,"config":{"digest":"` + d + `","size":5,"data":"aGVsbG8="},"subject":{"digest":"` + d + `","size":1}}`,
		`{"schemaVersion":1}`, `[]`, `null`, `{"schemaVersion":2,"config":{"digest":"sha256:x"}}`, ``,
	} {
		f.Add([]byte(s), "")
		f.Add([]byte(s), mtOCIManifest)
	}
	f.Fuzz(func(t *testing.T, body []byte, ct string) {
		m, err := parseManifest(body, ct)
		if err != nil {
			var e *errcode.Error
			if !errors.As(err, &e) || e.HTTPStatus() < 400 || e.HTTPStatus() >= 500 {
				t.Fatalf("parseManifest error %v is not a client error", err)
			}
			return
		}
		for _, desc := range m.descriptors() {
			if _, ok := parseDigest(desc.Digest); !ok {
				t.Fatalf("accepted descriptor digest %q", desc.Digest)
			}
		}
		if m.Subject != nil {
			if _, ok := parseDigest(m.Subject.Digest); !ok {
				t.Fatalf("accepted subject digest %q", m.Subject.Digest)
			}
		}
		if storedMediaType(body) != mediaTypeOf(m) {
			t.Fatalf("stored media type %q differs from parsed %q", storedMediaType(body), mediaTypeOf(m))
		}
	})
}
