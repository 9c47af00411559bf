package audit

import (
	"context"
	"net/netip"
	"testing"
	"time"

	"github.com/portcullis/portcullis/access"
	"github.com/portcullis/portcullis/gateway"
)

// BenchmarkObservePull is what recording one manifest HEAD costs the request: the
// Record mapped, encoded, chained and queued for the file (written in batches).
func BenchmarkObservePull(b *testing.B) {
	tr, _ := newTrail(b, func(c *Config) { c.Pulls = PullsAll })
	rec := gateway.Record{ID: "QVPNFIRGPSGWH5C2TO6DMHVOOG", Start: time.Now(), Duration: 300 * time.Microsecond,
		Method: "HEAD", Path: "/v2/library/alpine/manifests/latest", ClientIP: netip.MustParseAddr("192.0.2.7"),
		UserAgent: "docker/27.3.1 go/go1.22.7 git-commit/41ca978 kernel/6.1.0 os/linux arch/amd64",
		Route: gateway.Route{Kind: gateway.KindManifest, Name: "library/alpine", Reference: "latest",
			Access: []access.Resource{{Type: "repository", Name: "library/alpine", Actions: []string{"pull"}}}},
		Principal: access.Principal{Name: "alice", Method: access.MethodBasic}, Decided: true,
		Outcome: gateway.OutcomeForwarded, Status: 200, UpstreamStatus: 200,
		Digest: "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", MediaType: "application/vnd.oci.image.index.v1+json", ContentLength: 1234}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		tr.Observe(ctx, rec)
	}
}
