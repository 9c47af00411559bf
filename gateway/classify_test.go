package gateway

import (
	"errors"
	"net/http"
	"net/url"
	"slices"
	"testing"

	"github.com/portcullis/portcullis/access"
	"github.com/portcullis/portcullis/errcode"
)

var allMethods = []string{
	http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut,
	http.MethodPatch, http.MethodDelete, http.MethodOptions, "PROPFIND",
}

func mustURI(t testing.TB, raw string) *url.URL {
	t.Helper()
	u, err := url.ParseRequestURI(raw)
	if err != nil {
		t.Fatalf("ParseRequestURI(%q): %v", raw, err)
	}
	return u
}

// TestClassifyEndpoints runs every endpoint with every method: the supported ones map to
// distribution's access records, the rest are 405 UNSUPPORTED.
func TestClassifyEndpoints(t *testing.T) {
	pull, pullPush, del := []string{access.Pull}, []string{access.Pull, access.Push}, []string{access.Delete}
	endpoints := []struct {
		uri      string
		kind     Kind
		name     string
		ref, id  string
		methods  map[string][]string // method -> actions on name (nil: no repository access)
		resource string              // "catalog" for registry:catalog:*
	}{
		{uri: "/v2/", kind: KindBase, methods: map[string][]string{"GET": nil, "HEAD": nil}},
		{uri: "/v2", kind: KindBase, methods: map[string][]string{"GET": nil, "HEAD": nil}}, // as the backends read it
		{uri: "/v2/_catalog", kind: KindCatalog, resource: "catalog", methods: map[string][]string{"GET": nil, "HEAD": nil}},
		{uri: "/v2/_catalog?n=10&last=a", kind: KindCatalog, resource: "catalog", methods: map[string][]string{"GET": nil, "HEAD": nil}},
		{uri: "/v1/search?q=foo", kind: KindSearch, resource: "catalog", methods: map[string][]string{"GET": nil}},
		{uri: "/v2/library/alpine/tags/list", kind: KindTags, name: "library/alpine", methods: map[string][]string{"GET": pull, "HEAD": pull}},
		{uri: "/v2/a/manifests/latest", kind: KindManifest, name: "a", ref: "latest",
			methods: map[string][]string{"GET": pull, "HEAD": pull, "PUT": pullPush, "DELETE": del}},
		{uri: "/v2/a/b/c/manifests/" + testDigest, kind: KindManifest, name: "a/b/c", ref: testDigest,
			methods: map[string][]string{"GET": pull, "HEAD": pull, "PUT": pullPush, "DELETE": del}},
		{uri: "/v2/my-app/blobs/" + testDigest, kind: KindBlob, name: "my-app", ref: testDigest,
			methods: map[string][]string{"GET": pull, "HEAD": pull, "DELETE": del}},
		{uri: "/v2/x.y__z/blobs/uploads/", kind: KindUploads, name: "x.y__z", methods: map[string][]string{"POST": pullPush}},
		{uri: "/v2/x/blobs/uploads/?digest=" + testDigest, kind: KindUploads, name: "x", methods: map[string][]string{"POST": pullPush}},
		{uri: "/v2/x/blobs/uploads", kind: KindUploads, name: "x", methods: map[string][]string{"POST": pullPush}}, // as the backends read it
		{uri: "/v2/x/blobs/uploads/3f1c-AB_9=", kind: KindUpload, name: "x", id: "3f1c-AB_9=",
			methods: map[string][]string{"GET": pull, "PATCH": pullPush, "PUT": pullPush, "DELETE": del}},
		{uri: "/v2/x/referrers/" + testDigest, kind: KindReferrers, name: "x", ref: testDigest, methods: map[string][]string{"GET": pull, "HEAD": pull}},
		// Names may contain the endpoint words; the trailing segments decide.
		{uri: "/v2/blobs/manifests/manifests/v1", kind: KindManifest, name: "blobs/manifests", ref: "v1",
			methods: map[string][]string{"GET": pull, "HEAD": pull, "PUT": pullPush, "DELETE": del}},
		{uri: "/v2/tags/uploads/blobs/" + testDigest, kind: KindBlob, name: "tags/uploads", ref: testDigest,
			methods: map[string][]string{"GET": pull, "HEAD": pull, "DELETE": del}},
	}
	for _, ep := range endpoints {
		for _, m := range allMethods {
			t.Run(m+" "+ep.uri, func(t *testing.T) {
				u := mustURI(t, ep.uri)
				rt, err := Classify(m, u)
				actions, supported := ep.methods[m]
				if !supported {
					var e *errcode.Error
					if !errors.As(err, &e) || e.Code != errcode.Unsupported || e.HTTPStatus() != http.StatusMethodNotAllowed {
						t.Fatalf("err = %v, want 405 UNSUPPORTED", err)
					}
					return
				}
				if err != nil {
					t.Fatalf("Classify: %v", err)
				}
				if rt.Kind != ep.kind || rt.Name != ep.name || rt.Reference != ep.ref || rt.UploadID != ep.id || rt.Path != u.Path {
					t.Fatalf("route = %+v, want kind %s name %q ref %q id %q path %q", rt, ep.kind, ep.name, ep.ref, ep.id, u.Path)
				}
				var want []access.Resource
				switch {
				case ep.resource == "catalog":
					want = []access.Resource{{Type: "registry", Name: "catalog", Actions: []string{"*"}}}
				case ep.name != "":
					want = []access.Resource{{Type: "repository", Name: ep.name, Actions: actions}}
				}
				if !slices.EqualFunc(rt.Access, want, resEqual) {
					t.Fatalf("access = %+v, want %+v", rt.Access, want)
				}
			})
		}
	}
}

func resEqual(a, b access.Resource) bool {
	return a.Type == b.Type && a.Name == b.Name && slices.Equal(a.Actions, b.Actions)
}

func TestClassifyMount(t *testing.T) {
	tests := []struct {
		uri       string
		from, ref string
		access    int
		code      errcode.Code
	}{
		{uri: "/v2/dst/blobs/uploads/?mount=" + testDigest + "&from=src/lib", from: "src/lib", ref: testDigest, access: 2},
		{uri: "/v2/dst/blobs/uploads/?from=src&mount=" + testDigest, from: "src", ref: testDigest, access: 2},
		{uri: "/v2/dst/blobs/uploads/?mount=" + testDigest, access: 1}, // no from: not a mount (stripped later)
		{uri: "/v2/dst/blobs/uploads/?from=src", access: 1},            // no mount: likewise
		{uri: "/v2/dst/blobs/uploads/?mount=sha256:zz&from=src", code: errcode.DigestInvalid},
		{uri: "/v2/dst/blobs/uploads/?mount=" + testDigest + "&from=Src", code: errcode.NameInvalid},
		{uri: "/v2/dst/blobs/uploads/?mount=" + testDigest + "&from=a&from=b", code: errcode.NameInvalid},
		{uri: "/v2/dst/blobs/uploads/?mount=" + testDigest + "&mount=" + testDigest2 + "&from=a", code: errcode.NameInvalid},
		{uri: "/v2/dst/blobs/uploads/?mount=" + testDigest + ";from=a", code: errcode.NameInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.uri, func(t *testing.T) {
			rt, err := Classify(http.MethodPost, mustURI(t, tt.uri))
			if tt.code != "" {
				var e *errcode.Error
				if !errors.As(err, &e) || e.Code != tt.code {
					t.Fatalf("err = %v, want %s", err, tt.code)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if rt.MountFrom != tt.from || rt.Reference != tt.ref || len(rt.Access) != tt.access {
				t.Fatalf("route = %+v", rt)
			}
			if tt.access == 2 && !resEqual(rt.Access[1], access.Resource{Type: "repository", Name: tt.from, Actions: []string{"pull"}}) {
				t.Fatalf("mount source access = %+v", rt.Access[1])
			}
		})
	}
}

// TestClassifyRejects lists every class of path the backend could read differently, and
// every grammar violation: each is refused, never cleaned.
func TestClassifyRejects(t *testing.T) {
	long := "a"
	for len(long) < 256 {
		long += "a"
	}
	tests := []struct {
		name   string
		uri    string
		code   errcode.Code
		status int
	}{
		{"encoded slash", "/v2/a%2Fb/manifests/latest", errcode.NameInvalid, 400},
		{"encoded letter", "/v2/%61/manifests/latest", errcode.NameInvalid, 400},
		{"encoded percent", "/v2/a%25/manifests/latest", errcode.NameInvalid, 400},
		{"encoded dot", "/v2/a/%2e%2e/b/manifests/latest", errcode.NameInvalid, 400},
		{"dot dot", "/v2/a/../b/manifests/latest", errcode.NameInvalid, 400},
		{"dot", "/v2/a/./manifests/latest", errcode.NameInvalid, 400},
		{"trailing dot dot", "/v2/a/manifests/..", errcode.ManifestInvalid, 400},
		{"escape to root", "/v2/../admin", errcode.Unsupported, 404},
		{"double slash", "/v2/a//b/manifests/latest", errcode.NameInvalid, 400},
		{"double slash after v2", "/v2//a/manifests/latest", errcode.NameInvalid, 400},
		{"semicolon param", "/v2/a;x=y/manifests/latest", errcode.NameInvalid, 400},
		{"semicolon in tag", "/v2/a/manifests/latest;v=1", errcode.ManifestInvalid, 400},
		{"space", "/v2/a b/manifests/latest", errcode.NameInvalid, 400},
		{"upper case name", "/v2/Alpine/manifests/latest", errcode.NameInvalid, 400},
		{"leading separator", "/v2/-a/manifests/latest", errcode.NameInvalid, 400},
		{"trailing separator", "/v2/a-/manifests/latest", errcode.NameInvalid, 400},
		{"triple underscore", "/v2/a___b/manifests/latest", errcode.NameInvalid, 400},
		{"name too long", "/v2/" + long + "/manifests/latest", errcode.NameInvalid, 400},
		{"tag leading dot", "/v2/a/manifests/.hidden", errcode.ManifestInvalid, 400},
		{"tag leading dash", "/v2/a/manifests/-x", errcode.ManifestInvalid, 400},
		{"tag too long", "/v2/a/manifests/" + long[:129], errcode.ManifestInvalid, 400},
		{"bad manifest digest", "/v2/a/manifests/sha256:abc", errcode.DigestInvalid, 400}, // stricter than distspec
		{"manifest digest outside the grammar", "/v2/a/manifests/Sha256:abc", errcode.DigestInvalid, 400},
		{"upper hex digest (stricter than distspec)", "/v2/a/blobs/sha256:0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef", errcode.DigestInvalid, 400},
		{"blob tag", "/v2/a/blobs/latest", errcode.DigestInvalid, 400},
		{"blob digest no alg", "/v2/a/blobs/:abc", errcode.DigestInvalid, 400},
		{"referrers bad digest", "/v2/a/referrers/sha512:00", errcode.DigestInvalid, 400},
		{"upload id outside the alphabet", "/v2/a/blobs/uploads/a+b", errcode.BlobUploadUnknown, 404},
		{"upload id with dot", "/v2/a/blobs/uploads/a.b", errcode.BlobUploadUnknown, 404},
		{"bad query", "/v2/a/manifests/latest?x=%zz", errcode.NameInvalid, 400},
		{"fragment char", "/v2/a/manifests/latest#frag", errcode.ManifestInvalid, 400},
		{"non ascii", "/v2/\u00e4/manifests/latest", errcode.NameInvalid, 400},
		{"unknown v2 route", "/v2/a/unknown/x", errcode.Unsupported, 404},
		{"no name", "/v2/manifests/latest", errcode.Unsupported, 404},
		{"tags not list", "/v2/a/tags/all", errcode.Unsupported, 404},
		{"root", "/", errcode.Unsupported, 404},
		{"other", "/metrics", errcode.Unsupported, 404},
		{"uploads not under blobs", "/v2/a/x/uploads/abc", errcode.Unsupported, 404},
		{"catalog trailing slash", "/v2/_catalog/", errcode.Unsupported, 404},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var u *url.URL
			if tt.name == "non ascii" || tt.name == "space" {
				u = &url.URL{Path: tt.uri} // a server would not parse these; a caller might build them
			} else {
				u = mustURI(t, tt.uri)
			}
			_, err := Classify(http.MethodGet, u)
			var e *errcode.Error
			if !errors.As(err, &e) {
				t.Fatalf("Classify(%q) = %v, want %s", tt.uri, err, tt.code)
			}
			if e.Code != tt.code || e.HTTPStatus() != tt.status {
				t.Fatalf("Classify(%q) = %s %d, want %s %d", tt.uri, e.Code, e.HTTPStatus(), tt.code, tt.status)
			}
		})
	}
}

func TestClassifyOpaque(t *testing.T) {
	if _, err := Classify("GET", &url.URL{Opaque: "/v2/a/manifests/latest"}); err == nil {
		t.Fatal("opaque URL accepted")
	}
	if _, err := Classify("GET", &url.URL{Path: "/v2/a/manifests/latest", RawPath: "/v2/%61/manifests/latest"}); err == nil {
		t.Fatal("RawPath differing from Path accepted")
	}
}
