package ui

import (
	"testing"

	"github.com/portcullis/portcullis/internal/testenv"
)

// TestDependencies keeps the package's walls: it reaches the registry only through the
// gateway pipeline (never registry/), asks the policy only through gateway.Authorizer
// (never policy/), and checks passwords only through Login (never auth/).
func TestDependencies(t *testing.T) {
	const project = testenv.Project
	testenv.CheckImports(t, ".", map[string]bool{
		project + "access":           true,
		project + "gateway":          true,
		project + "audit":            true,
		project + "reference":        true,
		project + "internal/capture": true, // the sub-request writer the gateway's catalog walk uses too
	}, true, "ui may import only access, gateway, audit, reference and internal/capture from this project")
}
