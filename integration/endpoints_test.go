package integration

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/portcullis/portcullis/access"
)

// fixture is what a stack was seeded with before the endpoint table runs.
type fixture struct {
	s   *stack
	img image  // pushed to every repository in tableRepos as :v1
	src string // the mount source
}

// request is one call an endpoint case makes.
type request struct {
	method string
	uri    string // path and query
	body   []byte
	header http.Header
}

// endpoint is one row of the table: how to build the request on a repository (prep may
// create what the request needs straight in the registry), what it needs, and the status
// the backend answers when it is let through.
type endpoint struct {
	name string
	// global endpoints ignore the repository: base, catalog, search.
	global bool
	build  func(t testing.TB, fx fixture, repo string) request
	// need is the access asked; for a mount only the target decides allowed or denied,
	// the source decides 201 or 202.
	need   func(fx fixture, repo string) []access.Resource
	status func(fx fixture, pc policyCase, user, repo string) int
}

func pullOn(repo string) []access.Resource {
	return []access.Resource{{Type: access.TypeRepository, Name: repo, Actions: []string{access.Pull}}}
}

func pushOn(repo string) []access.Resource {
	return []access.Resource{{Type: access.TypeRepository, Name: repo, Actions: []string{access.Pull, access.Push}}}
}

func deleteOn(repo string) []access.Resource {
	return []access.Resource{{Type: access.TypeRepository, Name: repo, Actions: []string{access.Delete}}}
}

func catalogAccess(fixture, string) []access.Resource {
	return []access.Resource{{Type: access.TypeRegistry, Name: "catalog", Actions: []string{access.All}}}
}

func fixed(code int) func(fixture, policyCase, string, string) int {
	return func(fixture, policyCase, string, string) int { return code }
}

func get(uri string) request { return request{method: http.MethodGet, uri: uri} }

func withQuery(uri, q string) string {
	if strings.Contains(uri, "?") {
		return uri + "&" + q
	}
	return uri + "?" + q
}

// endpoints is every endpoint of the distribution API, plus docker search.
var endpoints = []endpoint{
	{name: "base", global: true,
		build: func(testing.TB, fixture, string) request { return get("/v2/") },
		need:  func(fixture, string) []access.Resource { return nil }, status: fixed(200)},
	{name: "catalog", global: true,
		build: func(testing.TB, fixture, string) request { return get("/v2/_catalog?n=3") },
		need:  catalogAccess, status: fixed(200)},
	{name: "search", global: true,
		build: func(testing.TB, fixture, string) request { return get("/v1/search?q=app") },
		need:  catalogAccess, status: fixed(200)},
	{name: "tags list",
		build: func(_ testing.TB, _ fixture, repo string) request { return get("/v2/" + repo + "/tags/list") },
		need:  pullRepo, status: fixed(200)},
	{name: "manifest GET tag",
		build: func(_ testing.TB, _ fixture, repo string) request { return get("/v2/" + repo + "/manifests/v1") },
		need:  pullRepo, status: fixed(200)},
	{name: "manifest HEAD tag",
		build: func(_ testing.TB, _ fixture, repo string) request {
			return request{method: http.MethodHead, uri: "/v2/" + repo + "/manifests/v1"}
		},
		need: pullRepo, status: fixed(200)},
	{name: "manifest GET digest",
		build: func(_ testing.TB, fx fixture, repo string) request {
			return get("/v2/" + repo + "/manifests/" + fx.img.Digest)
		},
		need: pullRepo, status: fixed(200)},
	{name: "manifest HEAD digest",
		build: func(_ testing.TB, fx fixture, repo string) request {
			return request{method: http.MethodHead, uri: "/v2/" + repo + "/manifests/" + fx.img.Digest}
		},
		need: pullRepo, status: fixed(200)},
	{name: "manifest PUT tag",
		build: func(_ testing.TB, fx fixture, repo string) request {
			return request{method: http.MethodPut, uri: fmt.Sprintf("/v2/%s/manifests/put-%d", repo, unique.Add(1)),
				body: fx.img.Manifest, header: http.Header{"Content-Type": {fx.img.MediaType}}}
		},
		need: pushRepo, status: fixed(201)},
	{name: "manifest PUT digest",
		build: func(_ testing.TB, fx fixture, repo string) request {
			return request{method: http.MethodPut, uri: "/v2/" + repo + "/manifests/" + fx.img.Digest,
				body: fx.img.Manifest, header: http.Header{"Content-Type": {fx.img.MediaType}}}
		},
		need: pushRepo, status: fixed(201)},
	{name: "manifest DELETE tag",
		build: func(t testing.TB, fx fixture, repo string) request {
			tag := fmt.Sprintf("del-%d", unique.Add(1))
			bareManifest(t, fx.s, repo, tag)
			return request{method: http.MethodDelete, uri: "/v2/" + repo + "/manifests/" + tag}
		},
		need: deleteRepo, status: fixed(202)},
	{name: "manifest DELETE digest",
		build: func(t testing.TB, fx fixture, repo string) request {
			d := bareManifest(t, fx.s, repo, fmt.Sprintf("deld-%d", unique.Add(1)))
			return request{method: http.MethodDelete, uri: "/v2/" + repo + "/manifests/" + d}
		},
		need: deleteRepo, status: fixed(202)},
	{name: "blob GET",
		build: func(_ testing.TB, fx fixture, repo string) request {
			return get("/v2/" + repo + "/blobs/" + fx.img.Config)
		},
		need: pullRepo, status: fixed(200)},
	{name: "blob HEAD",
		build: func(_ testing.TB, fx fixture, repo string) request {
			return request{method: http.MethodHead, uri: "/v2/" + repo + "/blobs/" + fx.img.Layer}
		},
		need: pullRepo, status: fixed(200)},
	{name: "blob DELETE",
		build: func(t testing.TB, fx fixture, repo string) request {
			d := bareBlob(t, fx.s, repo, fmt.Appendf(nil, "blob to delete %d", unique.Add(1)))
			return request{method: http.MethodDelete, uri: "/v2/" + repo + "/blobs/" + d}
		},
		need: deleteRepo, status: fixed(202)},
	{name: "upload POST",
		build: func(_ testing.TB, _ fixture, repo string) request {
			return request{method: http.MethodPost, uri: "/v2/" + repo + "/blobs/uploads/"}
		},
		need: pushRepo, status: fixed(202)},
	{name: "upload POST monolithic",
		build: func(_ testing.TB, _ fixture, repo string) request {
			b := fmt.Appendf(nil, "monolithic %d", unique.Add(1))
			return request{method: http.MethodPost, uri: "/v2/" + repo + "/blobs/uploads/?digest=" + digestOf(b), body: b,
				header: http.Header{"Content-Type": {"application/octet-stream"}}}
		},
		need: pushRepo, status: fixed(201)},
	{name: "upload PATCH",
		build: func(t testing.TB, fx fixture, repo string) request {
			return request{method: http.MethodPatch, uri: bareUpload(t, fx.s, repo), body: []byte("chunk"),
				header: http.Header{"Content-Type": {"application/octet-stream"}}}
		},
		need: pushRepo, status: fixed(202)},
	{name: "upload PUT",
		build: func(t testing.TB, fx fixture, repo string) request {
			b := fmt.Appendf(nil, "upload %d", unique.Add(1))
			return request{method: http.MethodPut, uri: withQuery(bareUpload(t, fx.s, repo), "digest="+digestOf(b)), body: b,
				header: http.Header{"Content-Type": {"application/octet-stream"}}}
		},
		need: pushRepo, status: fixed(201)},
	{name: "upload GET",
		build: func(t testing.TB, fx fixture, repo string) request { return get(bareUpload(t, fx.s, repo)) },
		need:  pullRepo, status: fixed(204)},
	{name: "upload DELETE",
		build: func(t testing.TB, fx fixture, repo string) request {
			return request{method: http.MethodDelete, uri: bareUpload(t, fx.s, repo)}
		},
		need: deleteRepo, status: fixed(204)},
	{name: "mount",
		build: func(_ testing.TB, fx fixture, repo string) request {
			return request{method: http.MethodPost, uri: "/v2/" + repo + "/blobs/uploads/?mount=" + fx.img.Layer + "&from=" + fx.src}
		},
		need: pushRepo,
		// 201 when the caller may pull the source; otherwise the gateway strips the
		// mount and the registry opens a plain upload.
		status: func(fx fixture, pc policyCase, user, _ string) int {
			if pc.may(user, access.TypeRepository, fx.src, access.Pull) {
				return 201
			}
			return 202
		}},
	{name: "referrers",
		build: func(_ testing.TB, fx fixture, repo string) request {
			return get("/v2/" + repo + "/referrers/" + fx.img.Digest)
		},
		need: pullRepo, status: fixed(200)},
}

func pullRepo(_ fixture, repo string) []access.Resource   { return pullOn(repo) }
func pushRepo(_ fixture, repo string) []access.Resource   { return pushOn(repo) }
func deleteRepo(_ fixture, repo string) []access.Resource { return deleteOn(repo) }
