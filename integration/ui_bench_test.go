package integration

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/portcullis/portcullis/policy"
)

// benchRego lets alice pull one repository in ten (names ending in /t3), interleaved
// through the catalog: the worst case for a filtered page, which must read ten backend
// names per name shown.
const benchRego = `package portcullis.authz

granted contains {"type": "registry", "name": "catalog", "actions": ["*"]} if {
	input.principal.name == "alice"
	some r in input.access
	r.type == "registry"
}

granted contains {"type": "repository", "name": r.name, "actions": ["pull"]} if {
	input.principal.name == "alice"
	some r in input.access
	r.type == "repository"
	endswith(r.name, "/t3")
}
`

// BenchmarkUIRepositoryList renders the repository list for a registry of 5,000
// repositories of which the user may pull 500 (issue 15: under 200 ms server time). The
// first page, a page in the middle and a search are measured, the handler called
// directly; cpu-ms/page is the process's CPU time per page (every goroutine's), which a
// busy machine does not inflate as it does the wall time.
func BenchmarkUIRepositoryList(b *testing.B) {
	e, err := policy.Compile(b.Context(), policy.Source{Modules: map[string]string{"bench.rego": benchRego}})
	if err != nil {
		b.Fatal(err)
	}
	s := newStack(b, e, nil)
	start := time.Now()
	cfg := []byte(`{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}`)
	cd := digestOf(cfg)
	m := freshManifest(cd, len(cfg))
	for i := range 5000 {
		repo := fmt.Sprintf("svc%04d/t%d", i, i%10)
		w := httptest.NewRecorder()
		s.Reg.ServeHTTP(w, httptest.NewRequest(http.MethodPost, "/v2/"+repo+"/blobs/uploads/?digest="+cd, strings.NewReader(string(cfg))))
		if w.Code != http.StatusCreated {
			b.Fatalf("seeding %s: %d", repo, w.Code)
		}
		w = httptest.NewRecorder()
		r := httptest.NewRequest(http.MethodPut, "/v2/"+repo+"/manifests/v1", strings.NewReader(string(m)))
		r.Header.Set("Content-Type", ociManifest)
		s.Reg.ServeHTTP(w, r)
		if w.Code != http.StatusCreated {
			b.Fatalf("seeding %s: %d", repo, w.Code)
		}
	}
	b.Logf("seeded 5000 repositories in %v", time.Since(start).Round(time.Millisecond))
	u := newUI(b, s)
	br := u.browser(b)
	br.login(reader)
	cookie := br.cookies["portcullis_session"]
	h := u.handler

	for _, bc := range []struct{ name, path string }{
		{"first", "/ui/repos"},
		{"middle", "/ui/repos?last=svc2500/t0"},
		{"filtered", "/ui/repos?q=svc4"},
	} {
		b.Run(bc.name, func(b *testing.B) {
			shown := 0
			cpu := cpuTime()
			for b.Loop() {
				w := httptest.NewRecorder()
				r := httptest.NewRequest(http.MethodGet, bc.path, nil)
				r.AddCookie(cookie)
				h.ServeHTTP(w, r)
				if w.Code != http.StatusOK {
					b.Fatalf("%s: %d", bc.path, w.Code)
				}
				shown = strings.Count(w.Body.String(), `class="repo"`)
			}
			b.ReportMetric(float64(b.Elapsed().Microseconds())/1000/float64(b.N), "ms/page")
			b.ReportMetric(float64((cpuTime()-cpu).Microseconds())/1000/float64(b.N), "cpu-ms/page")
			b.ReportMetric(float64(shown), "repos/page")
		})
	}
}
