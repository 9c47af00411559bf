package registry

import (
	"maps"
	"net/http/httptest"
	"slices"
	"testing"

	"github.com/portcullis/portcullis/internal/testenv"
)

// TestConformance runs the OCI distribution-spec conformance suite (sha512 and referrers
// included) against the registry on a loopback server and fails on any failed case.
func TestConformance(t *testing.T) {
	for _, tc := range []struct{ name, version string }{
		{"1.1", ""},        // the suite's default: what the issue asks for
		{"1.1+dev", "dev"}, // plus upload cancel, digest headers and ?tag= pushes
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(newTestRegistry(t))
			defer srv.Close()
			res := testenv.Conformance(t, srv.URL,
				[]string{"OCI_DATA_SHA512=true", "OCI_API_REFERRER=true", "OCI_VERSION=" + tc.version})
			t.Logf("conformance: %d passed, %d failed, %d skipped", res.Passed, res.Failed, res.Skipped)
			for _, n := range slices.Sorted(maps.Keys(res.Skipping)) {
				t.Logf("skipped by the suite: %s", n)
			}
			if res.Err != nil || res.Failed != 0 || res.Passed == 0 {
				t.Fatalf("conformance suite failed (%v):\n%s\n--- log tail ---\n%s", res.Err, res.Output, tail(res.Log, 4000))
			}
		})
	}
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}
