package registry

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"

	"github.com/portcullis/portcullis/errcode"
	"github.com/portcullis/portcullis/reference"
)

var errManifestUnknown = errcode.New(errcode.ManifestUnknown, "manifest unknown to registry")

func (reg *Registry) serveManifest(w http.ResponseWriter, r *http.Request, rt Route) error {
	switch r.Method {
	case http.MethodPut:
		return reg.putManifest(w, r, rt)
	case http.MethodDelete:
		return reg.deleteManifest(w, rt)
	}
	d, err := reg.resolve(rt.Name, rt.Reference)
	if err != nil {
		return err
	}
	m, ok := reg.cache.manifest(d)
	if !ok {
		body, err := os.ReadFile(reg.fs.blobData(d))
		if isNotExist(err) {
			return errManifestUnknown
		}
		if err != nil {
			return fmt.Errorf("reading manifest %s: %w", d, err)
		}
		m = manifestEntry{body: body, mediaType: storedMediaType(body)}
		reg.cache.putManifest(d, m.body, m.mediaType)
	}
	body := m.body
	h := w.Header()
	h.Set("Content-Type", m.mediaType)
	h.Set("Content-Length", strconv.Itoa(len(body)))
	h.Set("Docker-Content-Digest", d.String())
	h.Set("ETag", `"`+d.String()+`"`)
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		_, _ = w.Write(body)
	}
	return nil
}

// resolve turns a tag or digest into the digest of a manifest revision of the repository.
func (reg *Registry) resolve(name, ref string) (digest, error) {
	if reference.ValidTag(ref) {
		d, err := reg.cache.readLink(reg.fs.tagCurrentLink(name, ref))
		if err != nil {
			return digest{}, errManifestUnknown
		}
		if !reg.cache.linkExists(reg.fs.revisionLinkDir(name, d), d) {
			return digest{}, errManifestUnknown
		}
		return d, nil
	}
	d, ok := parseDigest(ref)
	if !ok {
		return digest{}, errDigestInvalid
	}
	if !reg.cache.linkExists(reg.fs.revisionLinkDir(name, d), d) {
		return digest{}, errManifestUnknown
	}
	return d, nil
}

func (reg *Registry) putManifest(w http.ResponseWriter, r *http.Request, rt Route) error {
	body, err := io.ReadAll(io.LimitReader(r.Body, reg.maxManifest+1))
	if err != nil {
		return errManifestInvalid("reading manifest failed").Wrap(err)
	}
	if int64(len(body)) > reg.maxManifest {
		return errManifestInvalid("manifest larger than " + strconv.FormatInt(reg.maxManifest, 10) + " bytes").
			WithStatus(http.StatusRequestEntityTooLarge)
	}
	m, err := parseManifest(body, r.Header.Get("Content-Type"))
	if err != nil {
		return err
	}
	var d digest
	// Tags: the reference, or by digest any ?tag= parameters (distribution-spec 1.1+dev
	// "push manifest with tags").
	var tags []string
	if reference.ValidTag(rt.Reference) {
		tags = []string{rt.Reference}
		d = digestOf(sha256Alg, body)
	} else {
		tags = r.URL.Query()["tag"]
		for _, t := range tags {
			if !reference.ValidTag(t) {
				return errManifestInvalid("invalid tag parameter " + strconv.Quote(t))
			}
		}
		want, ok := parseDigest(rt.Reference)
		if !ok {
			return errDigestInvalid
		}
		if d = digestOf(want.alg, body); d != want {
			return errcode.New(errcode.DigestInvalid, "manifest does not match digest").WithDetail(map[string]string{"computed": d.String()})
		}
	}
	for _, desc := range m.descriptors() {
		if len(desc.URLs) > 0 {
			continue // foreign layer: the registry is not expected to hold it
		}
		dd, _ := parseDigest(desc.Digest)
		if !reg.blobInRepo(rt.Name, dd) {
			return errcode.New(errcode.ManifestBlobUnknown, "manifest references an unknown blob or manifest").
				WithStatus(http.StatusBadRequest).WithDetail(map[string]string{"digest": desc.Digest})
		}
	}
	if err := reg.storeManifest(rt.Name, tags, d, body, m); err != nil {
		return err
	}
	h := w.Header()
	if !reference.ValidTag(rt.Reference) {
		for _, t := range tags { // the spec's answer to ?tag=: one OCI-Tag per tag applied
			h.Add("OCI-Tag", t)
		}
	}
	if m.Subject != nil {
		h.Set("OCI-Subject", m.Subject.Digest)
	}
	h.Set("Location", "/v2/"+rt.Name+"/manifests/"+d.String())
	h.Set("Docker-Content-Digest", d.String())
	h.Set("Content-Length", "0")
	w.WriteHeader(http.StatusCreated)
	return nil
}

// storeManifest writes the manifest blob, then the links that make it reachable, tag
// last, so a tag never names a revision that is not there.
func (reg *Registry) storeManifest(name string, tags []string, d digest, body []byte, m *manifest) error {
	if _, err := os.Stat(reg.fs.blobData(d)); err != nil {
		if err := writeFileAtomic(reg.fs.blobData(d), body); err != nil {
			return fmt.Errorf("storing manifest %s: %w", d, err)
		}
	}
	if m.Subject != nil {
		subj, _ := parseDigest(m.Subject.Digest)
		if err := writeLink(reg.fs.referrerLinkDir(name, subj, d), d); err != nil {
			return fmt.Errorf("indexing referrer %s of %s: %w", d, subj, err)
		}
	}
	if err := writeLink(reg.fs.revisionLinkDir(name, d), d); err != nil {
		return fmt.Errorf("linking manifest %s: %w", d, err)
	}
	for _, tag := range tags {
		if err := writeLink(reg.fs.tagIndexLinkDir(name, tag, d), d); err != nil {
			return fmt.Errorf("indexing tag %s: %w", tag, err)
		}
		if err := writeFileAtomic(reg.fs.tagCurrentLink(name, tag), []byte(d.String())); err != nil {
			return fmt.Errorf("tagging %s as %s: %w", d, tag, err)
		}
	}
	return nil
}

// deleteManifest deletes a tag (OCI 1.1), or a manifest by digest: its revision link,
// every tag pointing at it and its referrers-index entry, so that GC reclaims its blobs.
func (reg *Registry) deleteManifest(w http.ResponseWriter, rt Route) error {
	if reference.ValidTag(rt.Reference) {
		dir := reg.fs.tagDir(rt.Name, rt.Reference)
		if _, err := readLink(reg.fs.tagCurrentLink(rt.Name, rt.Reference)); err != nil {
			return errManifestUnknown
		}
		if err := os.RemoveAll(dir); err != nil {
			return fmt.Errorf("deleting tag %s: %w", rt.Reference, err)
		}
		return accepted(w)
	}
	d, ok := parseDigest(rt.Reference)
	if !ok {
		return errDigestInvalid
	}
	rev := reg.fs.revisionLinkDir(rt.Name, d)
	if !linkExists(rev, d) {
		return errManifestUnknown
	}
	if body, err := os.ReadFile(reg.fs.blobData(d)); err == nil {
		if m, err := parseManifest(body, ""); err == nil && m.Subject != nil {
			if subj, ok := parseDigest(m.Subject.Digest); ok {
				_ = os.RemoveAll(reg.fs.referrerLinkDir(rt.Name, subj, d))
			}
		}
	}
	tags, err := os.ReadDir(reg.fs.tagsDir(rt.Name))
	if err != nil && !isNotExist(err) {
		return fmt.Errorf("listing tags of %s: %w", rt.Name, err)
	}
	for _, t := range tags {
		cur, err := readLink(reg.fs.tagCurrentLink(rt.Name, t.Name()))
		if err == nil && cur == d {
			if err := os.RemoveAll(filepath.Join(reg.fs.tagsDir(rt.Name), t.Name())); err != nil {
				return fmt.Errorf("deleting tag %s: %w", t.Name(), err)
			}
		}
	}
	if err := os.RemoveAll(rev); err != nil {
		return fmt.Errorf("deleting manifest %s: %w", d, err)
	}
	return accepted(w)
}

func accepted(w http.ResponseWriter) error {
	w.Header().Set("Content-Length", "0")
	w.WriteHeader(http.StatusAccepted)
	return nil
}
