package registry

import (
	"fmt"
	"net/http"
	"os"
	"slices"
)

// index is the image index the referrers API answers with.
type index struct {
	SchemaVersion int          `json:"schemaVersion"`
	MediaType     string       `json:"mediaType"`
	Manifests     []descriptor `json:"manifests"`
}

// serveReferrers lists the manifests of the repository whose subject is the given
// digest, from the referrers index written at manifest PUT. With ?artifactType= only
// those of that type are listed, and OCI-Filters-Applied says so. An unknown subject has
// an empty list, not a 404 (spec: "Listing Referrers").
func (reg *Registry) serveReferrers(w http.ResponseWriter, r *http.Request, rt Route) error {
	subj, ok := parseDigest(rt.Reference)
	if !ok {
		return errDigestInvalid
	}
	filter := r.URL.Query().Get("artifactType")
	refs, err := reg.referrers(rt.Name, subj)
	if err != nil {
		return err
	}
	out := []descriptor{}
	for _, d := range refs {
		if filter == "" || d.ArtifactType == filter {
			out = append(out, d)
		}
	}
	if filter != "" {
		w.Header().Set("OCI-Filters-Applied", "artifactType")
	}
	return writeJSON(w, r, mtOCIIndex, index{SchemaVersion: 2, MediaType: mtOCIIndex, Manifests: out})
}

// referrers reads the descriptors of subj's referrers, skipping index entries whose
// manifest revision is gone.
func (reg *Registry) referrers(name string, subj digest) ([]descriptor, error) {
	dir := reg.fs.referrersDir(name, subj)
	named, err := digestDirs(dir)
	if err != nil {
		return nil, fmt.Errorf("listing referrers of %s: %w", subj, err)
	}
	var out []descriptor
	for _, d := range named {
		if !linkExists(reg.fs.revisionLinkDir(name, d), d) {
			continue
		}
		body, err := os.ReadFile(reg.fs.blobData(d))
		if err != nil {
			continue
		}
		m, err := parseManifest(body, "")
		if err != nil {
			continue
		}
		at := m.ArtifactType
		if at == "" && m.Config != nil {
			at = m.Config.MediaType
		}
		out = append(out, descriptor{
			MediaType:    mediaTypeOf(m),
			Digest:       d.String(),
			Size:         int64(len(body)),
			ArtifactType: at,
			Annotations:  m.Annotations,
		})
	}
	slices.SortFunc(out, func(a, b descriptor) int {
		if a.Digest < b.Digest {
			return -1
		}
		if a.Digest > b.Digest {
			return 1
		}
		return 0
	})
	return out, nil
}
