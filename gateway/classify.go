package gateway

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/portcullis/portcullis/access"
	"github.com/portcullis/portcullis/distspec"
	"github.com/portcullis/portcullis/errcode"
	"github.com/portcullis/portcullis/reference"
)

// Classify reads a request method and URL into a Route, or refuses it with an
// *errcode.Error ready to be written.
//
// The endpoint, repository, reference and upload id are distspec's reading of u.Path,
// the one the bundled registry routes by, so where the registry would refuse a request
// the gateway refuses it with the same error. On top of it the gateway refuses every
// path another reader could decode differently rather than cleaning it: an opaque URL, a
// RawPath that differs from Path (any %-escape), bytes outside the name, tag, digest and
// upload-id alphabets ('%', ';', '#', spaces...), "//", "." and ".." segments, a digest
// of a registered algorithm with the wrong encoding (reference.ValidDigest), and a query
// Go cannot parse unambiguously (';' separators, bad escapes). So the path judged is the
// path forwarded, byte for byte. /v1/search is the gateway's own endpoint.
//
// Actions follow distribution's access records: GET and HEAD pull; POST, PUT and PATCH
// pull and push; DELETE delete; a mount (POST uploads/?mount=<digest>&from=<repo>) also
// needs pull on the source. The base route needs no access (only an authenticated
// principal), the catalog and search need registry:catalog:*.
func Classify(method string, u *url.URL) (Route, error) {
	p := u.Path
	rt := Route{Path: p}
	if p == searchPath {
		rt.Kind = KindSearch
		if method != http.MethodGet {
			return rt, distspec.NotAllowed(KindSearch, method)
		}
	} else {
		d, err := distspec.Parse(method, p)
		rt.Kind, rt.Name, rt.Reference, rt.UploadID = d.Kind, d.Name, d.Reference, d.UploadID
		if err != nil {
			return rt, err
		}
	}
	if err := checkPath(u); err != nil {
		return rt, err
	}
	if strings.Contains(rt.Reference, ":") && !reference.ValidDigest(rt.Reference) {
		return rt, errcode.New(errcode.DigestInvalid, "invalid digest") // what distspec answers for a bad digest
	}
	var q url.Values
	if u.RawQuery != "" {
		var err error
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
	default: // POST, PUT, PATCH: the method table lets nothing else through
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
