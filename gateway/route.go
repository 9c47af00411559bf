package gateway

import (
	"github.com/portcullis/portcullis/access"
	"github.com/portcullis/portcullis/distspec"
)

// Kind names an endpoint family: distspec's kinds, plus KindSearch.
type Kind = distspec.Kind

// The endpoints the gateway knows: the distribution spec's, read by distspec as the
// bundled registry reads them, and docker's search, which the gateway serves itself.
const (
	KindBase      = distspec.KindBase      // /v2/
	KindCatalog   = distspec.KindCatalog   // /v2/_catalog (served by the gateway, filtered)
	KindTags      = distspec.KindTags      // /v2/<name>/tags/list
	KindManifest  = distspec.KindManifest  // /v2/<name>/manifests/<reference>
	KindBlob      = distspec.KindBlob      // /v2/<name>/blobs/<digest>
	KindUploads   = distspec.KindUploads   // /v2/<name>/blobs/uploads/ (start, monolithic, mount)
	KindUpload    = distspec.KindUpload    // /v2/<name>/blobs/uploads/<id>
	KindReferrers = distspec.KindReferrers // /v2/<name>/referrers/<digest>

	KindSearch Kind = "search" // /v1/search (served by the gateway, filtered; GET only)
)

// searchPath is docker's search endpoint, which no registry backend serves.
const searchPath = "/v1/search"

// Route is the gateway's one reading of a request: which endpoint, on which repository,
// needing which access. Path is the exact path that was judged; it is the path forwarded.
type Route struct {
	Kind Kind
	// Path is the request path as judged (no escapes, so raw and decoded are equal).
	Path string
	// Name is the repository; empty for base, catalog and search.
	Name string
	// Reference is the tag or digest of a manifest route, the digest of a blob or
	// referrers route, and the digest to mount on a mount request.
	Reference string
	// UploadID is the upload session of an upload route.
	UploadID string
	// MountFrom is the source repository of a cross-repository mount (POST uploads with
	// both mount= and from=); empty otherwise.
	MountFrom string
	// Access is what the request needs, as distribution's access records say.
	// Empty for the base route, which needs only an authenticated principal.
	Access []access.Resource
}

// Actions is the actions needed on Name, or on the catalog.
func (rt Route) Actions() []string {
	if len(rt.Access) == 0 {
		return nil
	}
	return rt.Access[0].Actions
}

// catalogResource is registry:catalog:*, the access distribution asks for a listing.
func catalogResource() access.Resource {
	return access.Resource{Type: access.TypeRegistry, Name: "catalog", Actions: []string{access.All}}
}

// repoResource is repository:<name>:<actions>.
func repoResource(name string, actions ...string) access.Resource {
	return access.Resource{Type: access.TypeRepository, Name: name, Actions: actions}
}
