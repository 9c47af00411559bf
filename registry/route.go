package registry

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/portcullis/portcullis/errcode"
	"github.com/portcullis/portcullis/reference"
)

// Route kinds: one per endpoint family of the distribution spec.
const (
	KindBase      = "base"      // GET /v2/
	KindCatalog   = "catalog"   // GET /v2/_catalog
	KindTags      = "tags"      // GET /v2/<name>/tags/list
	KindManifest  = "manifest"  // GET/HEAD/PUT/DELETE /v2/<name>/manifests/<reference>
	KindBlob      = "blob"      // GET/HEAD/DELETE /v2/<name>/blobs/<digest>
	KindUploads   = "uploads"   // POST /v2/<name>/blobs/uploads/ (start, monolithic, mount)
	KindUpload    = "upload"    // GET/PATCH/PUT/DELETE /v2/<name>/blobs/uploads/<id>
	KindReferrers = "referrers" // GET /v2/<name>/referrers/<digest>
)

// Route is one reading of a request path.
type Route struct {
	// Kind is one of the Kind constants.
	Kind string
	// Name is the repository name; empty for base and catalog.
	Name string
	// Reference is the tag or digest of a manifest route, and the digest of a blob or
	// referrers route (checked against the digest grammar only; handlers check the
	// algorithm).
	Reference string
	// UploadID is the upload session of an upload route.
	UploadID string
}

// maxNameLen caps repository names (the spec's advice: clients limit host/name to 255).
const maxNameLen = reference.MaxNameLen

// ParseRoute reads the request method and the decoded path u.Path (never RawPath: a
// percent-escape cannot smuggle a '/' into a name, because the name grammar has no '%' and
// the gateway refuses escapes outright, so both readings agree).
//
// The path is /v2/ or /v2 (base), or starts with /v2/. The trailing segments decide the
// kind: "_catalog"; ".../tags/list"; ".../manifests/<ref>"; ".../blobs/uploads/" (or
// without the slash); ".../blobs/uploads/<id>"; ".../blobs/<digest>";
// ".../referrers/<digest>". Everything before them is the repository name, which must match the spec's name grammar
// [a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*(/[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*)* and be at most 255
// bytes; a tag must match [a-zA-Z0-9_][a-zA-Z0-9._-]{0,127} and a digest
// [a-z0-9]+([+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]+. No normalisation is done: "//", dot segments
// and a trailing slash (other than /v2/ and uploads/) are not found.
//
// Errors are *errcode.Error values ready to be written: 400 NAME_INVALID, 400
// DIGEST_INVALID, 400 MANIFEST_INVALID (a reference that is neither tag nor digest), 404
// BLOB_UPLOAD_UNKNOWN (an upload id outside [A-Za-z0-9_=-]{1,128}), 404 NAME_UNKNOWN for a
// path outside the API, 405 UNSUPPORTED for a method the route does not serve (checked
// last, so a bad path reads the same whatever the method). Query parameters are not
// part of the route; handlers read the first value of each (url.Values.Get), except
// ?tag= on a manifest PUT by digest, which may repeat.
func ParseRoute(method string, u *url.URL) (Route, error) {
	rt, err := parsePath(u.Path)
	if err != nil {
		return rt, err
	}
	if !methodAllowed(rt.Kind, method) {
		return rt, errcode.New(errcode.Unsupported, "method "+method+" not allowed on "+rt.Kind).
			WithStatus(http.StatusMethodNotAllowed)
	}
	return rt, nil
}

var errNotFound = errcode.New(errcode.NameUnknown, "no such endpoint").WithStatus(http.StatusNotFound)

func parsePath(p string) (Route, error) {
	if p == "/v2/" || p == "/v2" {
		return Route{Kind: KindBase}, nil
	}
	rest, ok := strings.CutPrefix(p, "/v2/")
	if !ok {
		return Route{}, errNotFound
	}
	if rest == "_catalog" {
		return Route{Kind: KindCatalog}, nil
	}
	if name, ok := strings.CutSuffix(rest, "/tags/list"); ok {
		return named(Route{Kind: KindTags}, name)
	}
	if name, ok := strings.CutSuffix(rest, "/blobs/uploads/"); ok {
		return named(Route{Kind: KindUploads}, name)
	}
	if name, ok := strings.CutSuffix(rest, "/blobs/uploads"); ok {
		return named(Route{Kind: KindUploads}, name)
	}
	i := strings.LastIndexByte(rest, '/')
	if i < 0 {
		return Route{}, errNotFound
	}
	head, last := rest[:i], rest[i+1:]
	j := strings.LastIndexByte(head, '/')
	if j < 0 {
		return Route{}, errNotFound
	}
	name, verb := head[:j], head[j+1:]
	switch verb {
	case "manifests":
		if !reference.ValidTag(last) && !reference.ValidDigestGrammar(last) {
			return Route{}, errcode.New(errcode.ManifestInvalid, "invalid tag or digest").WithStatus(http.StatusBadRequest)
		}
		return named(Route{Kind: KindManifest, Reference: last}, name)
	case "blobs":
		if !reference.ValidDigestGrammar(last) {
			return Route{}, errcode.New(errcode.DigestInvalid, "invalid digest")
		}
		return named(Route{Kind: KindBlob, Reference: last}, name)
	case "referrers":
		if !reference.ValidDigestGrammar(last) {
			return Route{}, errcode.New(errcode.DigestInvalid, "invalid digest")
		}
		return named(Route{Kind: KindReferrers, Reference: last}, name)
	case "uploads":
		n, ok := strings.CutSuffix(name, "/blobs")
		if !ok {
			return Route{}, errNotFound
		}
		if !reference.ValidUploadID(last) {
			return Route{}, errcode.New(errcode.BlobUploadUnknown, "invalid upload id")
		}
		return named(Route{Kind: KindUpload, UploadID: last}, n)
	}
	return Route{}, errNotFound
}

func named(rt Route, name string) (Route, error) {
	if !reference.ValidName(name) {
		return Route{}, errcode.New(errcode.NameInvalid, "invalid repository name")
	}
	rt.Name = name
	return rt, nil
}

func methodAllowed(kind, m string) bool {
	switch kind {
	case KindBase, KindCatalog, KindTags, KindReferrers:
		return m == http.MethodGet || m == http.MethodHead
	case KindManifest:
		return m == http.MethodGet || m == http.MethodHead || m == http.MethodPut || m == http.MethodDelete
	case KindBlob:
		return m == http.MethodGet || m == http.MethodHead || m == http.MethodDelete
	case KindUploads:
		return m == http.MethodPost
	case KindUpload:
		return m == http.MethodGet || m == http.MethodPatch || m == http.MethodPut || m == http.MethodDelete
	}
	return false
}
