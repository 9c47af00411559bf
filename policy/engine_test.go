package policy

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/portcullis/portcullis/access"
)

func compile(t *testing.T, rego string) *Engine {
	t.Helper()
	e, err := Compile(t.Context(), Source{Modules: map[string]string{"p.rego": rego}})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func TestContract(t *testing.T) {
	asked := []access.Resource{repo("a", "pull", "push", "delete"), repo("b", "pull"), catalog}
	tests := []struct {
		name       string
		rego       string
		want       []access.Resource
		wantReason string
	}{
		{"nothing granted", `package portcullis.authz
granted := set()`, nil, "not granted by policy: repository:a:pull,push,delete repository:b:pull registry:catalog:*"},
		{"grants add up", `package portcullis.authz
granted contains {"type": "repository", "name": "a", "actions": ["pull"]}
granted contains {"type": "repository", "name": "a", "actions": ["delete"]}`,
			[]access.Resource{repo("a", "pull", "delete")}, "not granted by policy: repository:a:push repository:b:pull registry:catalog:*"},
		{"star grants all asked", `package portcullis.authz
granted contains {"type": r.type, "name": r.name, "actions": ["*"]} if some r in input.access`,
			asked, "granted by policy"},
		{"never more than asked", `package portcullis.authz
granted contains {"type": "repository", "name": n, "actions": ["pull", "push", "delete", "*"]} if some n in ["a", "b", "c"]`,
			[]access.Resource{repo("a", "pull", "push", "delete"), repo("b", "pull")}, ""},
		{"pull does not grant star", `package portcullis.authz
granted contains {"type": "registry", "name": "catalog", "actions": ["pull"]}`, nil, ""},
		{"denied subtracts", `package portcullis.authz
granted contains {"type": r.type, "name": r.name, "actions": ["*"]} if some r in input.access
denied contains {"type": "repository", "name": "a", "actions": ["delete"]}
denied contains {"type": "repository", "name": "b", "actions": ["*"]}`,
			[]access.Resource{repo("a", "pull", "push"), catalog}, ""},
		{"reason string", `package portcullis.authz
granted := set()
reason := "closed for maintenance"`, nil, "closed for maintenance"},
		{"reason set is sorted and joined", `package portcullis.authz
granted := set()
reason contains "zeta"
reason contains "alpha"`, nil, "alpha; zeta"},
		{"array granted", `package portcullis.authz
granted := [{"type": "repository", "name": "b", "actions": ["pull"]}]`, []access.Resource{repo("b", "pull")}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := compile(t, tt.rego).Authorize(t.Context(), access.Input{Principal: access.Anonymous(), Access: asked})
			if err != nil {
				t.Fatal(err)
			}
			if !slices.EqualFunc(d.Granted, tt.want, resourceEqual) {
				t.Errorf("granted %+v, want %+v", d.Granted, tt.want)
			}
			if tt.wantReason != "" && d.Reason != tt.wantReason {
				t.Errorf("reason %q, want %q", d.Reason, tt.wantReason)
			}
		})
	}
}

func TestMergesRepeatedResources(t *testing.T) {
	e := compile(t, `package portcullis.authz
granted contains {"type": "repository", "name": "a", "actions": ["pull", "push"]}`)
	d, err := e.Authorize(t.Context(), access.Input{Access: []access.Resource{repo("a", "push"), repo("b", "pull"), repo("a", "pull", "push")}})
	if err != nil {
		t.Fatal(err)
	}
	if want := []access.Resource{repo("a", "push", "pull")}; !slices.EqualFunc(d.Granted, want, resourceEqual) {
		t.Errorf("granted %+v, want %+v", d.Granted, want)
	}
}

// TestFailsClosed: a malformed answer is an error, and a builtin failing at runtime makes
// its rule undefined (OPA's non-strict default): never a grant.
func TestFailsClosed(t *testing.T) {
	for name, rego := range map[string]string{
		"granted not objects": `package portcullis.authz
granted contains "repository:a:pull"`,
		"actions not strings": `package portcullis.authz
granted contains {"type": "repository", "name": "a", "actions": [1]}`,
		"missing name": `package portcullis.authz
granted contains {"type": "repository", "actions": ["pull"]}`,
		"conflicting reason": `package portcullis.authz
granted contains {"type": "repository", "name": "a", "actions": ["pull"]}
reason := "x" if true
reason := "y" if true`,
		"reason not string": `package portcullis.authz
granted := set()
reason := 7`,
		"runtime error": `package portcullis.authz
granted contains {"type": "repository", "name": "a", "actions": [x]} if x := to_number("pull")`,
	} {
		t.Run(name, func(t *testing.T) {
			e, err := Compile(t.Context(), Source{Modules: map[string]string{"p.rego": rego}})
			if err != nil {
				return // rejected at compile time is fine too
			}
			d, err := e.Authorize(t.Context(), access.Input{Access: []access.Resource{repo("a", "pull")}})
			if err == nil && d.Allows(repo("a", "pull")) {
				t.Fatalf("Authorize = %+v, want an error or a denial", d)
			}
		})
	}
}

func TestCompileErrors(t *testing.T) {
	tests := []struct {
		name    string
		modules map[string]string
		want    []string // substrings of the error
	}{
		{"parse error has file and line", map[string]string{"team/policy.rego": "package portcullis.authz\n\ngranted contains x if {\n  x := \n}\n"},
			[]string{"team/policy.rego:", "rego_parse_error"}},
		{"compile error has file and line", map[string]string{"p.rego": "package portcullis.authz\n\ngranted contains x if {\n  x := undefined_fn(1)\n}\n"},
			[]string{"p.rego:4", "undefined_fn"}},
		{"no granted rule", map[string]string{"p.rego": "package portcullis.authz\nallow := true\n"},
			[]string{"data.portcullis.authz.granted"}},
		{"wrong package", map[string]string{"p.rego": "package authz\ngranted := set()\n"},
			[]string{"data.portcullis.authz.granted"}},
		{"own test fails", map[string]string{
			"p.rego":      "package portcullis.authz\ngranted := set()\n",
			"p_test.rego": "package portcullis.authz_test\nimport data.portcullis.authz\n\ntest_something_granted if count(authz.granted) > 0\n",
		}, []string{"p_test.rego:4", "test_something_granted", "failed"}},
		{"own test errors", map[string]string{
			"p.rego":      "package portcullis.authz\ngranted := set()\n",
			"p_test.rego": "package portcullis.authz_test\n\ntest_boom if to_number(\"x\")\n",
		}, []string{"p_test.rego:3", "test_boom"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Compile(t.Context(), Source{Modules: tt.modules})
			if err == nil {
				t.Fatal("want an error")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}

func TestTestsRunAtCompile(t *testing.T) {
	e, err := Compile(t.Context(), Source{
		Modules: map[string]string{
			"p.rego":      "package portcullis.authz\ngranted contains {\"type\": \"repository\", \"name\": data.repo, \"actions\": [\"pull\"]}\n",
			"p_test.rego": "package portcullis.authz_test\nimport data.portcullis.authz\n\ntest_data_is_there if count(authz.granted) == 1\n",
		},
		Data: map[string]any{"repo": "x"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if e.TestsPassed() != 1 {
		t.Errorf("TestsPassed = %d, want 1", e.TestsPassed())
	}
	if got := e.Modules(); !slices.Equal(got, []string{"p.rego"}) {
		t.Errorf("Modules = %v, want only the serving module", got)
	}
}

// TestCacheByInputUse checks that the cache keys on exactly what the policy reads: a
// policy that ignores the path answers from the cache across paths, one that reads it
// does not, and a cached decision cannot be changed by the caller who received it.
func TestCacheByInputUse(t *testing.T) {
	const byPath = `package portcullis.authz
granted contains {"type": "repository", "name": "a", "actions": ["pull"]} if endswith(input.request.path, "/ok")`
	const counting = `package portcullis.authz
granted contains {"type": "repository", "name": "a", "actions": ["pull"]} if input.principal.name == "alice"`
	in := func(path string) access.Input {
		return access.Input{
			Principal: access.Principal{Name: "alice", Method: access.MethodBasic},
			Request:   access.Request{Method: "GET", Path: path},
			Access:    []access.Resource{repo("a", "pull")},
		}
	}
	ctx := t.Context()

	e := compile(t, byPath)
	for _, c := range []struct {
		path string
		want bool
	}{{"/v2/a/ok", true}, {"/v2/a/no", false}, {"/v2/a/ok", true}, {"/v2/a/no", false}} {
		d, err := e.Authorize(ctx, in(c.path))
		if err != nil || d.Allows(repo("a", "pull")) != c.want {
			t.Errorf("%s: %+v, %v; want allowed=%v", c.path, d, err, c.want)
		}
	}

	e = compile(t, counting)
	if e.input.use != (inputUse{}) {
		t.Errorf("policy reading only the principal name uses %+v", e.input.use)
	}
	d1, _ := e.Authorize(ctx, in("/v2/a/blobs/1"))
	d1.Granted[0].Actions[0] = "push" // a careless caller
	d1.Granted = append(d1.Granted, repo("evil", "*"))
	d2, _ := e.Authorize(ctx, in("/v2/a/blobs/2"))
	if e.cache.lru.Len() != 1 {
		t.Errorf("cache holds %d entries, want 1 (path is not read by the policy)", e.cache.lru.Len())
	}
	if want := []access.Resource{repo("a", "pull")}; !slices.EqualFunc(d2.Granted, want, resourceEqual) {
		t.Errorf("cached decision %+v was changed by an earlier caller", d2.Granted)
	}
}

func TestAnalyzeInput(t *testing.T) {
	tests := []struct {
		rego string
		want inputUse
	}{
		{`granted contains x if { x := input.access[_] }`, inputUse{}},
		{`granted contains x if { x := input.access[_]; input.request.client_ip == "1" }`, inputUse{clientIP: true}},
		{`granted contains x if { x := input.access[_]; startswith(input.request.path, "/") }`, inputUse{path: true}},
		{`granted contains x if { x := input.access[_]; input.principal.claims.sub == "x" }`, inputUse{claims: true}},
		{`granted contains x if { x := input.access[_]; r := input.request; r.path == "" }`, inputAll.withoutClaims()},
		{`granted contains x if { x := input.access[_]; k := "path"; input.request[k] == "" }`, inputAll.withoutClaims()},
		{`granted contains x if { x := input.access[_]; is_object(input) }`, inputAll},
		{`granted contains x if { x := data.m[input.request.method] }`, inputUse{method: true}},
		{"import input.request as req\ngranted contains x if { x := input.access[_]; req.user_agent == \"\" }", inputAll.withoutClaims()},
	}
	for _, tt := range tests {
		t.Run(tt.rego, func(t *testing.T) {
			e := compile(t, "package portcullis.authz\n"+tt.rego)
			if e.input.use != tt.want {
				t.Errorf("use = %+v, want %+v", e.input.use, tt.want)
			}
		})
	}
}

func (u inputUse) withoutClaims() inputUse { u.claims = false; return u }

func TestNondeterministicPolicyIsNotCached(t *testing.T) {
	e := compile(t, `package portcullis.authz
granted contains {"type": "repository", "name": "a", "actions": ["pull"]} if time.now_ns() > 0`)
	if e.cache != nil {
		t.Error("a policy calling time.now_ns has a decision cache")
	}
	if e := compile(t, "package portcullis.authz\ngranted := set()"); e.cache == nil {
		t.Error("a deterministic policy has no decision cache")
	}
}

func TestCacheKeyDistinguishesFields(t *testing.T) {
	b := newInputBuilder(inputAll)
	base := access.Input{
		Principal: access.Principal{Name: "a", Groups: []string{"g"}, Method: "basic"},
		Request:   access.Request{Method: "GET", Path: "/p", ClientIP: "1", UserAgent: "u"},
		Access:    []access.Resource{repo("r", "pull")},
	}
	variants := []func(*access.Input){
		func(in *access.Input) { in.Principal.Name = "ag"; in.Principal.Groups = nil },
		func(in *access.Input) { in.Principal.Groups = []string{"g", ""} },
		func(in *access.Input) { in.Principal.Claims = map[string]any{"x": 1} },
		func(in *access.Input) { in.Request.Path = "/p1"; in.Request.ClientIP = "" },
		func(in *access.Input) { in.Request.UserAgent = "u2" },
		func(in *access.Input) { in.Access = append(in.Access, repo("s")) },
		func(in *access.Input) { in.Access[0].Actions = []string{"pull", "push"} },
	}
	k0, _ := b.cacheKey(base)
	for i, v := range variants {
		in := base
		in.Access = slices.Clone(base.Access)
		v(&in)
		if k, _ := b.cacheKey(in); k == k0 {
			t.Errorf("variant %d has the same key as the base input", i)
		}
	}
}

// TestConcurrentAuthorize runs decisions from many goroutines against one engine (run
// with -race): the prepared query and the cache are shared.
func TestConcurrentAuthorize(t *testing.T) {
	e, err := Default(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	errs := make(chan error, 8)
	for g := range 8 {
		go func() {
			for i := range 200 {
				in := access.Input{
					Principal: access.Principal{Name: "alice", Method: access.MethodBasic},
					Access:    []access.Resource{repo("alice/"+string(rune('a'+(g+i)%26)), "pull", "push")},
				}
				d, err := e.Authorize(t.Context(), in)
				if err == nil && !d.AllowsAll(in.Access) {
					err = errors.New("own namespace denied")
				}
				if err != nil {
					errs <- err
					return
				}
			}
			errs <- nil
		}()
	}
	for range 8 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
}

// TestCatalogBatch asks about 10,000 repositories in one call, as the catalog filter does,
// and checks every answer and that the reason stays short.
func TestCatalogBatch(t *testing.T) {
	e, err := Default(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	in := access.Input{Principal: access.Principal{Name: "alice", Method: access.MethodBasic}}
	for i := range 10000 {
		in.Access = append(in.Access, repo(benchRepoName(i), "pull", "push"))
	}
	in.Access = append(in.Access, repo("alice/app", "pull", "push"))
	d, err := e.Authorize(t.Context(), in)
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Granted) != len(in.Access) {
		t.Fatalf("granted %d resources, want %d", len(d.Granted), len(in.Access))
	}
	for i, g := range d.Granted[:10000] {
		if g.Name != benchRepoName(i) || !slices.Equal(g.Actions, []string{"pull"}) {
			t.Fatalf("granted[%d] = %+v, want pull on %s", i, g, benchRepoName(i))
		}
	}
	if last := d.Granted[10000]; !slices.Equal(last.Actions, []string{"pull", "push"}) {
		t.Errorf("own namespace: %+v", last)
	}
	if e.cache.lru.Len() != 0 {
		t.Error("a 10,001-resource decision was cached")
	}

	e = compile(t, "package portcullis.authz\ngranted := set()")
	d, err = e.Authorize(t.Context(), in)
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Reason) > 300 || !strings.HasSuffix(d.Reason, "...") {
		t.Errorf("reason for 10,001 refusals is %d bytes: %.100q", len(d.Reason), d.Reason)
	}
}
