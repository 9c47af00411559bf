package integration

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/portcullis/portcullis/access"
	"github.com/portcullis/portcullis/policy"
)

// catalogRepos is 130 repositories over seven namespaces, interleaved in catalog order, so
// a filtered listing skips runs of hidden names and the gateway must page the backend
// (it reads 100 names at a time) to fill a page.
func catalogRepos() []string {
	namespaces := []string{"acme", "alice", "bob", "library", "payments", "public", "zeta"}
	var out []string
	for i := range 130 {
		out = append(out, fmt.Sprintf("%s/app%03d", namespaces[i%len(namespaces)], i))
	}
	slices.Sort(out)
	return out
}

// pullable asks the engine which of names user may pull: the set the catalog must list.
func pullable(t *testing.T, e *policy.Engine, user string, names []string) []string {
	t.Helper()
	var out []string
	for _, n := range names {
		if engineAllows(t.Context(), t, e, user, pullOn(n)) {
			out = append(out, n)
		}
	}
	return out
}

// TestCatalogFiltering walks /v2/_catalog by its Link headers and pages through
// /v1/search as each principal, and checks both list exactly what the principal may pull,
// the catalog in full pages until the last.
func TestCatalogFiltering(t *testing.T) {
	repos := catalogRepos()
	scoped := mustLoad(t, scopedPolicy)
	first := newStack(t, scoped, nil)
	for _, repo := range repos {
		bareManifest(t, first, repo, "v1")
	}
	stacks := map[string]*stack{
		scopedPolicy.name:  first,
		defaultPolicy.name: newStack(t, mustLoad(t, defaultPolicy), first.Reg), // same registry
	}
	for _, pc := range []policyCase{scopedPolicy, defaultPolicy} {
		s := stacks[pc.name]
		e := s.authz.(*policy.Engine)
		for _, user := range principals {
			want := pullable(t, e, user, repos)
			mayList := pc.may(user, access.TypeRegistry, "catalog", access.All)
			// Sanity: the scoped policy hides something from everyone but admin, and
			// shows everyone something, or this test would prove little.
			if pc.name == scopedPolicy.name && user != admin && (len(want) == 0 || len(want) == len(repos)) {
				t.Fatalf("scoped policy: %s may pull %d of %d repositories; the fixture is wrong", label(user), len(want), len(repos))
			}
			for _, n := range []int{5, 7} {
				t.Run(fmt.Sprintf("%s/catalog n=%d as %s", pc.name, n, label(user)), func(t *testing.T) {
					if !mayList {
						r := call(t, user, http.MethodGet, s.URL+"/v2/_catalog?n="+strconv.Itoa(n), nil, nil)
						if r.Status != http.StatusUnauthorized && r.Status != http.StatusForbidden {
							t.Fatalf("catalog as %s: %d, want a refusal", label(user), r.Status)
						}
						return
					}
					got := walkCatalog(t, s, user, n)
					if !slices.Equal(got, want) {
						t.Errorf("catalog as %s lists %d names, want the %d pullable:\n got %v\nwant %v", label(user), len(got), len(want), got, want)
					}
				})
			}
			for _, q := range []string{"", "app01", "PAYMENTS/", "nomatch"} {
				t.Run(fmt.Sprintf("%s/search q=%q as %s", pc.name, q, label(user)), func(t *testing.T) {
					if !mayList {
						r := call(t, user, http.MethodGet, s.URL+"/v1/search?q="+url.QueryEscape(q), nil, nil)
						if r.Status != http.StatusUnauthorized && r.Status != http.StatusForbidden {
							t.Fatalf("search as %s: %d, want a refusal", label(user), r.Status)
						}
						return
					}
					var wantQ []string
					for _, name := range want {
						if strings.Contains(name, strings.ToLower(q)) {
							wantQ = append(wantQ, name)
						}
					}
					if got := walkSearch(t, s, user, q); !slices.Equal(got, wantQ) {
						t.Errorf("search %q as %s finds %d names, want %d:\n got %v\nwant %v", q, label(user), len(got), len(wantQ), got, wantQ)
					}
				})
			}
		}
	}
}

// walkCatalog follows rel="next" Links from /v2/_catalog?n=n as a client does, checks
// every page but the last is full and the last is not empty (unless the whole listing
// is), and returns every name in order.
func walkCatalog(t *testing.T, s *stack, user string, n int) []string {
	t.Helper()
	var all []string
	uri := "/v2/_catalog?n=" + strconv.Itoa(n)
	for page := 0; ; page++ {
		if page > 1000 {
			t.Fatal("catalog Link chain does not end")
		}
		r := call(t, user, http.MethodGet, s.URL+uri, nil, nil)
		if r.Status != http.StatusOK {
			t.Fatalf("GET %s as %s: %d %s", uri, label(user), r.Status, r.Body)
		}
		var body struct {
			Repositories []string `json:"repositories"`
		}
		if err := json.Unmarshal(r.Body, &body); err != nil {
			t.Fatalf("GET %s: %v in %q", uri, err, r.Body)
		}
		all = append(all, body.Repositories...)
		next, ok := nextLink(t, r.Header.Get("Link"))
		if !ok {
			if len(body.Repositories) == 0 && page > 0 {
				t.Errorf("page %d (%s) is empty: the previous page's Link promised more", page, uri)
			}
			if len(body.Repositories) > n {
				t.Errorf("last page %s holds %d names, more than n=%d", uri, len(body.Repositories), n)
			}
			return all
		}
		if len(body.Repositories) != n {
			t.Errorf("page %d (%s) holds %d names, want a full page of %d before the end", page, uri, len(body.Repositories), n)
		}
		uri = next
	}
}

// nextLink reads a `<uri>; rel="next"` Link header.
func nextLink(t *testing.T, h string) (string, bool) {
	t.Helper()
	if h == "" {
		return "", false
	}
	target, params, ok := strings.Cut(h, ";")
	target = strings.TrimSpace(target)
	if !ok || !strings.Contains(params, `rel="next"`) || !strings.HasPrefix(target, "<") || !strings.HasSuffix(target, ">") {
		t.Fatalf("malformed Link header %q", h)
	}
	u, err := url.Parse(target[1 : len(target)-1])
	if err != nil {
		t.Fatalf("Link header %q: %v", h, err)
	}
	return u.RequestURI(), true
}

// walkSearch pages through docker search for q and returns every result in order,
// checking the counts the pages announce.
func walkSearch(t *testing.T, s *stack, user, q string) []string {
	t.Helper()
	const n = 10
	var all []string
	numResults := -1
	for page := 1; ; page++ {
		uri := fmt.Sprintf("/v1/search?q=%s&n=%d&page=%d", url.QueryEscape(q), n, page)
		r := call(t, user, http.MethodGet, s.URL+uri, nil, nil)
		if r.Status != http.StatusOK {
			t.Fatalf("GET %s as %s: %d %s", uri, label(user), r.Status, r.Body)
		}
		var body struct {
			NumResults int `json:"num_results"`
			NumPages   int `json:"num_pages"`
			Results    []struct {
				Name string `json:"name"`
			} `json:"results"`
		}
		if err := json.Unmarshal(r.Body, &body); err != nil {
			t.Fatalf("GET %s: %v in %q", uri, err, r.Body)
		}
		if numResults >= 0 && body.NumResults != numResults {
			t.Errorf("page %d says %d results, page 1 said %d", page, body.NumResults, numResults)
		}
		numResults = body.NumResults
		for _, res := range body.Results {
			all = append(all, res.Name)
		}
		if page >= body.NumPages {
			if len(all) != numResults {
				t.Errorf("search %q: %d results over %d pages, num_results says %d", q, len(all), body.NumPages, numResults)
			}
			return all
		}
		if len(body.Results) != n {
			t.Errorf("search page %d holds %d results, want %d before the last", page, len(body.Results), n)
		}
	}
}
