package auth

import (
	"testing"

	"github.com/portcullis/portcullis/internal/testenv"
)

// TestDependencies keeps the package's walls: of the project it may use only access (the
// gateway declares the interfaces auth satisfies, not the other way round) and the leaf
// utilities internal/reload and internal/atomicfile.
func TestDependencies(t *testing.T) {
	const project = testenv.Project
	testenv.CheckImports(t, ".", map[string]bool{
		project + "access":              true,
		project + "internal/reload":     true,
		project + "internal/atomicfile": true,
	}, true, "auth may import only access and the internal utilities from this project")
}
