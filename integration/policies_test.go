package integration

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/portcullis/portcullis/access"
	"github.com/portcullis/portcullis/policy"
)

// policyCase is a policy under test and the test's own reading of its documentation.
type policyCase struct {
	name string
	load func(ctx context.Context) (*policy.Engine, error)
	// may says whether user may do action on the resource (a repository name, or the
	// catalog for type registry), as the policy's comments say. It is written apart from
	// the Rego so that a policy that does not do what it says is caught.
	may func(user, typ, name, action string) bool
}

// scopedRego is a policy written for these tests: unlike the shipped ones, pull is not
// granted to every authenticated user, so the catalog and mounts have something to hide.
// Everyone, anonymous included, may list the catalog; public/* is readable by anyone;
// users do everything under "<user>/"; members of team-X pull and push under "X/";
// admins do everything.
const scopedRego = `package portcullis.authz

anonymous if input.principal.method in {"", "anonymous"}

authenticated if not anonymous

granted contains {"type": "registry", "name": "catalog", "actions": ["*"]} if {
	some r in input.access
	r.type == "registry"
	r.name == "catalog"
}

granted contains {"type": "repository", "name": r.name, "actions": ["pull"]} if {
	some r in input.access
	r.type == "repository"
	startswith(r.name, "public/")
}

granted contains {"type": "repository", "name": r.name, "actions": ["pull", "push", "delete"]} if {
	authenticated
	some r in input.access
	r.type == "repository"
	startswith(r.name, concat("", [input.principal.name, "/"]))
}

granted contains {"type": "repository", "name": r.name, "actions": ["pull", "push"]} if {
	authenticated
	some g in input.principal.groups
	startswith(g, "team-")
	some r in input.access
	r.type == "repository"
	startswith(r.name, concat("", [substring(g, 5, -1), "/"]))
}

granted contains {"type": r.type, "name": r.name, "actions": ["*"]} if {
	authenticated
	"admins" in input.principal.groups
	some r in input.access
}
`

var (
	defaultPolicy = policyCase{
		name: "default",
		load: policy.Default,
		// Anonymous: nothing. Users: pull everything, list the catalog, push and delete
		// under "<user>/". Admins: everything.
		may: func(user, typ, name, action string) bool {
			switch {
			case user == anon:
				return false
			case user == admin:
				return true
			case typ == access.TypeRegistry:
				return true
			case action == access.Pull:
				return true
			}
			return strings.HasPrefix(name, user+"/")
		},
	}
	teamPolicy = policyCase{
		name: "team-namespaces",
		load: examplePolicy("team-namespaces"),
		// Users pull everything and list the (filtered) catalog; team-X members push and
		// delete under "X/"; admins do everything.
		may: func(user, typ, name, action string) bool {
			switch {
			case user == anon:
				return false
			case user == admin:
				return true
			case typ == access.TypeRegistry:
				return true
			case action == access.Pull:
				return true
			}
			return slices.ContainsFunc(groupsOf[user], func(g string) bool {
				ns, ok := strings.CutPrefix(g, "team-")
				return ok && ns != "" && strings.HasPrefix(name, ns+"/")
			})
		},
	}
	publicPolicy = policyCase{
		name: "public-read",
		load: examplePolicy("public-read"),
		// library/alpine, library/busybox and public/* are pullable by anyone, and anyone
		// lists the catalog (filtered to what they may pull); otherwise the default rules.
		may: func(user, typ, name, action string) bool {
			public := name == "library/alpine" || name == "library/busybox" || strings.HasPrefix(name, "public/")
			switch {
			case typ == access.TypeRepository && action == access.Pull && public:
				return true
			case typ == access.TypeRegistry:
				return true
			case user == anon:
				return false
			case user == admin:
				return true
			case action == access.Pull:
				return true
			}
			return strings.HasPrefix(name, user+"/")
		},
	}
	scopedPolicy = policyCase{
		name: "scoped",
		load: func(ctx context.Context) (*policy.Engine, error) {
			return policy.Compile(ctx, policy.Source{Modules: map[string]string{"scoped.rego": scopedRego}})
		},
		may: func(user, typ, name, action string) bool {
			if typ == access.TypeRegistry {
				return true
			}
			if action == access.Pull && strings.HasPrefix(name, "public/") {
				return true
			}
			switch {
			case user == anon:
				return false
			case user == admin, strings.HasPrefix(name, user+"/"):
				return true
			case action == access.Delete:
				return false
			}
			return slices.ContainsFunc(groupsOf[user], func(g string) bool {
				ns, ok := strings.CutPrefix(g, "team-")
				return ok && strings.HasPrefix(name, ns+"/")
			})
		},
	}
)

// examplePolicy loads examples/policies/<dir>, running its Rego tests.
func examplePolicy(dir string) func(context.Context) (*policy.Engine, error) {
	return func(ctx context.Context) (*policy.Engine, error) {
		return policy.Load(ctx, "../examples/policies/"+dir)
	}
}

// mustLoad compiles pc.
func mustLoad(t testing.TB, pc policyCase) *policy.Engine {
	t.Helper()
	e, err := pc.load(t.Context())
	if err != nil {
		t.Fatalf("loading policy %s: %v", pc.name, err)
	}
	return e
}

// mayAll says whether the policy's reading allows every action of every resource.
func (pc policyCase) mayAll(user string, need []access.Resource) bool {
	for _, res := range need {
		for _, a := range res.Actions {
			if !pc.may(user, res.Type, res.Name, a) {
				return false
			}
		}
	}
	return true
}

// engineAllows asks the engine directly, without the gateway.
func engineAllows(ctx context.Context, t testing.TB, e *policy.Engine, user string, need []access.Resource) bool {
	t.Helper()
	d, err := e.Authorize(ctx, access.Input{Principal: principalOf(user), Access: need})
	if err != nil {
		t.Fatalf("policy engine: %v", err)
	}
	return len(need) > 0 && d.AllowsAll(need)
}
