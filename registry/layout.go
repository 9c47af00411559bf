package registry

import (
	"path/filepath"
)

// layout maps registry objects to paths under registry:2's filesystem layout
// (distribution's registry/storage/paths.go):
//
//	<root>/docker/registry/v2/blobs/<alg>/<hex[:2]>/<hex>/data
//	<root>/docker/registry/v2/repositories/<name>/_layers/<alg>/<hex>/link
//	<root>/docker/registry/v2/repositories/<name>/_manifests/revisions/<alg>/<hex>/link
//	<root>/docker/registry/v2/repositories/<name>/_manifests/tags/<tag>/current/link
//	<root>/docker/registry/v2/repositories/<name>/_manifests/tags/<tag>/index/<alg>/<hex>/link
//	<root>/docker/registry/v2/repositories/<name>/_uploads/<id>/{data,startedat,hashstates/<alg>/<offset>}
//
// plus one directory of our own that registry:2 never reads (its manifest enumerator and
// tag service walk only revisions/ and tags/ under _manifests):
//
//	<root>/docker/registry/v2/repositories/<name>/_manifests/referrers/<alg>/<hex>/<alg>/<hex>/link
//
// which indexes manifests by the digest of their subject. Every link file holds the
// digest string "alg:hex", with no newline, exactly as registry:2 writes it.
type layout struct {
	base string // <root>/docker/registry/v2
}

func newLayout(root string) layout {
	return layout{base: filepath.Join(root, "docker", "registry", "v2")}
}

func (l layout) blobsDir() string { return filepath.Join(l.base, "blobs") }

func (l layout) blobDir(d digest) string {
	return filepath.Join(l.base, "blobs", string(d.alg), d.hex[:2], d.hex)
}

func (l layout) blobData(d digest) string { return filepath.Join(l.blobDir(d), "data") }

func (l layout) reposDir() string { return filepath.Join(l.base, "repositories") }

func (l layout) repoDir(name string) string {
	return filepath.Join(l.base, "repositories", filepath.FromSlash(name))
}

func (l layout) layerLinkDir(name string, d digest) string {
	return filepath.Join(l.repoDir(name), "_layers", string(d.alg), d.hex)
}

func (l layout) revisionsDir(name string) string {
	return filepath.Join(l.repoDir(name), "_manifests", "revisions")
}

func (l layout) revisionLinkDir(name string, d digest) string {
	return filepath.Join(l.revisionsDir(name), string(d.alg), d.hex)
}

func (l layout) tagsDir(name string) string {
	return filepath.Join(l.repoDir(name), "_manifests", "tags")
}

func (l layout) tagDir(name, tag string) string { return filepath.Join(l.tagsDir(name), tag) }

func (l layout) tagCurrentLink(name, tag string) string {
	return filepath.Join(l.tagDir(name, tag), "current", "link")
}

func (l layout) tagIndexLinkDir(name, tag string, d digest) string {
	return filepath.Join(l.tagDir(name, tag), "index", string(d.alg), d.hex)
}

func (l layout) referrersDir(name string, subject digest) string {
	return filepath.Join(l.repoDir(name), "_manifests", "referrers", string(subject.alg), subject.hex)
}

func (l layout) referrerLinkDir(name string, subject, d digest) string {
	return filepath.Join(l.referrersDir(name, subject), string(d.alg), d.hex)
}

func (l layout) uploadsDir(name string) string { return filepath.Join(l.repoDir(name), "_uploads") }

func (l layout) uploadDir(name, id string) string { return filepath.Join(l.uploadsDir(name), id) }
