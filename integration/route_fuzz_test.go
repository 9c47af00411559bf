// Package integration holds tests that cross package walls; it has no non-test code.
package integration

import (
	"net/http"
	"net/url"
	"testing"

	"github.com/portcullis/portcullis/distspec"
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

// outcome is how the gateway and the bundled registry read one request.
type outcome int

const (
	skipped     outcome = iota // not a request URI, or the gateway's own /v1/search
	same                       // both accept it as the same route
	bothRefused                // both refuse it, with the same code and status
	stricter                   // only the gateway refuses it, for one of its documented reasons
)

// agree checks one request against the one grammar: the registry's router is distspec's,
// route for route and error for error; what the gateway accepts (and forwards), the
// registry's router reads as the same endpoint, repository, reference and upload id; what
// both refuse, they refuse with the same code and status, so a client cannot tell which
// layer answered; what only the gateway refuses is one of its stricter refusals, restated
// independently by stricterReason, with a 400. The registry never refuses what the
// gateway accepted.
func agree(t *testing.T, method, raw string) outcome {
	u, err := url.ParseRequestURI(raw)
	if err != nil {
		return skipped
	}
	return agreeURL(t, method, u)
}

func agreeURL(t *testing.T, method string, u *url.URL) outcome {
	gw, gerr := gateway.Classify(method, u)
	if gw.Kind == gateway.KindSearch { // served by the gateway alone
		return skipped
	}
	if gerr != nil {
		reg, rerr := registry.ParseRoute(method, u) // as if the request reached it directly
		shared, serr := distspec.Parse(method, u.Path)
		if reg != shared || errString(rerr) != errString(serr) {
			t.Fatalf("%s %s: registry reads %+v, %v; distspec %+v, %v", method, u, reg, rerr, shared, serr)
		}
		if rerr != nil {
			if gc, gs := codeOf(gerr); gc != codeOnly(rerr) || gs != statusOf(rerr) {
				t.Fatalf("%s %s: gateway refused with %d %s (%v), registry with %d %s (%v)",
					method, u, gs, gc, gerr, statusOf(rerr), codeOnly(rerr), rerr)
			}
			return bothRefused
		}
		why := stricterReason(u, reg)
		if why == "" {
			t.Fatalf("%s %s: gateway refused (%v) what the registry reads as %+v, for no documented reason", method, u, gerr, reg)
		}
		if _, gs := codeOf(gerr); gs != http.StatusBadRequest {
			t.Fatalf("%s %s: gateway refused (%s) with %v, want a 400", method, u, why, gerr)
		}
		return stricter
	}
	fwd, err := url.ParseRequestURI(u.RequestURI()) // what the backend receives
	if err != nil {
		t.Fatalf("forwarded URI %q does not parse: %v", u.RequestURI(), err)
	}
	reg, err := registry.ParseRoute(method, fwd)
	if err != nil {
		t.Fatalf("%s %s: gateway accepted %+v, registry refused: %v", method, u, gw, err)
	}
	if gw.Kind != reg.Kind || gw.Name != reg.Name || gw.UploadID != reg.UploadID {
		t.Fatalf("%s %s: gateway read %s %q upload %q, registry %s %q upload %q",
			method, u, gw.Kind, gw.Name, gw.UploadID, reg.Kind, reg.Name, reg.UploadID)
	}
	if gw.Kind != gateway.KindUploads && gw.Reference != reg.Reference {
		t.Fatalf("%s %s: gateway reference %q, registry %q", method, u, gw.Reference, reg.Reference)
	}
	return same
}

func TestRouteAgreement(t *testing.T) {
	for _, s := range routeSeeds {
		t.Run(s.method+" "+s.uri, func(t *testing.T) { agree(t, s.method, s.uri) })
	}
}

// FuzzRouteAgreement: no request reads one way at the gateway and another at the
// registry, and no refusal differs but by the gateway's documented stricter rules.
func FuzzRouteAgreement(f *testing.F) {
	for _, s := range routeSeeds {
		f.Add(s.method, s.uri)
	}
	f.Fuzz(func(t *testing.T, method, raw string) { agree(t, method, raw) })
}
