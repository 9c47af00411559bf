package gateway

import (
	"net/url"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"github.com/portcullis/portcullis/reference"
)

// The spec's grammars, as regular expressions: the second reading the hand-written
// matchers are checked against.
var (
	nameRE   = regexp.MustCompile(`^[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*(/[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*)*$`)
	tagRE    = regexp.MustCompile(`^[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}$`)
	digestRE = regexp.MustCompile(`^[a-z0-9]+([+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$`)
)

var classifySeeds = []string{
	"/v2/", "/v2/_catalog?n=2&last=a", "/v1/search?q=x&n=3&page=2",
	"/v2/library/alpine/tags/list", "/v2/a/manifests/latest", "/v2/a/b/manifests/" + testDigest,
	"/v2/a/blobs/" + testDigest, "/v2/a/blobs/uploads/", "/v2/a/blobs/uploads/abc-DEF_1=",
	"/v2/a/blobs/uploads/?mount=" + testDigest + "&from=b", "/v2/a/referrers/" + testDigest,
	"/v2/a%2Fb/manifests/latest", "/v2/a/../b/tags/list", "/v2//a/tags/list", "/v2/a;x/tags/list",
	"/v2/a/manifests/..", "/v2/blobs/blobs/uploads/x", "/v2/a__b/tags/list", "/v2/a___b/tags/list",
	"/v2/a/manifests/sha256+b64u:AbC=", "/v2/_catalog/tags/list", "/v2/a/blobs/uploads",
}

// FuzzClassify checks that whatever Classify accepts is safe to forward as it stands: the
// judged path is the URL's path and its escaped form (no escapes), it has no '%', "//",
// dot segments or ';', its parts match the spec's grammars (checked by regexp, a second
// reading), and classifying the forwarded request again gives the same route.
func FuzzClassify(f *testing.F) {
	for _, s := range classifySeeds {
		for _, m := range []string{"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"} {
			f.Add(m, s)
		}
	}
	f.Fuzz(func(t *testing.T, method, raw string) {
		u, err := url.ParseRequestURI(raw)
		if err != nil {
			return
		}
		rt, err := Classify(method, u)
		if err != nil {
			return
		}
		p := rt.Path
		if p != u.Path || p != u.EscapedPath() {
			t.Fatalf("judged path %q, URL path %q, escaped %q", p, u.Path, u.EscapedPath())
		}
		for _, bad := range []string{"%", "//", "/./", "/../", ";", "#", "?"} {
			if strings.Contains(p, bad) {
				t.Fatalf("accepted path %q contains %q", p, bad)
			}
		}
		if strings.HasSuffix(p, "/.") || strings.HasSuffix(p, "/..") {
			t.Fatalf("accepted path %q ends in a dot segment", p)
		}
		if rt.Name != "" && (!nameRE.MatchString(rt.Name) || len(rt.Name) > reference.MaxNameLen) {
			t.Fatalf("accepted name %q outside the grammar", rt.Name)
		}
		if rt.MountFrom != "" && !nameRE.MatchString(rt.MountFrom) {
			t.Fatalf("accepted mount source %q outside the grammar", rt.MountFrom)
		}
		switch rt.Kind {
		case KindManifest:
			if !tagRE.MatchString(rt.Reference) && !digestRE.MatchString(rt.Reference) {
				t.Fatalf("accepted reference %q", rt.Reference)
			}
		case KindBlob, KindReferrers:
			if !digestRE.MatchString(rt.Reference) {
				t.Fatalf("accepted digest %q", rt.Reference)
			}
		case KindBase:
			if len(rt.Access) != 0 {
				t.Fatalf("base route asks for %+v", rt.Access)
			}
		default:
			if len(rt.Access) == 0 {
				t.Fatalf("route %s asks for no access", rt.Kind)
			}
		}
		if rt.Name != "" && !strings.Contains(p, "/"+rt.Name+"/") {
			t.Fatalf("name %q is not in path %q", rt.Name, p)
		}
		// Round trip: the request as forwarded reads the same.
		fwd, err := url.ParseRequestURI(u.RequestURI())
		if err != nil {
			t.Fatalf("forwarded URI %q does not parse: %v", u.RequestURI(), err)
		}
		again, err := Classify(method, fwd)
		if err != nil || !reflect.DeepEqual(again, rt) {
			t.Fatalf("re-classified %q: %+v, %v; first %+v", u.RequestURI(), again, err, rt)
		}
	})
}
