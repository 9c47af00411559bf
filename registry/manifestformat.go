package registry

import (
	"bytes"
	"encoding/json"
	"errors"
	"mime"
	"strings"

	"github.com/portcullis/portcullis/errcode"
)

// Manifest media types the registry accepts, as registry 2.8 does for schema 2: the OCI
// image manifest (OCI 1.1 artifacts are image manifests with an artifactType or a config
// of their own type) and index, and Docker's schema 2 manifest and manifest list.
const (
	mtOCIManifest    = "application/vnd.oci.image.manifest.v1+json"
	mtOCIIndex       = "application/vnd.oci.image.index.v1+json"
	mtDockerManifest = "application/vnd.docker.distribution.manifest.v2+json"
	mtDockerList     = "application/vnd.docker.distribution.manifest.list.v2+json"
)

// Docker schema 1 media types: never accepted on push, but a registry:2 data directory
// may hold such manifests, and they are served under these types.
const (
	mtDockerV1       = "application/vnd.docker.distribution.manifest.v1+json"
	mtDockerV1Signed = "application/vnd.docker.distribution.manifest.v1+prettyjws"
)

// acceptedType reports whether t is a manifest media type a push may carry.
func acceptedType(t string) bool {
	switch t {
	case mtOCIManifest, mtOCIIndex, mtDockerManifest, mtDockerList:
		return true
	}
	return false
}

// servedType is the Content-Type a stored manifest of type t is served with: t when it is
// a manifest type the registry knows, else application/octet-stream. A pushed value never
// chooses a type a browser renders (text/html, image/svg+xml): issue 12 found a manifest
// whose mediaType was text/html served back as a web page from the registry's origin.
// Every push is checked by parseManifest; this guards what an older version, or another
// registry sharing the directory, stored.
func servedType(t string) string {
	if acceptedType(t) || t == mtDockerV1 || t == mtDockerV1Signed {
		return t
	}
	return "application/octet-stream"
}

// descriptor is an OCI content descriptor, as much of it as the registry checks.
type descriptor struct {
	MediaType    string            `json:"mediaType"`
	Digest       string            `json:"digest"`
	Size         int64             `json:"size"`
	URLs         []string          `json:"urls,omitempty"`
	Data         []byte            `json:"data,omitempty"`
	ArtifactType string            `json:"artifactType,omitempty"`
	Annotations  map[string]string `json:"annotations,omitempty"`
}

// manifest is the union of the image manifest and the image index (and their Docker v2
// counterparts): the fields the registry needs to validate, link and index them.
type manifest struct {
	SchemaVersion int               `json:"schemaVersion"`
	MediaType     string            `json:"mediaType"`
	ArtifactType  string            `json:"artifactType"`
	Config        *descriptor       `json:"config"`
	Layers        []descriptor      `json:"layers"`
	Manifests     []descriptor      `json:"manifests"`
	Subject       *descriptor       `json:"subject"`
	Annotations   map[string]string `json:"annotations"`
}

func (m *manifest) isIndex() bool {
	switch m.MediaType {
	case mtOCIIndex, mtDockerList:
		return true
	case mtOCIManifest, mtDockerManifest:
		return false
	}
	return m.Config == nil && m.Manifests != nil
}

// mediaTypeOf is the Content-Type a stored manifest is served with: its own mediaType,
// or for the (valid, if rare) manifest without one, the OCI type its shape says, as
// registry:2 derives it from the JSON.
func mediaTypeOf(m *manifest) string {
	if m.MediaType != "" {
		return m.MediaType
	}
	if m.isIndex() {
		return mtOCIIndex
	}
	return mtOCIManifest
}

// storedMediaType is the Content-Type of stored manifest bytes, read leniently: a
// registry:2 data directory may hold what we would refuse today (Docker schema 1). It is
// always a servedType.
func storedMediaType(body []byte) string {
	return servedType(storedType(body))
}

func storedType(body []byte) string {
	var m struct {
		manifest
		Signatures json.RawMessage `json:"signatures"`
	}
	if json.Unmarshal(body, &m) != nil {
		return "application/octet-stream"
	}
	if m.MediaType != "" {
		return m.MediaType
	}
	if m.SchemaVersion == 1 {
		if m.Signatures != nil {
			return mtDockerV1Signed
		}
		return mtDockerV1
	}
	return mediaTypeOf(&m.manifest)
}

const unsupportedType = " is not a manifest type this registry accepts: use " +
	mtOCIManifest + ", " + mtOCIIndex + ", " + mtDockerManifest + " or " + mtDockerList

func errManifestInvalid(msg string) *errcode.Error {
	return errcode.New(errcode.ManifestInvalid, msg)
}

// parseManifest decodes and checks a manifest body; contentType is the request's
// Content-Type ("" when absent, as for stored manifests). The manifest's own mediaType
// and the Content-Type must each be empty or an acceptedType, and agree; a manifest
// without a mediaType is typed by the Content-Type when there is one (the OCI image spec
// leaves the field optional), which must then match its shape (config: a manifest;
// manifests: an index). A body naming any key twice is refused (checkUniqueKeys).
func parseManifest(body []byte, contentType string) (*manifest, error) {
	if err := checkUniqueKeys(body); err != nil {
		if errors.Is(err, errDuplicateKey) {
			return nil, errManifestInvalid("manifest JSON names a key twice in one object: " +
				strings.TrimPrefix(err.Error(), errDuplicateKey.Error()+" ")).Wrap(err)
		}
		return nil, errManifestInvalid("manifest is not valid JSON").Wrap(err)
	}
	var m manifest
	if err := json.Unmarshal(body, &m); err != nil {
		return nil, errManifestInvalid("manifest is not valid JSON").Wrap(err)
	}
	if !bytes.HasPrefix(bytes.TrimLeft(body, " \t\r\n"), []byte("{")) {
		return nil, errManifestInvalid("manifest is not a JSON object")
	}
	if m.SchemaVersion != 2 {
		return nil, errManifestInvalid("schemaVersion must be 2")
	}
	if m.MediaType != "" && !acceptedType(m.MediaType) {
		return nil, errManifestInvalid("mediaType " + quoteKey(m.MediaType) + unsupportedType)
	}
	if contentType != "" {
		ct, _, err := mime.ParseMediaType(contentType)
		switch {
		case err != nil:
			return nil, errManifestInvalid("malformed Content-Type")
		case !acceptedType(ct):
			return nil, errManifestInvalid("Content-Type " + quoteKey(ct) + unsupportedType)
		case m.MediaType != "" && ct != m.MediaType:
			return nil, errManifestInvalid("Content-Type " + ct + " does not match the manifest's mediaType " + m.MediaType)
		case m.MediaType == "" && (ct == mtDockerManifest || ct == mtDockerList):
			return nil, errManifestInvalid("Docker manifests must carry their mediaType")
		case m.MediaType == "" && ct != mediaTypeOf(&m):
			return nil, errManifestInvalid("Content-Type " + ct + " does not match the manifest's shape (" + mediaTypeOf(&m) + ")")
		}
	}
	if m.isIndex() {
		if m.Config != nil || m.Layers != nil {
			return nil, errManifestInvalid("an index has no config or layers")
		}
	} else if m.Config == nil {
		return nil, errManifestInvalid("an image manifest needs a config")
	}
	for _, d := range m.descriptors() {
		if err := checkDescriptor(d); err != nil {
			return nil, err
		}
	}
	if m.Subject != nil {
		if err := checkDescriptor(*m.Subject); err != nil {
			return nil, err
		}
	}
	return &m, nil
}

// descriptors is everything the manifest depends on: config and layers, or the index's
// manifests (not the subject, which it only points at).
func (m *manifest) descriptors() []descriptor {
	var out []descriptor
	if m.Config != nil {
		out = append(out, *m.Config)
	}
	out = append(out, m.Layers...)
	return append(out, m.Manifests...)
}

func checkDescriptor(d descriptor) error {
	dg, ok := parseDigest(d.Digest)
	if !ok {
		return errManifestInvalid("descriptor digest " + d.Digest + " is invalid or unsupported")
	}
	if d.Size < 0 {
		return errManifestInvalid("descriptor size is negative")
	}
	if d.Data != nil && (int64(len(d.Data)) != d.Size || digestOf(dg.alg, d.Data) != dg) {
		return errManifestInvalid("descriptor data does not match its digest and size")
	}
	return nil
}
