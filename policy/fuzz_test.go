package policy

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/open-policy-agent/opa/v1/ast"

	"github.com/portcullis/portcullis/access"
)

// fuzzInput builds an access.Input from fuzzer strings. Resources are ";"-separated
// "type|name|action,action"; groups are ","-separated.
func fuzzInput(name, groups, method, path, ua, resources, claim string) access.Input {
	in := access.Input{
		Principal: access.Principal{Name: name, Method: method},
		Request:   access.Request{Method: "GET", Path: path, ClientIP: "10.0.0.1", UserAgent: ua},
	}
	if groups != "" {
		in.Principal.Groups = strings.Split(groups, ",")
	}
	if claim != "" {
		in.Principal.Claims = map[string]any{"sub": claim, "n": 1.5, "list": []any{claim, true}}
	}
	for _, r := range strings.Split(resources, ";") {
		parts := strings.SplitN(r, "|", 3)
		if len(parts) != 3 {
			continue
		}
		in.Access = append(in.Access, access.Resource{Type: parts[0], Name: parts[1], Actions: strings.Split(parts[2], ",")})
	}
	return in
}

// permissive grants "*" on everything asked and extra actions and resources never asked,
// so only the engine's intersection stands between it and an over-grant.
const permissive = `package portcullis.authz

granted contains {"type": r.type, "name": r.name, "actions": ["*", "pull", "push", "delete", "bogus"]} if some r in input.access

granted contains {"type": "repository", "name": "never-asked", "actions": ["*"]}

denied contains {"type": r.type, "name": r.name, "actions": ["delete"]} if {
	some r in input.access
	startswith(r.name, "nodelete")
}
`

// FuzzAuthorize checks three properties on arbitrary inputs: the input builder agrees
// with a second reading (JSON encoding then ast.InterfaceToValue); the engine never
// grants an action, or a resource, that was not asked for, nor a denied one; and the
// default policy gives an anonymous principal nothing.
func FuzzAuthorize(f *testing.F) {
	f.Add("alice", "dev,admins", "basic", "/v2/alice/app/manifests/latest", "docker/27", "repository|alice/app|pull,push;repository|bob/base|pull", "")
	f.Add("", "admins", "anonymous", "/v2/_catalog", "", "registry|catalog|*", "")
	f.Add("bob", "", "bearer", "/v2/x/blobs/uploads/", "curl", "repository|nodelete/x|delete,pull;repository|x|*", "bob")
	f.Add("root", "admins", "", "/", "ua\x00", "repository|a|pull;repository|a|push,delete", "")
	f.Add("é", "", "mtls", "", "", "||;repository|never-asked|", "\xff")

	perm, err := Compile(f.Context(), Source{Modules: map[string]string{"p.rego": permissive}})
	if err != nil {
		f.Fatal(err)
	}
	def, err := Default(f.Context())
	if err != nil {
		f.Fatal(err)
	}
	full := newInputBuilder(inputAll)

	f.Fuzz(func(t *testing.T, name, groups, method, path, ua, resources, claim string) {
		in := fuzzInput(name, groups, method, path, ua, resources, claim)

		// Property 1: agreement with a second reading of the input. JSON replaces invalid
		// UTF-8 while the builder passes bytes through, so compare valid text only.
		got, err := full.build(in)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.ContainsFunc([]string{name, groups, method, path, ua, resources, claim}, func(s string) bool { return !utf8.ValidString(s) }) {
			if want := secondReading(t, in); got.Compare(want) != 0 {
				t.Fatalf("input builder disagrees with JSON:\n got %v\nwant %v", got, want)
			}
		}

		// Property 2: never more than asked, never what was denied.
		d, err := perm.Authorize(t.Context(), in)
		if err != nil {
			t.Fatal(err)
		}
		for _, g := range d.Granted {
			for _, a := range g.Actions {
				if !slices.ContainsFunc(in.Access, func(r access.Resource) bool {
					return r.Type == g.Type && r.Name == g.Name && slices.Contains(r.Actions, a)
				}) {
					t.Fatalf("granted %s on %s:%s, never asked; input %+v", a, g.Type, g.Name, in.Access)
				}
				if strings.HasPrefix(g.Name, "nodelete") && (a == access.Delete || a == access.All) {
					t.Fatalf("granted denied action %s on %s", a, g.Name)
				}
			}
		}

		// Property 3: the default policy gives anonymous principals nothing.
		anon := in
		anon.Principal.Method = access.MethodAnonymous
		d, err = def.Authorize(t.Context(), anon)
		if err != nil {
			t.Fatal(err)
		}
		if len(d.Granted) != 0 {
			t.Fatalf("default policy granted %+v to an anonymous principal", d.Granted)
		}
	})
}

// secondReading is the input as documented: access.Input's JSON with nil slices as empty
// arrays and empty claims omitted.
func secondReading(t *testing.T, in access.Input) ast.Value {
	t.Helper()
	if in.Principal.Groups == nil {
		in.Principal.Groups = []string{}
	}
	res := make([]access.Resource, len(in.Access))
	for i, r := range in.Access {
		if r.Actions == nil {
			r.Actions = []string{}
		}
		res[i] = r
	}
	in.Access = res
	if in.Access == nil {
		in.Access = []access.Resource{}
	}
	b, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	val, err := ast.InterfaceToValue(v)
	if err != nil {
		t.Fatal(err)
	}
	return val
}
