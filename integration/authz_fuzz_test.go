package integration

import (
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/portcullis/portcullis/access"
	"github.com/portcullis/portcullis/distspec"
	"github.com/portcullis/portcullis/policy"
	"github.com/portcullis/portcullis/registry"
)

// fakeNames is the catalog the recording backend serves.
var fakeNames = []string{"alice/app", "bob/app", "library/alpine", "other/x", "payments/api", "public/web", "secret/y"}

// fakeBackend stands in for the registry in the fuzz test: it answers every request 200
// (the recorder in front of it keeps what reached it) and serves fakeNames as the catalog.
type fakeBackend struct{}

func (fakeBackend) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/v2/_catalog" {
		w.WriteHeader(http.StatusOK)
		return
	}
	last := r.URL.Query().Get("last")
	names := []string{}
	for _, n := range fakeNames {
		if n > last {
			names = append(names, n)
		}
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string][]string{"repositories": names})
}

// fuzzClient gives up on a request that hangs, so a hang fails the input that caused it.
var fuzzClient = &http.Client{Timeout: 20 * time.Second}

var (
	fuzzMethods = []string{"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}
	fuzzDigest  = "sha256:" + strings.Repeat("ab", 32)
)

// fuzzPath builds a request path of one of the endpoint shapes from fuzzed parts; kind 9
// takes name as the whole path.
func fuzzPath(kind uint8, name, ref string) string {
	switch kind % 10 {
	case 0:
		return "/v2/"
	case 1:
		return "/v2/_catalog"
	case 2:
		return "/v1/search"
	case 3:
		return "/v2/" + name + "/tags/list"
	case 4:
		return "/v2/" + name + "/manifests/" + ref
	case 5:
		return "/v2/" + name + "/blobs/" + ref
	case 6:
		return "/v2/" + name + "/blobs/uploads/"
	case 7:
		return "/v2/" + name + "/blobs/uploads/" + ref
	case 8:
		return "/v2/" + name + "/referrers/" + ref
	}
	return name
}

// FuzzAuthorization sends generated requests through the real pipeline (HTTP, htpasswd
// Basic, groups, a policy) to a recording backend, and checks that nothing reached the
// backend with an access the policy did not grant. The access is recomputed from what the
// backend received, apart from the gateway's classifier: the bundled registry's router
// reads the route, distribution's rule gives the actions (GET/HEAD pull; POST/PUT/PATCH
// pull and push; DELETE delete; a mount also pull on its source), and the policy engine
// is asked directly. Catalog and search answers may name only pullable repositories.
func FuzzAuthorization(f *testing.F) {
	policies := []policyCase{defaultPolicy, teamPolicy, publicPolicy, scopedPolicy}
	engines := make([]*policy.Engine, len(policies))
	stacks := make([]*stack, len(policies))
	for i, pc := range policies {
		engines[i] = mustLoad(f, pc)
		stacks[i] = newStack(f, engines[i], fakeBackend{})
	}

	names := []string{"alice/app", "bob/app", "payments/api", "public/web", "library/alpine", "secret/y",
		"a", "alice", "alice/", "alicex/app", "payments", "public", "a/b/c/d", "Alice/app", "alice/../bob/app",
		"alice/%2e%2e/bob", "alice%2Fapp", "alice//app", "./alice", "alice/app/", "blobs/uploads", "_catalog",
		"alice/app/manifests/v1/../../../bob/app"}
	refs := []string{"v1", fuzzDigest, "latest", "sha256:abc", "..", "0f5c-AB_c=", "v1%2F..", "v1/../x", ""}
	for i := range policies {
		for u := range principals {
			for k := range uint8(10) {
				for _, n := range names[:6] {
					m := uint8((int(k) + u + i) % len(fuzzMethods))
					f.Add(uint8(i), uint8(u), m, k, n, refs[int(k)%len(refs)], "", "", "")
				}
			}
			f.Add(uint8(i), uint8(u), uint8(2), uint8(6), "alice/app", "", fuzzDigest, "secret/y", "")
			f.Add(uint8(i), uint8(u), uint8(2), uint8(6), "bob/app", "", fuzzDigest, "public/web", "")
			f.Add(uint8(i), uint8(u), uint8(2), uint8(6), "payments/api", "", fuzzDigest, "", "")
			f.Add(uint8(i), uint8(u), uint8(2), uint8(6), "alice/app", "", fuzzDigest, "secret/y&from=public/web", "")
			f.Add(uint8(i), uint8(u), uint8(2), uint8(6), "alice/app", "", fuzzDigest, "public/web", "from=secret/y")
			f.Add(uint8(i), uint8(u), uint8(2), uint8(6), "alice/app", "", fuzzDigest, "secret/y", "mount="+fuzzDigest)
			f.Add(uint8(i), uint8(u), uint8(2), uint8(6), "alice/app", "", fuzzDigest, "public/web;from=secret/y", "")
			f.Add(uint8(i), uint8(u), uint8(2), uint8(6), "alice/app", "", fuzzDigest, "secret%2Fy", "")
			f.Add(uint8(i), uint8(u), uint8(0), uint8(1), "", "", "", "", "n=2&last=bob/app")
			f.Add(uint8(i), uint8(u), uint8(0), uint8(2), "", "", "", "", "q=a&n=1&page=2")
		}
		for _, n := range names[6:] {
			f.Add(uint8(i), uint8(1), uint8(3), uint8(4), n, "v1", "", "", "")
			f.Add(uint8(i), uint8(2), uint8(0), uint8(3), n, "", "", "", "")
		}
		for _, r := range refs {
			f.Add(uint8(i), uint8(1), uint8(5), uint8(7), "alice/app", r, "", "", "")
			f.Add(uint8(i), uint8(1), uint8(3), uint8(4), "bob/app", r, "", "", "")
		}
	}

	var mu sync.Mutex // one request at a time, so the recorder holds only its requests
	f.Fuzz(func(t *testing.T, pol, who, meth, kind uint8, name, ref, mount, from, extra string) {
		i := int(pol) % len(policies)
		s, e, user := stacks[i], engines[i], principals[int(who)%len(principals)]
		method := fuzzMethods[int(meth)%len(fuzzMethods)]
		var q []string
		if mount != "" {
			q = append(q, "mount="+mount)
		}
		if from != "" {
			q = append(q, "from="+from)
		}
		if extra != "" {
			q = append(q, extra)
		}
		raw := s.URL + fuzzPath(kind, name, ref)
		if len(q) > 0 {
			raw += "?" + strings.Join(q, "&")
		}
		req, err := http.NewRequestWithContext(t.Context(), method, raw, nil)
		if err != nil {
			return // not a request a client can send
		}
		if user != anon {
			req.SetBasicAuth(user, passwordOf(user))
		}
		mu.Lock()
		defer mu.Unlock()
		s.seen.take()
		resp, err := fuzzClient.Do(req)
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				t.Fatalf("%s %s as %s under %s: no answer: %v", method, req.URL.RequestURI(), label(user), policies[i].name, err)
			}
			return // the client refused to send it (control bytes...)
		}
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		resp.Body.Close()
		reached := s.seen.take()

		if (resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden) && len(reached) > 0 {
			t.Fatalf("%s %s as %s: refused %d but reached the backend as %s %s",
				method, req.URL.RequestURI(), label(user), resp.StatusCode, reached[0].Method, reached[0].URL)
		}
		for _, b := range reached {
			need, ok := requiredAccess(t, b)
			if !ok {
				t.Fatalf("%s %s as %s under %s: forwarded %s %s, which the registry cannot route",
					method, req.URL.RequestURI(), label(user), policies[i].name, b.Method, b.URL.RequestURI())
			}
			if need == nil { // the base route: any authenticated principal
				if user == anon {
					t.Fatalf("anonymous %s %s reached the backend", b.Method, b.URL.RequestURI())
				}
				continue
			}
			in := access.Input{Principal: principalOf(user),
				Request: access.Request{Method: b.Method, Path: b.URL.Path}, Access: need}
			d, err := e.Authorize(t.Context(), in)
			if err != nil {
				t.Fatal(err)
			}
			if !d.AllowsAll(need) {
				t.Fatalf("%s %s as %s under %s reached the backend as %s %s needing %v; the policy grants only %v (%s)",
					method, req.URL.RequestURI(), label(user), policies[i].name, b.Method, b.URL.RequestURI(), need, d.Granted, d.Reason)
			}
		}
		if resp.StatusCode == http.StatusOK && method == http.MethodGet {
			for _, n := range listed(req.URL.Path, body) {
				if !engineAllows(t.Context(), t, e, user, pullOn(n)) {
					t.Fatalf("%s as %s under %s lists %s, which they may not pull", req.URL.RequestURI(), label(user), policies[i].name, n)
				}
			}
		}
	})
}

// requiredAccess reads what reached the backend with the registry's router and
// distribution's method rule. nil with ok means the base route. ok is false when the
// registry cannot route the request at all.
func requiredAccess(t *testing.T, b *http.Request) ([]access.Resource, bool) {
	rt, err := registry.ParseRoute(b.Method, b.URL)
	if err != nil {
		return nil, false
	}
	switch rt.Kind {
	case distspec.KindBase:
		return nil, true
	case distspec.KindCatalog:
		return []access.Resource{{Type: access.TypeRegistry, Name: "catalog", Actions: []string{access.All}}}, true
	}
	var actions []string
	switch b.Method {
	case http.MethodGet, http.MethodHead:
		actions = []string{access.Pull}
	case http.MethodPost, http.MethodPut, http.MethodPatch:
		actions = []string{access.Pull, access.Push}
	case http.MethodDelete:
		actions = []string{access.Delete}
	default:
		t.Fatalf("method %s reached the backend", b.Method)
	}
	need := []access.Resource{{Type: access.TypeRepository, Name: rt.Name, Actions: actions}}
	if rt.Kind == distspec.KindUploads {
		q := b.URL.Query()
		if q.Has("mount") && !q.Has("from") {
			// OCI 1.1 lets a registry mount from any repository when from is missing.
			t.Fatalf("mount without from reached the backend: %s", b.URL.RequestURI())
		}
		if q.Has("mount") || q.Has("from") {
			need = append(need, access.Resource{Type: access.TypeRepository, Name: q.Get("from"), Actions: []string{access.Pull}})
		}
	}
	return need, true
}

// listed returns the repository names a catalog or search answer shows.
func listed(path string, body []byte) []string {
	var out []string
	switch path {
	case "/v2/_catalog":
		var c struct {
			Repositories []string `json:"repositories"`
		}
		_ = json.Unmarshal(body, &c)
		out = c.Repositories
	case "/v1/search":
		var s struct {
			Results []struct {
				Name string `json:"name"`
			} `json:"results"`
		}
		_ = json.Unmarshal(body, &s)
		for _, r := range s.Results {
			out = append(out, r.Name)
		}
	}
	return out
}
