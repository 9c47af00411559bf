package integration

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/portcullis/portcullis/access"
	"github.com/portcullis/portcullis/policy"
)

// tableRepos are seeded with one image each before the endpoint table runs, chosen so that
// every non-admin principal is allowed some things and denied others under the policies.
var tableRepos = []string{"library/alpine", "public/web", "payments/api", "alice/app", "bob/app"}

// outcomes counts, per endpoint and principal, allowed (true) and denied (false) cases.
type outcomes struct {
	mu sync.Mutex
	n  map[string]map[string]map[bool]int
}

func (o *outcomes) add(ep, user string, allowed bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.n == nil {
		o.n = map[string]map[string]map[bool]int{}
	}
	if o.n[ep] == nil {
		o.n[ep] = map[string]map[bool]int{}
	}
	if o.n[ep][user] == nil {
		o.n[ep][user] = map[bool]int{}
	}
	o.n[ep][user][allowed]++
}

func (o *outcomes) total() int {
	n := 0
	for _, users := range o.n {
		for _, c := range users {
			n += c[true] + c[false]
		}
	}
	return n
}

// tableCases is the number of cases one policy runs.
func tableCases() int {
	n := 0
	for _, ep := range endpoints {
		if ep.global {
			n += len(principals)
		} else {
			n += len(principals) * len(tableRepos)
		}
	}
	return n
}

// TestEndpointAuthorization sends every endpoint on every seeded repository as every
// principal through the real pipeline (HTTP, htpasswd Basic, groups, policy, bundled
// registry), for the default policy, two shipped examples and a scoped test policy.
// Allowed requests must reach the backend and carry its status; denied ones must not reach
// it and must be 403 DENIED (authenticated) or 401 with a Basic challenge (anonymous),
// naming the repository and action.
func TestEndpointAuthorization(t *testing.T) {
	var seen outcomes
	policies := []policyCase{defaultPolicy, teamPolicy, publicPolicy, scopedPolicy}
	t.Run("policies", func(t *testing.T) {
		for _, pc := range policies {
			t.Run(pc.name, func(t *testing.T) {
				t.Parallel()
				e := mustLoad(t, pc)
				s := newStack(t, e, nil)
				fx := fixture{s: s, img: seedImage(t, s, tableRepos...), src: "payments/api"}
				s.seen.take()
				for _, ep := range endpoints {
					repos := tableRepos
					if ep.global {
						repos = []string{""}
					}
					for _, repo := range repos {
						for _, user := range principals {
							t.Run(ep.name+" "+repo+" as "+label(user), func(t *testing.T) {
								seen.add(ep.name, user, checkEndpoint(t, fx, pc, e, ep, repo, user))
							})
						}
					}
				}
			})
		}
	})

	// The table must meet both outcomes where the policies allow it, or it proves little.
	if seen.total() != len(policies)*tableCases() || t.Failed() {
		return // a -run filter, or failures that say more
	}
	for _, ep := range endpoints {
		for _, user := range principals {
			n := seen.n[ep.name][user]
			t.Logf("%-22s %-9s allowed %3d denied %3d", ep.name, label(user), n[true], n[false])
			switch {
			case user == admin && n[true] == 0:
				t.Errorf("%s: admin was never allowed", ep.name)
			case user == anon && n[false] == 0:
				t.Errorf("%s: anonymous was never denied", ep.name)
			// Every policy here lets users list the catalog (filtered; see
			// TestCatalogFiltering), as it lets them reach base: no denial to meet.
			case (user == reader || user == member) && !listing(ep.name) && (n[true] == 0 || n[false] == 0):
				t.Errorf("%s as %s: the table lacks an allowed or a denied case (%v)", ep.name, user, n)
			}
		}
	}
}

// checkEndpoint runs one case and reports whether it was (rightly) allowed.
func checkEndpoint(t *testing.T, fx fixture, pc policyCase, e *policy.Engine, ep endpoint, repo, user string) bool {
	req := ep.build(t, fx, repo)
	need := ep.need(fx, repo)
	allowed := user != anon
	var missing []string
	if ep.name != "base" {
		// The engine is the authority for the gateway; the policy's documented intent
		// (pc.may) is checked against it separately so a policy bug reads as one.
		allowed = engineAllows(t.Context(), t, e, user, need)
		if doc := pc.mayAll(user, need); doc != allowed {
			t.Errorf("policy %s: engine allows=%v but the policy's documentation says %v for %s %v",
				pc.name, allowed, doc, label(user), need)
		}
		for _, a := range need[0].Actions {
			one := []access.Resource{{Type: need[0].Type, Name: need[0].Name, Actions: []string{a}}}
			if !engineAllows(t.Context(), t, e, user, one) {
				missing = append(missing, a)
			}
		}
	}
	fx.s.seen.take() // what prep may have caused
	r := call(t, user, req.method, fx.s.URL+req.uri, req.body, req.header)
	reached := fx.s.seen.take()
	if !allowed {
		if len(reached) > 0 {
			t.Errorf("denied %s %s reached the backend as %s %s", req.method, req.uri, reached[0].Method, reached[0].URL)
		}
		checkDenied(t, r, req.method, user, ep.name == "base", need, missing)
		return false
	}
	if r.Status == http.StatusUnauthorized || r.Status == http.StatusForbidden {
		t.Fatalf("allowed %s %s as %s answered %d: %s", req.method, req.uri, label(user), r.Status, r.Body)
	}
	if want := ep.status(fx, pc, user, repo); r.Status != want {
		t.Errorf("%s %s as %s: status %d, want the backend's %d; body %s", req.method, req.uri, label(user), r.Status, want, r.Body)
	}
	if len(reached) == 0 {
		t.Fatalf("allowed %s %s never reached the backend", req.method, req.uri)
	}
	if ep.global {
		return true
	}
	sent, _ := url.Parse(req.uri)
	if len(reached) != 1 || reached[0].Method != req.method || reached[0].URL.Path != sent.Path {
		t.Errorf("%s %s reached the backend as %d requests, first %s %s", req.method, req.uri, len(reached), reached[0].Method, reached[0].URL)
	}
	if ep.name == "mount" && r.Status == http.StatusAccepted {
		if q := reached[0].URL.Query(); q.Has("mount") || q.Has("from") {
			t.Errorf("mount the caller may not pull from was forwarded with its query: %s", reached[0].URL)
		}
	}
	return true
}

type errorBody struct {
	Errors []struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"errors"`
}

// checkDenied checks a refusal: 403 DENIED for a user, 401 UNAUTHORIZED with the Basic
// challenge for anonymous; JSON naming the resource and one missing action.
func checkDenied(t *testing.T, r reply, method, user string, base bool, need []access.Resource, missing []string) {
	t.Helper()
	wantStatus, wantCode := http.StatusForbidden, "DENIED"
	if user == anon {
		wantStatus, wantCode = http.StatusUnauthorized, "UNAUTHORIZED"
		if got := r.Header.Get("WWW-Authenticate"); got != `Basic realm="portcullis-test"` {
			t.Errorf("anonymous refusal: WWW-Authenticate %q, want Basic realm=\"portcullis-test\"", got)
		}
	}
	if r.Status != wantStatus {
		t.Fatalf("denied %s as %s: status %d, want %d; body %s", method, label(user), r.Status, wantStatus, r.Body)
	}
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("refusal Content-Type %q, want application/json", ct)
	}
	if method == http.MethodHead {
		if len(r.Body) != 0 {
			t.Errorf("HEAD refusal has a body: %q", r.Body)
		}
		return
	}
	var body errorBody
	if err := json.Unmarshal(r.Body, &body); err != nil || len(body.Errors) == 0 {
		t.Fatalf("refusal body %q is not an error envelope: %v", r.Body, err)
	}
	e := body.Errors[0]
	if e.Code != wantCode {
		t.Errorf("refusal code %s, want %s (message %q)", e.Code, wantCode, e.Message)
	}
	if base {
		return
	}
	what := "catalog"
	if need[0].Type == access.TypeRepository {
		what = "repository " + need[0].Name
	}
	if !strings.Contains(e.Message, what) {
		t.Errorf("refusal message %q does not name %s", e.Message, what)
	}
	named := false
	for _, a := range missing {
		named = named || strings.Contains(e.Message, "("+a+")")
	}
	if !named {
		t.Errorf("refusal message %q names none of the missing actions %v", e.Message, missing)
	}
}

// listing reports whether an endpoint is one every user may reach under every policy here.
func listing(name string) bool { return name == "base" || name == "catalog" || name == "search" }
