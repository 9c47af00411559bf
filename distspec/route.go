package distspec

import (
	"net/http"
	"strings"

	"github.com/portcullis/portcullis/errcode"
	"github.com/portcullis/portcullis/reference"
)

// Kind names an endpoint family of the distribution spec.
type Kind string

// The endpoints of the /v2/ API.
const (
	KindBase      Kind = "base"      // /v2/ (or /v2)
	KindCatalog   Kind = "catalog"   // /v2/_catalog
	KindTags      Kind = "tags"      // /v2/<name>/tags/list
	KindManifest  Kind = "manifest"  // /v2/<name>/manifests/<reference>
	KindBlob      Kind = "blob"      // /v2/<name>/blobs/<digest>
	KindUploads   Kind = "uploads"   // /v2/<name>/blobs/uploads/ (or without the slash): start, monolithic, mount
	KindUpload    Kind = "upload"    // /v2/<name>/blobs/uploads/<id>
	KindReferrers Kind = "referrers" // /v2/<name>/referrers/<digest>
)

// Allows reports whether the endpoint serves method: the spec's method table. GET and
// HEAD read base, catalog, tags, referrers, manifests and blobs; PUT and DELETE write
// and delete manifests; DELETE deletes blobs; POST starts an upload; GET, PATCH, PUT and
// DELETE read, append to, finish and cancel an upload session.
func (k Kind) Allows(method string) bool {
	get := method == http.MethodGet || method == http.MethodHead
	switch k {
	case KindBase, KindCatalog, KindTags, KindReferrers:
		return get
	case KindManifest:
		return get || method == http.MethodPut || method == http.MethodDelete
	case KindBlob:
		return get || method == http.MethodDelete
	case KindUploads:
		return method == http.MethodPost
	case KindUpload:
		return method == http.MethodGet || method == http.MethodPatch || method == http.MethodPut || method == http.MethodDelete
	}
	return false
}

// Route is one reading of a request path.
type Route struct {
	Kind Kind
	// Name is the repository; empty for base and catalog.
	Name string
	// Reference is the tag or digest of a manifest route and the digest of a blob or
	// referrers route (in the digest grammar; the algorithm is not checked).
	Reference string
	// UploadID is the session of an upload route.
	UploadID string
}

// Parse reads a request method and its decoded path (url.URL.Path) into a Route, or
// refuses it with an *errcode.Error ready to be written. The path is checked first and
// the method last, so a bad path reads the same whatever the method: see ParsePath and
// Kind.Allows. Query parameters are not part of the route.
func Parse(method, path string) (Route, error) {
	rt, err := ParsePath(path)
	if err != nil {
		return rt, err
	}
	if !rt.Kind.Allows(method) {
		return rt, NotAllowed(rt.Kind, method)
	}
	return rt, nil
}

// NotAllowed is the refusal of a method an endpoint does not serve: 405 UNSUPPORTED.
func NotAllowed(k Kind, method string) *errcode.Error {
	return errcode.New(errcode.Unsupported, "method "+method+" is not supported on the "+string(k)+" endpoint")
}

// notFound is the refusal of a path that names no endpoint: 404 UNSUPPORTED.
func notFound() *errcode.Error {
	return errcode.New(errcode.Unsupported, "no such endpoint").WithStatus(http.StatusNotFound)
}

// ParsePath reads a decoded request path into a Route. The trailing segments decide the
// endpoint, as in distribution's router: "_catalog"; ".../tags/list";
// ".../manifests/<reference>"; ".../blobs/uploads/" (or without the slash);
// ".../blobs/uploads/<id>"; ".../blobs/<digest>"; ".../referrers/<digest>". Everything
// between "/v2/" and them is the repository name, which may contain the endpoint words
// ("/v2/blobs/manifests/manifests/v1" is manifest v1 of blobs/manifests) and must match
// reference.ValidName. Nothing is cleaned: "//", dot segments and other trailing slashes
// name no endpoint or no valid name. On a refusal the Route is empty.
func ParsePath(p string) (Route, error) {
	if p == "/v2/" || p == "/v2" {
		return Route{Kind: KindBase}, nil
	}
	rest, ok := strings.CutPrefix(p, "/v2/")
	if !ok {
		return Route{}, notFound()
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
		return Route{}, notFound()
	}
	head, last := rest[:i], rest[i+1:]
	j := strings.LastIndexByte(head, '/')
	if j < 0 {
		return Route{}, notFound()
	}
	name, verb := head[:j], head[j+1:]
	switch verb {
	case "manifests":
		switch {
		case reference.ValidTag(last), reference.ValidDigestGrammar(last):
		case strings.Contains(last, ":"): // digest-shaped: one code for a bad digest anywhere
			return Route{}, errDigest()
		default:
			return Route{}, errcode.New(errcode.ManifestInvalid, "invalid tag")
		}
		return named(Route{Kind: KindManifest, Reference: last}, name)
	case "blobs", "referrers":
		if !reference.ValidDigestGrammar(last) {
			return Route{}, errDigest()
		}
		k := KindBlob
		if verb == "referrers" {
			k = KindReferrers
		}
		return named(Route{Kind: k, Reference: last}, name)
	case "uploads":
		n, ok := strings.CutSuffix(name, "/blobs")
		if !ok {
			return Route{}, notFound()
		}
		if !reference.ValidUploadID(last) {
			return Route{}, errcode.New(errcode.BlobUploadUnknown, "invalid upload id")
		}
		return named(Route{Kind: KindUpload, UploadID: last}, n)
	}
	return Route{}, notFound()
}

func errDigest() *errcode.Error { return errcode.New(errcode.DigestInvalid, "invalid digest") }

func named(rt Route, name string) (Route, error) {
	if !reference.ValidName(name) {
		return Route{}, errcode.New(errcode.NameInvalid, "invalid repository name")
	}
	rt.Name = name
	return rt, nil
}
