package metrics

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/portcullis/portcullis/access"
	"github.com/portcullis/portcullis/audit"
	"github.com/portcullis/portcullis/gateway"
)

func scrape(t *testing.T, m *Registry) string {
	t.Helper()
	w := httptest.NewRecorder()
	m.Handler().ServeHTTP(w, httptest.NewRequestWithContext(t.Context(), http.MethodGet, "/metrics", nil))
	b, _ := io.ReadAll(w.Body)
	return string(b)
}

// TestRecordsBecomeSeries: each Record counts once by kind, method, code and outcome; a
// made-up method shares the "other" label; failed bearer logins and uploads refused by a
// cap have their own counters; sink statistics are read at scrape time.
func TestRecordsBecomeSeries(t *testing.T) {
	m := New()
	for _, rec := range []gateway.Record{
		{Method: "GET", Route: gateway.Route{Kind: gateway.KindManifest}, Status: 200, Outcome: gateway.OutcomeForwarded, BytesOut: 100, Duration: time.Millisecond},
		{Method: "GET", Route: gateway.Route{Kind: gateway.KindManifest}, Status: 200, Outcome: gateway.OutcomeForwarded, BytesOut: 100},
		{Method: "BREW", Status: 404, Outcome: gateway.OutcomeRefused},
		{Method: "GET", Route: gateway.Route{Kind: gateway.KindTags}, Status: 401, Outcome: gateway.OutcomeUnauthenticated,
			Account: "mallory", Credentials: "bearer", Principal: access.Anonymous()},
		{Method: "PATCH", Route: gateway.Route{Kind: gateway.KindUpload}, Status: 429, Outcome: gateway.OutcomeLimited, BytesIn: 7},
	} {
		m.Observe(t.Context(), rec)
	}
	m.LoginFailed()
	m.LoginThrottled("ip")
	m.AuditSinks(func() []audit.SinkStats { return []audit.SinkStats{{Sink: "file", Written: 3, Queued: 1}} })
	got := scrape(t, m)
	for _, want := range []string{
		`portcullis_requests_total{code="200",kind="manifest",method="GET",outcome="forwarded"} 2`,
		`portcullis_requests_total{code="404",kind="unknown",method="other",outcome="refused"} 1`,
		`portcullis_requests_total{code="429",kind="upload",method="PATCH",outcome="limited"} 1`,
		`portcullis_login_failures_total{method="bearer"} 1`,
		`portcullis_login_failures_total{method="basic"} 1`,
		`portcullis_login_throttled_total{reason="ip"} 1`,
		`portcullis_limit_hits_total{limit="uploads"} 1`,
		`portcullis_bytes_total{direction="out"} 200`,
		`portcullis_bytes_total{direction="in"} 7`,
		`portcullis_audit_written_total{sink="file"} 3`,
		`portcullis_audit_queued{sink="file"} 1`,
		`portcullis_request_duration_seconds_count{kind="manifest"} 2`,
	} {
		if !strings.Contains(got, want) {
			t.Errorf("scrape lacks %s", want)
		}
	}
	if strings.Contains(got, "BREW") {
		t.Error("a made-up method became a label value")
	}
}
