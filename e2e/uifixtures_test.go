package e2e

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// The browser test's users: uiOwner owns uiOwner/..., uiOther is an ordinary user, and
// uiAdmin is in group admins (the audit page).
const (
	uiOwner     = "alice"
	uiOwnerPass = "alice-ui-secret-1"
	uiOther     = "bob"
	uiOtherPass = "bob-ui-secret-2"
	uiAdmin     = "carol"
	uiAdminPass = "carol-ui-secret-3"
)

// uiPolicy is the default policy (pull everything, push and delete under your own name,
// admins everything) with one change: a repository under "<user>/private/" may be pulled
// only by that user (and admins), so that "only the repositories you may pull" is a
// real filter.
const uiPolicy = `package portcullis.authz

authenticated if input.principal.name != ""

admin if {
	authenticated
	"admins" in input.principal.groups
}

namespace := concat("", [input.principal.name, "/"])

own(name) if startswith(name, namespace)

private(name) if regex.match("^[^/]+/private/", name)

granted contains {"type": r.type, "name": r.name, "actions": ["*"]} if {
	admin
	some r in input.access
}

granted contains {"type": r.type, "name": r.name, "actions": ["pull"]} if {
	authenticated
	some r in input.access
	r.type == "repository"
	not private(r.name)
}

granted contains {"type": r.type, "name": r.name, "actions": ["pull", "push", "delete"]} if {
	authenticated
	some r in input.access
	r.type == "repository"
	own(r.name)
}

granted contains {"type": "registry", "name": "catalog", "actions": ["*"]} if {
	authenticated
	some r in input.access
	r.type == "registry"
	r.name == "catalog"
}

reason := "e2e ui policy"
`

// Repositories and tags the fixtures push.
const (
	uiAppRepo     = uiOwner + "/app"            // multi-platform index "1.0", images "amd64" and "old"
	uiPrivateRepo = uiOwner + "/private/secret" // uiOther may not pull it
	uiHostileRepo = uiOwner + "/hostile"        // hostile annotations, config and tags
	sigstoreType  = "application/vnd.dev.sigstore.bundle.v0.3+json"
)

// Hostile values pushed into uiHostileRepo, each of which must show as literal text.
var hostileAnnotations = map[string]string{
	"org.opencontainers.image.description":   `<script>alert(1)</script>`,
	"org.opencontainers.image.source":        `javascript:alert(1)`,
	"org.opencontainers.image.title":         `"quotes' & <b>bold</b>`,
	"org.opencontainers.image.url":           `javascript:alert(document.cookie)`,
	"org.opencontainers.image.documentation": `https://example.invalid/"><img src=x onerror=alert(2)>`,
	`<img src=x onerror=alert(3)>`:           `a key that is markup`,
	"org.example.style":                      `</td></tr></table><style>body{display:none}</style>`,
}

// hostileTags are tags the distribution grammar allows that trip careless JavaScript
// (object keys) and careless templates (nothing here is markup: tags cannot hold it).
var hostileTags = []string{"__proto__", "constructor", "1"}

// hostileArtifactType is the artifact type of a referrer of the hostile image.
const hostileArtifactType = `application/vnd.evil+json"><script>alert(6)</script>`

// hostileArch is the architecture in the hostile image's config, shown on its page.
const hostileArch = `<svg onload=alert(4)>`

// uiFixtures is what the fixtures pushed, for the test to compare the pages with.
type uiFixtures struct {
	index, amd64, arm64, old, referrer, private, hostile, hostileReferrer v1.Hash
	created                                                               map[string]time.Time // by platform
}

// pushUIFixtures pushes the test's repositories as uiOwner with go-containerregistry.
func pushUIFixtures(t *testing.T, g *gateway) uiFixtures {
	t.Helper()
	opts := g.ggcrOptions(t, uiOwner, uiOwnerPass)
	f := uiFixtures{created: map[string]time.Time{
		"linux/amd64": time.Date(2024, 5, 1, 12, 30, 0, 0, time.UTC),
		"linux/arm64": time.Date(2024, 5, 2, 8, 15, 0, 0, time.UTC),
	}}
	amd64 := platformImage(t, "amd64", f.created["linux/amd64"])
	arm64 := platformImage(t, "arm64", f.created["linux/arm64"])
	idx := mutate.AppendManifests(mutate.IndexMediaType(empty.Index, types.OCIImageIndex),
		mutate.IndexAddendum{Add: amd64, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: "amd64"}}},
		mutate.IndexAddendum{Add: arm64, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: "arm64"}}},
	)
	if err := remote.WriteIndex(g.ggcrRef(t, uiAppRepo+":1.0"), idx, opts...); err != nil {
		t.Fatalf("pushing the index: %v", err)
	}
	f.index = mustIndexDigest(t, idx)
	f.amd64, f.arm64 = mustDigest(t, amd64), mustDigest(t, arm64)
	if err := remote.Write(g.ggcrRef(t, uiAppRepo+":amd64"), amd64, opts...); err != nil {
		t.Fatal(err)
	}
	old := platformImage(t, "amd64", time.Date(2023, 1, 2, 3, 4, 5, 0, time.UTC))
	if err := remote.Write(g.ggcrRef(t, uiAppRepo+":old"), old, opts...); err != nil {
		t.Fatal(err)
	}
	f.old = mustDigest(t, old)

	idxSize, err := idx.Size()
	if err != nil {
		t.Fatal(err)
	}
	f.referrer = pushArtifact(t, g, uiAppRepo, sigstoreType, v1.Descriptor{
		MediaType: types.OCIImageIndex, Digest: f.index, Size: idxSize,
	})

	private := platformImage(t, "amd64", time.Date(2024, 6, 1, 0, 0, 0, 0, time.UTC))
	if err := remote.Write(g.ggcrRef(t, uiPrivateRepo+":1"), private, opts...); err != nil {
		t.Fatal(err)
	}
	f.private = mustDigest(t, private)

	hostile := platformImage(t, hostileArch, time.Date(2024, 7, 1, 0, 0, 0, 0, time.UTC))
	hostile = mutate.Annotations(hostile, hostileAnnotations).(v1.Image)
	for _, tag := range hostileTags {
		if err := remote.Write(g.ggcrRef(t, uiHostileRepo+":"+tag), hostile, opts...); err != nil {
			t.Fatalf("pushing %s:%s: %v", uiHostileRepo, tag, err)
		}
	}
	f.hostile = mustDigest(t, hostile)
	hostileSize, err := hostile.Size()
	if err != nil {
		t.Fatal(err)
	}
	f.hostileReferrer = pushArtifact(t, g, uiHostileRepo, hostileArtifactType, v1.Descriptor{
		MediaType: types.OCIManifestSchema1, Digest: f.hostile, Size: hostileSize,
	})
	return f
}

// platformImage is a one-layer OCI image for linux/arch whose config says when it was
// created.
func platformImage(t *testing.T, arch string, created time.Time) v1.Image {
	t.Helper()
	img := randomImage(t, 1)
	cfg, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	cfg = cfg.DeepCopy()
	cfg.OS, cfg.Architecture = "linux", arch
	cfg.Created = v1.Time{Time: created}
	if img, err = mutate.ConfigFile(img, cfg); err != nil {
		t.Fatal(err)
	}
	return img
}

// rawManifest is a manifest pushed as its bytes (go-containerregistry cannot yet write an
// artifactType).
type rawManifest struct {
	body      []byte
	mediaType types.MediaType
}

func (m rawManifest) RawManifest() ([]byte, error)        { return m.body, nil }
func (m rawManifest) MediaType() (types.MediaType, error) { return m.mediaType, nil }

// pushArtifact pushes an OCI 1.1 artifact of artifactType whose subject is subject (a
// referrer: a signature, an SBOM...), with the empty config and one small layer, by
// digest, and returns its digest.
func pushArtifact(t *testing.T, g *gateway, repo, artifactType string, subject v1.Descriptor) v1.Hash {
	t.Helper()
	opts := g.ggcrOptions(t, uiOwner, uiOwnerPass)
	r := g.ggcrRef(t, repo+":x").Context()
	cfg := static.NewLayer([]byte("{}"), "application/vnd.oci.empty.v1+json")
	bundle := static.NewLayer([]byte(`{"mediaType":"`+artifactType+`","verificationMaterial":{}}`), types.MediaType(artifactType))
	desc := func(l v1.Layer) v1.Descriptor {
		if err := remote.WriteLayer(r, l, opts...); err != nil {
			t.Fatalf("pushing a blob: %v", err)
		}
		d, _ := l.Digest()
		n, _ := l.Size()
		mt, _ := l.MediaType()
		return v1.Descriptor{MediaType: mt, Digest: d, Size: n}
	}
	m := v1.Manifest{
		SchemaVersion: 2,
		MediaType:     types.OCIManifestSchema1,
		Config:        desc(cfg),
		Layers:        []v1.Descriptor{desc(bundle)},
		Subject:       &subject,
		Annotations:   map[string]string{"org.opencontainers.image.created": "2024-05-03T10:00:00Z"},
	}
	body, err := json.Marshal(struct {
		v1.Manifest
		ArtifactType string `json:"artifactType"`
	}{m, artifactType})
	if err != nil {
		t.Fatal(err)
	}
	d := v1.Hash{Algorithm: "sha256", Hex: sha256Digest(body)[len("sha256:"):]}
	if err := remote.Put(r.Digest(d.String()), rawManifest{body, types.OCIManifestSchema1}, opts...); err != nil {
		t.Fatalf("pushing the %s referrer: %v", artifactType, err)
	}
	return d
}

func mustIndexDigest(t *testing.T, idx v1.ImageIndex) v1.Hash {
	t.Helper()
	d, err := idx.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// uiAuthFlags writes the users, the groups file and the policy, and returns the flags.
func uiAuthFlags(t *testing.T) []string {
	t.Helper()
	dir := t.TempDir()
	htpasswd := filepath.Join(dir, "htpasswd")
	groups := filepath.Join(dir, "groups.yaml")
	policy := filepath.Join(dir, "ui.rego")
	writeHtpasswd(t, htpasswd, map[string]string{uiOwner: uiOwnerPass, uiOther: uiOtherPass, uiAdmin: uiAdminPass})
	if err := os.WriteFile(groups, []byte("admins: ["+uiAdmin+"]\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(policy, []byte(uiPolicy), 0o600); err != nil {
		t.Fatal(err)
	}
	return []string{"--htpasswd", htpasswd, "--groups", groups, "--policy", policy}
}
