package distspec

import (
	"errors"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/portcullis/portcullis/errcode"
	"github.com/portcullis/portcullis/reference"
)

var (
	dig    = "sha256:" + strings.Repeat("a", 64)
	dig512 = "sha512:" + strings.Repeat("f", 128)
	long   = strings.Repeat("a", 256)
)

// methods are the spec's methods and some it never uses; "get" because methods are
// case-sensitive.
var methods = []string{
	http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
	http.MethodDelete, http.MethodOptions, http.MethodTrace, http.MethodConnect, "PROPFIND", "get", "",
}

// TestRouteEndpoints runs every endpoint with every method: the spec's method table
// serves the listed ones; every other method is 405 UNSUPPORTED with the route read.
func TestRouteEndpoints(t *testing.T) {
	read, manifest, blob := "GET HEAD", "GET HEAD PUT DELETE", "GET HEAD DELETE"
	session := "GET PATCH PUT DELETE"
	for _, ep := range []struct {
		path    string
		want    Route
		methods string
	}{
		{"/v2/", Route{Kind: KindBase}, read},
		{"/v2", Route{Kind: KindBase}, read},
		{"/v2/_catalog", Route{Kind: KindCatalog}, read},
		{"/v2/foo/tags/list", Route{Kind: KindTags, Name: "foo"}, read},
		{"/v2/a/b/c/tags/list", Route{Kind: KindTags, Name: "a/b/c"}, read},
		{"/v2/foo/manifests/latest", Route{Kind: KindManifest, Name: "foo", Reference: "latest"}, manifest},
		{"/v2/foo/manifests/" + dig, Route{Kind: KindManifest, Name: "foo", Reference: dig}, manifest},
		{"/v2/foo/manifests/sha256:baddigeststring", Route{Kind: KindManifest, Name: "foo", Reference: "sha256:baddigeststring"}, manifest},
		{"/v2/foo/manifests/sha256+b64u:AbC=", Route{Kind: KindManifest, Name: "foo", Reference: "sha256+b64u:AbC="}, manifest},
		{"/v2/my-app/blobs/" + dig, Route{Kind: KindBlob, Name: "my-app", Reference: dig}, blob},
		{"/v2/foo/blobs/" + dig512, Route{Kind: KindBlob, Name: "foo", Reference: dig512}, blob},
		{"/v2/x.y__z/blobs/uploads/", Route{Kind: KindUploads, Name: "x.y__z"}, "POST"},
		{"/v2/foo/blobs/uploads", Route{Kind: KindUploads, Name: "foo"}, "POST"},
		{"/v2/foo/blobs/uploads/3f1c-AB_9=", Route{Kind: KindUpload, Name: "foo", UploadID: "3f1c-AB_9="}, session},
		{"/v2/foo/referrers/" + dig, Route{Kind: KindReferrers, Name: "foo", Reference: dig}, read},
		// Names may contain the endpoint words; the trailing segments decide.
		{"/v2/blobs/manifests/manifests/v1", Route{Kind: KindManifest, Name: "blobs/manifests", Reference: "v1"}, manifest},
		{"/v2/a/manifests/b/tags/list", Route{Kind: KindTags, Name: "a/manifests/b"}, read},
		{"/v2/tags/blobs/uploads/x", Route{Kind: KindUpload, Name: "tags", UploadID: "x"}, session},
		{"/v2/tags/uploads/blobs/" + dig, Route{Kind: KindBlob, Name: "tags/uploads", Reference: dig}, blob},
		{"/v2/a/blobs/blobs/uploads", Route{Kind: KindUploads, Name: "a/blobs"}, "POST"},
		{"/v2/referrers/referrers/" + dig, Route{Kind: KindReferrers, Name: "referrers", Reference: dig}, read},
		{"/v2/a__b/c-d.e/tags/list", Route{Kind: KindTags, Name: "a__b/c-d.e"}, read},
		{"/v2/a---b/tags/list", Route{Kind: KindTags, Name: "a---b"}, read},
	} {
		for _, m := range methods {
			t.Run(m+" "+ep.path, func(t *testing.T) {
				got, err := Parse(m, ep.path)
				if got != ep.want {
					t.Fatalf("route = %+v, want %+v", got, ep.want)
				}
				if !ep.want.Kind.Allows(m) != (err != nil) {
					t.Fatalf("Allows(%q) = %v but err = %v", m, ep.want.Kind.Allows(m), err)
				}
				if allowed := m != "" && strings.Contains(" "+ep.methods+" ", " "+m+" "); !allowed {
					if code, status := codeOf(err); code != errcode.Unsupported || status != http.StatusMethodNotAllowed {
						t.Fatalf("err = %v, want 405 UNSUPPORTED", err)
					}
				} else if err != nil {
					t.Fatal(err)
				}
			})
		}
	}
}

// TestRouteRejects: each refusal and its code. The path is read before the method, so
// every row is refused the same way under GET and under a method no endpoint serves.
func TestRouteRejects(t *testing.T) {
	for _, tt := range []struct {
		path   string
		code   errcode.Code
		status int
	}{
		{"/v2/Foo/tags/list", errcode.NameInvalid, 400},
		{"/v2/a___b/tags/list", errcode.NameInvalid, 400},
		{"/v2/-a/tags/list", errcode.NameInvalid, 400},
		{"/v2/a-/manifests/latest", errcode.NameInvalid, 400},
		{"/v2/a./tags/list", errcode.NameInvalid, 400},
		{"/v2/../tags/list", errcode.NameInvalid, 400},
		{"/v2/a/../b/tags/list", errcode.NameInvalid, 400},
		{"/v2/a/./manifests/latest", errcode.NameInvalid, 400},
		{"/v2/a//b/tags/list", errcode.NameInvalid, 400},
		{"/v2//a/manifests/latest", errcode.NameInvalid, 400},
		{"/v2/a;x=y/manifests/latest", errcode.NameInvalid, 400},
		{"/v2/a b/manifests/latest", errcode.NameInvalid, 400},
		{"/v2/\u00e4/manifests/latest", errcode.NameInvalid, 400},
		{"/v2/" + long + "/tags/list", errcode.NameInvalid, 400},
		{"/v2/_catalog/tags/list", errcode.NameInvalid, 400},
		{"/v2/foo/manifests/.bad", errcode.ManifestInvalid, 400},
		{"/v2/foo/manifests/-bad", errcode.ManifestInvalid, 400},
		{"/v2/foo/manifests/..", errcode.ManifestInvalid, 400},
		{"/v2/foo/manifests/latest;v=1", errcode.ManifestInvalid, 400},
		{"/v2/foo/manifests/" + strings.Repeat("t", 129), errcode.ManifestInvalid, 400},
		{"/v2/foo/manifests/sha256:", errcode.DigestInvalid, 400},
		{"/v2/foo/manifests/Sha256:abc", errcode.DigestInvalid, 400},
		{"/v2/foo/manifests/:abc", errcode.DigestInvalid, 400},
		{"/v2/foo/blobs/latest", errcode.DigestInvalid, 400},
		{"/v2/foo/blobs/:abc", errcode.DigestInvalid, 400},
		{"/v2/foo/blobs/a++b:c", errcode.DigestInvalid, 400},
		{"/v2/foo/referrers/latest", errcode.DigestInvalid, 400},
		{"/v2/foo/blobs/uploads/..", errcode.BlobUploadUnknown, 404},
		{"/v2/foo/blobs/uploads/a.b", errcode.BlobUploadUnknown, 404},
		{"/v2/foo/blobs/uploads/a+b", errcode.BlobUploadUnknown, 404},
		{"/v2/foo/blobs/uploads/" + strings.Repeat("u", 129), errcode.BlobUploadUnknown, 404},
		{"/v2/tags/list", errcode.Unsupported, 404},
		{"/v2/manifests/latest", errcode.Unsupported, 404},
		{"/v2/foo/uploads/x", errcode.Unsupported, 404},
		{"/v2/foo", errcode.Unsupported, 404},
		{"/v2/foo/bar", errcode.Unsupported, 404},
		{"/v2/foo/bar/nope/x", errcode.Unsupported, 404},
		{"/v2/a/tags/all", errcode.Unsupported, 404},
		{"/v2/foo/tags/list/", errcode.Unsupported, 404},
		{"/v2/a/manifests/latest/", errcode.Unsupported, 404},
		{"/v2/_catalog/", errcode.Unsupported, 404},
		{"/v2/../admin", errcode.Unsupported, 404},
		{"/v3/foo/tags/list", errcode.Unsupported, 404},
		{"/v1/search", errcode.Unsupported, 404}, // the gateway's, not the spec's
		{"/v1/", errcode.Unsupported, 404},
		{"/", errcode.Unsupported, 404},
		{"", errcode.Unsupported, 404},
		{"/metrics", errcode.Unsupported, 404},
	} {
		for _, m := range []string{http.MethodGet, "PROPFIND"} {
			t.Run(m+" "+tt.path, func(t *testing.T) {
				rt, err := Parse(m, tt.path)
				if code, status := codeOf(err); code != tt.code || status != tt.status {
					t.Fatalf("Parse = %+v, %v; want %d %s", rt, err, tt.status, tt.code)
				}
				if rt != (Route{}) {
					t.Fatalf("refused path read as %+v", rt)
				}
			})
		}
	}
}

func codeOf(err error) (errcode.Code, int) {
	var e *errcode.Error
	if !errors.As(err, &e) {
		return "", 0
	}
	return e.Code, e.HTTPStatus()
}

// A second reading of the grammars, straight from the spec's regular expressions.
var (
	nameRE   = regexp.MustCompile(`^[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*(/[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*)*$`)
	tagRE    = regexp.MustCompile(`^[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}$`)
	digestRE = regexp.MustCompile(`^[a-z0-9]+([+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$`)
	uploadRE = regexp.MustCompile(`^[A-Za-z0-9_=-]{1,128}$`)
)

// render writes a route back as the spec's path.
func render(rt Route) string {
	switch rt.Kind {
	case KindBase:
		return "/v2/"
	case KindCatalog:
		return "/v2/_catalog"
	case KindTags:
		return "/v2/" + rt.Name + "/tags/list"
	case KindManifest:
		return "/v2/" + rt.Name + "/manifests/" + rt.Reference
	case KindBlob:
		return "/v2/" + rt.Name + "/blobs/" + rt.Reference
	case KindUploads:
		return "/v2/" + rt.Name + "/blobs/uploads/"
	case KindUpload:
		return "/v2/" + rt.Name + "/blobs/uploads/" + rt.UploadID
	case KindReferrers:
		return "/v2/" + rt.Name + "/referrers/" + rt.Reference
	}
	return ""
}

// FuzzRouteParse checks, for any method and path: an accepted route's parts are in the
// spec's grammars (by regexp, a second reading); the route rebuilt into a path is the
// same path (but for the two slash-less spellings) and reads as the same route; a refusal
// is an errcode error a client's mistake deserves (400, 404 or 405) with an empty route
// unless only the method was wrong.
func FuzzRouteParse(f *testing.F) {
	for _, s := range []string{"/v2/", "/v2", "/v2/_catalog", "/v2/a/b/tags/list", "/v2/foo/manifests/latest",
		"/v2/foo/blobs/" + dig, "/v2/foo/blobs/uploads/", "/v2/foo/blobs/uploads", "/v2/foo/blobs/uploads/u-1",
		"/v2/foo/referrers/" + dig512, "/v2/a/manifests/b/tags/list", "/v2/a//b/tags/list",
		"/v2/x/manifests/sha256:abc", "/v2/../x/tags/list", "/v2/a/blobs/blobs/uploads/", "/v2/_catalog/",
		"/v2/a/manifests/sha256+b64u:AbC=", "/v1/search"} {
		f.Add("GET", s)
	}
	f.Add("PATCH", "/v2/foo/blobs/uploads/abc")
	f.Add("PUT", "/v2/foo/manifests/latest")
	f.Fuzz(func(t *testing.T, method, path string) {
		rt, err := Parse(method, path)
		if err != nil {
			code, status := codeOf(err)
			switch {
			case code == "":
				t.Fatalf("error %v is not an errcode", err)
			case status == http.StatusMethodNotAllowed:
				if rt.Kind == "" || rt.Kind.Allows(method) {
					t.Fatalf("405 for %s on %+v", method, rt)
				}
			case status != http.StatusBadRequest && status != http.StatusNotFound:
				t.Fatalf("refusal %v has status %d", err, status)
			case rt != (Route{}):
				t.Fatalf("refused path read as %+v", rt)
			}
			if _, perr := ParsePath(path); (perr == nil) != (status == http.StatusMethodNotAllowed) {
				t.Fatalf("Parse says %v, ParsePath says %v", err, perr)
			}
			return
		}
		if rt.Name != "" && (!nameRE.MatchString(rt.Name) || len(rt.Name) > reference.MaxNameLen) {
			t.Fatalf("name %q accepted but not in the grammar", rt.Name)
		}
		if (rt.Name == "") != (rt.Kind == KindBase || rt.Kind == KindCatalog) {
			t.Fatalf("%s route with name %q", rt.Kind, rt.Name)
		}
		switch rt.Kind {
		case KindManifest:
			if !tagRE.MatchString(rt.Reference) && !digestRE.MatchString(rt.Reference) {
				t.Fatalf("reference %q accepted but not in the grammar", rt.Reference)
			}
		case KindBlob, KindReferrers:
			if !digestRE.MatchString(rt.Reference) {
				t.Fatalf("digest %q accepted but not in the grammar", rt.Reference)
			}
		default:
			if rt.Reference != "" {
				t.Fatalf("%s route with reference %q", rt.Kind, rt.Reference)
			}
		}
		if (rt.Kind == KindUpload) != (rt.UploadID != "") || (rt.UploadID != "" && !uploadRE.MatchString(rt.UploadID)) {
			t.Fatalf("%s route with upload id %q", rt.Kind, rt.UploadID)
		}
		p := render(rt)
		if p != path && !((rt.Kind == KindBase || rt.Kind == KindUploads) && path == strings.TrimSuffix(p, "/")) {
			t.Fatalf("%q read as %+v, which rebuilds as %q", path, rt, p)
		}
		if again, err := Parse(method, p); err != nil || again != rt {
			t.Fatalf("round trip of %q: %+v -> %q -> %+v, %v", path, rt, p, again, err)
		}
	})
}
