package gateway

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/portcullis/portcullis/access"
	"github.com/portcullis/portcullis/errcode"
	"github.com/portcullis/portcullis/reference"
)

// Classify reads a request method and URL into a Route, or refuses it with an
// *errcode.Error ready to be written.
//
// It judges u.Path and refuses every path another reader could decode differently rather
// than cleaning it: an opaque URL, a RawPath that differs from Path (any %-escape), bytes
// outside the name, tag, digest and upload-id alphabets ('%', ';', '#', spaces...), "//",
// "." and ".." segments, and a query Go cannot parse unambiguously (';' separators, bad
// escapes). So the path judged is the path forwarded, byte for byte.
//
// The trailing segments decide the endpoint, as in distribution's router; everything
// before them is the repository name, which must match the spec grammar. Actions follow
// distribution's access records: GET and HEAD pull; POST, PUT and PATCH pull and push;
// DELETE delete; a mount (POST uploads/?mount=<digest>&from=<repo>) also needs pull on
// the source. The base route needs no access (only an authenticated principal), the
// catalog and search need registry:catalog:*.
func Classify(method string, u *url.URL) (Route, error) {
	p := u.Path
	if err := checkPath(u); err != nil {
		return Route{Path: p}, err
	}
	rt, err := parsePath(p)
	if err != nil {
		return rt, err
	}
	if !methodAllowed(rt.Kind, method) {
		return rt, errcode.New(errcode.Unsupported, "method "+method+" is not supported on the "+string(rt.Kind)+" endpoint")
	}
	var q url.Values
	if u.RawQuery != "" {
		if q, err = url.ParseQuery(u.RawQuery); err != nil {
			return rt, errcode.New(errcode.NameInvalid, "malformed query string").Wrap(err)
		}
	}
	switch rt.Kind {
	case KindBase:
	case KindCatalog, KindSearch:
		rt.Access = []access.Resource{catalogResource()}
	default:
		rt.Access = []access.Resource{repoResource(rt.Name, actionsFor(method)...)}
	}
	if rt.Kind == KindUploads {
		return withMount(rt, q)
	}
	return rt, nil
}

// actionsFor maps a method to actions as distribution's appendAccessRecords does.
func actionsFor(method string) []string {
	switch method {
	case http.MethodGet, http.MethodHead:
		return []string{access.Pull}
	case http.MethodDelete:
		return []string{access.Delete}
	default: // POST, PUT, PATCH: methodAllowed lets nothing else through
		return []string{access.Pull, access.Push}
	}
}

// withMount reads a cross-repository mount. Only a request carrying exactly one mount and
// one from is a mount; any other mix is forwarded as a plain upload start with both
// parameters stripped (see authorize), so a registry that mounts without from (OCI 1.1
// lets it search every repository) is never asked to.
func withMount(rt Route, q url.Values) (Route, error) {
	mount, from := q["mount"], q["from"]
	if len(mount) > 1 || len(from) > 1 {
		return rt, errcode.New(errcode.NameInvalid, "repeated mount or from parameter")
	}
	if len(mount) == 0 || len(from) == 0 {
		return rt, nil
	}
	if !reference.ValidDigest(mount[0]) {
		return rt, errcode.New(errcode.DigestInvalid, "invalid digest in mount parameter")
	}
	if !reference.ValidName(from[0]) {
		return rt, errcode.New(errcode.NameInvalid, "invalid repository name in from parameter")
	}
	rt.Reference, rt.MountFrom = mount[0], from[0]
	rt.Access = append(rt.Access, repoResource(rt.MountFrom, access.Pull))
	return rt, nil
}

func checkPath(u *url.URL) error {
	p := u.Path
	switch {
	case u.Opaque != "":
		return errcode.New(errcode.NameInvalid, "opaque request URI")
	case u.RawPath != "" && u.RawPath != p:
		return errcode.New(errcode.NameInvalid, "percent-escapes are not allowed in the path")
	case p == "" || p[0] != '/':
		return errcode.New(errcode.NameInvalid, "path must be absolute")
	}
	for i := 0; i < len(p); i++ {
		if !pathByteOK(p[i]) {
			return errcode.New(errcode.NameInvalid, "path contains a character that is not allowed")
		}
	}
	if strings.Contains(p, "//") {
		return errcode.New(errcode.NameInvalid, "empty path segment")
	}
	for seg := range strings.SplitSeq(p, "/") {
		if seg == "." || seg == ".." {
			return errcode.New(errcode.NameInvalid, "dot segment in path")
		}
	}
	return nil
}

func notFound() *errcode.Error {
	return errcode.New(errcode.Unsupported, "no such endpoint").WithStatus(http.StatusNotFound)
}

func parsePath(p string) (Route, error) {
	rt := Route{Path: p}
	switch p {
	case "/v2/":
		rt.Kind = KindBase
		return rt, nil
	case "/v2/_catalog":
		rt.Kind = KindCatalog
		return rt, nil
	case "/v1/search":
		rt.Kind = KindSearch
		return rt, nil
	}
	rest, ok := strings.CutPrefix(p, "/v2/")
	if !ok {
		return rt, notFound()
	}
	if name, ok := strings.CutSuffix(rest, "/tags/list"); ok {
		rt.Kind = KindTags
		return named(rt, name)
	}
	if name, ok := strings.CutSuffix(rest, "/blobs/uploads/"); ok {
		rt.Kind = KindUploads
		return named(rt, name)
	}
	i := strings.LastIndexByte(rest, '/')
	if i < 0 {
		return rt, notFound()
	}
	head, last := rest[:i], rest[i+1:]
	j := strings.LastIndexByte(head, '/')
	if j < 0 {
		return rt, notFound()
	}
	name, verb := head[:j], head[j+1:]
	switch verb {
	case "manifests":
		if !reference.ValidTag(last) && !reference.ValidDigest(last) {
			if strings.Contains(last, ":") {
				return rt, errcode.New(errcode.DigestInvalid, "invalid digest")
			}
			return rt, errcode.New(errcode.NameInvalid, "invalid tag")
		}
		rt.Kind, rt.Reference = KindManifest, last
	case "blobs", "referrers":
		if !reference.ValidDigest(last) {
			return rt, errcode.New(errcode.DigestInvalid, "invalid digest")
		}
		rt.Kind, rt.Reference = KindBlob, last
		if verb == "referrers" {
			rt.Kind = KindReferrers
		}
	case "uploads":
		n, ok := strings.CutSuffix(name, "/blobs")
		if !ok {
			return rt, notFound()
		}
		if !reference.ValidUploadID(last) {
			return rt, errcode.New(errcode.BlobUploadInvalid, "invalid upload id")
		}
		rt.Kind, rt.UploadID, name = KindUpload, last, n
	default:
		return rt, notFound()
	}
	return named(rt, name)
}

func named(rt Route, name string) (Route, error) {
	if !reference.ValidName(name) {
		return rt, errcode.New(errcode.NameInvalid, "invalid repository name")
	}
	rt.Name = name
	return rt, nil
}

// methodAllowed is the method table of the distribution spec's endpoints.
func methodAllowed(k Kind, m string) bool {
	get := m == http.MethodGet || m == http.MethodHead
	switch k {
	case KindBase, KindCatalog, KindTags, KindReferrers:
		return get
	case KindSearch:
		return m == http.MethodGet
	case KindManifest:
		return get || m == http.MethodPut || m == http.MethodDelete
	case KindBlob:
		return get || m == http.MethodDelete
	case KindUploads:
		return m == http.MethodPost
	case KindUpload:
		return m == http.MethodGet || m == http.MethodPatch || m == http.MethodPut || m == http.MethodDelete
	}
	return false
}
