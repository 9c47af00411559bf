package gateway

import (
	"testing"

	"github.com/portcullis/portcullis/internal/testenv"
)

// TestImportWalls keeps the house plan: the gateway forwards to any http.Handler or URL
// and knows nothing of the bundled registry, the authenticators, the policy engine or
// certificates; of the project it imports only the shared plain values.
func TestImportWalls(t *testing.T) {
	const project = testenv.Project
	testenv.CheckImports(t, ".", map[string]bool{
		project + "access":           true,
		project + "distspec":         true,
		project + "errcode":          true,
		project + "internal/capture": true, // the sub-request writer (standard library only)
		project + "reference":        true,
	}, false, "gateway may import only access, distspec, errcode, internal/capture and reference from this project")
}
