// Package integration holds tests that cross package walls; it has no non-test code.
package integration

import (
	"net/url"
	"testing"

	"github.com/portcullis/portcullis/gateway"
	"github.com/portcullis/portcullis/registry"
)

const dig = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

// routeSeeds are requests on every endpoint plus the tricky spellings: names that contain
// endpoint words, dot and escape tricks, trailing slashes.
var routeSeeds = []struct{ method, uri string }{
	{"GET", "/v2/"},
	{"GET", "/v2/_catalog?n=10"},
	{"GET", "/v2/library/alpine/tags/list"},
	{"HEAD", "/v2/a/manifests/latest"},
	{"PUT", "/v2/a/b/c/manifests/" + dig},
	{"DELETE", "/v2/a/manifests/" + dig},
	{"GET", "/v2/a/blobs/" + dig},
	{"DELETE", "/v2/a/blobs/" + dig},
	{"POST", "/v2/a/blobs/uploads/"},
	{"POST", "/v2/a/blobs/uploads/?mount=" + dig + "&from=b"},
	{"PATCH", "/v2/a/blobs/uploads/0f5c-AB_c="},
	{"PUT", "/v2/a/blobs/uploads/0f5c?digest=" + dig},
	{"GET", "/v2/a/referrers/" + dig},
	{"GET", "/v2/blobs/manifests/manifests/v1"},
	{"GET", "/v2/tags/list/tags/list"},
	{"GET", "/v2/a/blobs/uploads/blobs/" + dig},
	{"POST", "/v2/a/blobs/uploads/blobs/uploads/"},
	{"GET", "/v2/referrers/referrers/" + dig},
	{"GET", "/v2/a/blobs/uploads"},
	{"GET", "/v2"},
	{"GET", "/v2/a%2Fb/tags/list"},
	{"GET", "/v2/a/../b/tags/list"},
	{"GET", "/v2/a//b/tags/list"},
	{"GET", "/v2/a/manifests/latest/"},
	{"GET", "/v2/_catalog/tags/list"},
	{"GET", "/v2/a__b/tags/list"},
	{"GET", "/v2/a___b/tags/list"},
	{"GET", "/v2/a/manifests/sha256+b64u:AbC="},
}

// agree checks one request: whatever the gateway accepts (and forwards), the bundled
// registry's router reads as the same endpoint on the same repository, reference and
// upload. The gateway may refuse more than the registry; never the other way round.
func agree(t *testing.T, method, raw string) {
	u, err := url.ParseRequestURI(raw)
	if err != nil {
		return
	}
	gw, err := gateway.Classify(method, u)
	if err != nil || gw.Kind == gateway.KindSearch { // refused, or served by the gateway alone
		return
	}
	fwd, err := url.ParseRequestURI(u.RequestURI()) // what the backend receives
	if err != nil {
		t.Fatalf("forwarded URI %q does not parse: %v", u.RequestURI(), err)
	}
	reg, err := registry.ParseRoute(method, fwd)
	if err != nil {
		t.Fatalf("%s %s: gateway accepted %+v, registry refused: %v", method, raw, gw, err)
	}
	if string(gw.Kind) != reg.Kind || gw.Name != reg.Name || gw.UploadID != reg.UploadID {
		t.Fatalf("%s %s: gateway read %s %q upload %q, registry %s %q upload %q",
			method, raw, gw.Kind, gw.Name, gw.UploadID, reg.Kind, reg.Name, reg.UploadID)
	}
	if gw.Kind != gateway.KindUploads && gw.Reference != reg.Reference {
		t.Fatalf("%s %s: gateway reference %q, registry %q", method, raw, gw.Reference, reg.Reference)
	}
}

func TestRouteAgreement(t *testing.T) {
	for _, s := range routeSeeds {
		t.Run(s.method+" "+s.uri, func(t *testing.T) { agree(t, s.method, s.uri) })
	}
}

// FuzzRouteAgreement: no request reads one way at the gateway and another at the registry.
func FuzzRouteAgreement(f *testing.F) {
	for _, s := range routeSeeds {
		f.Add(s.method, s.uri)
	}
	f.Fuzz(agree)
}
