package token

import (
	"testing"

	"github.com/portcullis/portcullis/internal/testenv"
)

// TestDependencies keeps the package's walls: of the project it may use only access (the
// values it mints for), certs (the token CA) and the internal file utilities; never the
// gateway, the authenticators, the policy engine, the configuration or the registry.
func TestDependencies(t *testing.T) {
	const project = testenv.Project
	testenv.CheckImports(t, ".", map[string]bool{
		project + "access": true, project + "certs": true,
		project + "internal/atomicfile": true, project + "internal/reload": true,
	}, true, "token may import only access, certs and the internal file utilities from this project")
}
