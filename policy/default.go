package policy

import (
	"context"
	_ "embed"
)

//go:embed default.rego
var defaultRego string

//go:embed default_test.rego
var defaultTestRego string

// DefaultName is the module name of the built-in policy in errors and listings.
const DefaultName = "default.rego"

// Default compiles the built-in policy: anonymous principals get nothing, authenticated
// ones pull everything (and list the catalog) and push and delete under "<user>/", members
// of "admins" do everything. Its own Rego tests run as part of compiling it.
func Default(ctx context.Context) (*Engine, error) {
	return Compile(ctx, Source{Modules: map[string]string{
		DefaultName:         defaultRego,
		"default_test.rego": defaultTestRego,
	}})
}
