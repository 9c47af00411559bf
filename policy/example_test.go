package policy_test

import (
	"context"
	"fmt"

	"github.com/portcullis/portcullis/access"
	"github.com/portcullis/portcullis/policy"
)

func ExampleCompile() {
	ctx := context.Background()
	e, err := policy.Compile(ctx, policy.Source{Modules: map[string]string{"policy.rego": `
package portcullis.authz

# Members of a repository's team push to it; everyone else pulls.
granted contains {"type": "repository", "name": r.name, "actions": ["pull"]} if some r in input.access

granted contains {"type": "repository", "name": r.name, "actions": ["push"]} if {
	some r in input.access
	data.teams[r.name] in input.principal.groups
}

reason := "team repositories"
`}, Data: map[string]any{"teams": map[string]any{"web/site": "web"}}})
	if err != nil {
		fmt.Println(err)
		return
	}
	d, err := e.Authorize(ctx, access.Input{
		Principal: access.Principal{Name: "dana", Groups: []string{"web"}, Method: access.MethodBasic},
		Access: []access.Resource{
			{Type: "repository", Name: "web/site", Actions: []string{"pull", "push"}},
			{Type: "repository", Name: "api/server", Actions: []string{"pull", "push"}},
		},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, g := range d.Granted {
		fmt.Println(g.Scope())
	}
	fmt.Println(d.Reason)
	// Output:
	// repository:web/site:pull,push
	// repository:api/server:pull
	// team repositories
}

func ExampleDefault() {
	ctx := context.Background()
	e, err := policy.Default(ctx)
	if err != nil {
		fmt.Println(err)
		return
	}
	ask := []access.Resource{{Type: "repository", Name: "alice/app", Actions: []string{"pull", "push"}}}
	for _, p := range []access.Principal{
		access.Anonymous(),
		{Name: "bob", Method: access.MethodBasic},
		{Name: "alice", Method: access.MethodBasic},
	} {
		d, _ := e.Authorize(ctx, access.Input{Principal: p, Access: ask})
		fmt.Printf("%q allowed=%v granted=%v\n", p.Name, d.AllowsAll(ask), d.Granted)
	}
	// Output:
	// "" allowed=false granted=[]
	// "bob" allowed=false granted=[{repository alice/app [pull]}]
	// "alice" allowed=true granted=[{repository alice/app [pull push]}]
}
