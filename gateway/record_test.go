package gateway

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/portcullis/portcullis/access"
)

// TestRecordPerOutcome drives one request to each way the pipeline can end and checks
// the one Record observers get.
func TestRecordPerOutcome(t *testing.T) {
	// A backend that answers a manifest push as a registry does, reading the body.
	registryLike := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n, _ := io.Copy(io.Discard, r.Body)
		if r.Method == http.MethodPut {
			w.Header().Set("Docker-Content-Digest", testDigest)
			w.WriteHeader(http.StatusCreated)
			return
		}
		if n == 0 && r.URL.Path == "/v2/_catalog" {
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write([]byte(`{"repositories":["team/a","zzz"]}`))
			return
		}
		_, _ = w.Write([]byte("ok"))
	})
	dead, _ := url.Parse("http://127.0.0.1:1") // nothing listens on port 1
	unreachable, err := NewUpstream(dead, UpstreamOptions{})
	if err != nil {
		t.Fatal(err)
	}
	failingAuthz := authzFunc(func(context.Context, access.Input) (access.Decision, error) {
		return access.Decision{}, errors.New("rego exploded")
	})
	mountAuthz := grantIf(func(p access.Principal, typ, name, action string) bool { return name == "team/a" })
	panics := http.HandlerFunc(func(http.ResponseWriter, *http.Request) { panic("boom") })

	tests := []struct {
		name, method, uri, user, body string
		backend                       http.Handler
		authz                         Authorizer
		cancel                        bool
		want                          Record
	}{
		{name: "refused path", method: "GET", uri: "/v2/a/../b/tags/list", user: "alice",
			want: Record{Outcome: OutcomeRefused, Status: 400, Reason: "refused: invalid repository name"}},
		{name: "no credentials on base", method: "GET", uri: "/v2/",
			want: Record{Outcome: OutcomeUnauthenticated, Status: 401, Reason: "authentication required", Route: Route{Kind: KindBase}}},
		{name: "bad credentials", method: "GET", uri: "/v2/team/a/tags/list", user: "mallory",
			want: Record{Outcome: OutcomeUnauthenticated, Status: 401, Reason: "bad credentials", Account: "mallory", Route: Route{Kind: KindTags, Name: "team/a"}}},
		{name: "authenticator failure", method: "GET", uri: "/v2/team/a/tags/list", user: "broken",
			want: Record{Outcome: OutcomeFailed, Status: 500, Reason: "authentication error", Route: Route{Kind: KindTags, Name: "team/a"}}},
		{name: "denied", method: "GET", uri: "/v2/other/tags/list", user: "alice",
			want: Record{Outcome: OutcomeDenied, Status: 403, Reason: "denied: repository:other:pull: test policy", Decided: true,
				Principal: access.Principal{Name: "alice"}, Route: Route{Kind: KindTags, Name: "other"}}},
		{name: "authorizer failure", method: "GET", uri: "/v2/team/a/tags/list", user: "alice", authz: failingAuthz,
			want: Record{Outcome: OutcomeFailed, Status: 500, Reason: "authorization error", Principal: access.Principal{Name: "alice"}, Route: Route{Kind: KindTags, Name: "team/a"}}},
		{name: "catalog served", method: "GET", uri: "/v2/_catalog", user: "alice",
			want: Record{Outcome: OutcomeServed, Status: 200, Decided: true, Principal: access.Principal{Name: "alice"}, Route: Route{Kind: KindCatalog}}},
		{name: "push forwarded", method: "PUT", uri: "/v2/team/a/manifests/v1", user: "alice", body: "{}",
			want: Record{Outcome: OutcomeForwarded, Status: 201, UpstreamStatus: 201, Decided: true, Digest: testDigest, BytesIn: 2,
				Principal: access.Principal{Name: "alice"}, Route: Route{Kind: KindManifest, Name: "team/a", Reference: "v1"}}},
		{name: "mount dropped", method: "POST", uri: "/v2/team/a/blobs/uploads/?mount=" + testDigest + "&from=secret", user: "alice", authz: mountAuthz,
			want: Record{Outcome: OutcomeForwarded, Status: 200, UpstreamStatus: 200, Decided: true, Reason: "mount from secret dropped: no pull access",
				Principal: access.Principal{Name: "alice"}, Route: Route{Kind: KindUploads, Name: "team/a"}}},
		{name: "upstream unreachable", method: "GET", uri: "/v2/team/a/tags/list", user: "alice", backend: unreachable,
			want: Record{Outcome: OutcomeForwarded, Status: 502, UpstreamStatus: 0, Decided: true,
				Principal: access.Principal{Name: "alice"}, Route: Route{Kind: KindTags, Name: "team/a"}}},
		{name: "client gone", method: "GET", uri: "/v2/team/a/tags/list", user: "alice", backend: unreachable, cancel: true,
			want: Record{Outcome: OutcomeUnauthenticated, Status: 499}},
		{name: "panic", method: "GET", uri: "/v2/team/a/tags/list", user: "alice", backend: panics,
			want: Record{Outcome: OutcomeFailed, Status: 500, Reason: "panic", Decided: true,
				Principal: access.Principal{Name: "alice"}, Route: Route{Kind: KindTags, Name: "team/a"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			obs := &recorder{}
			backend, authz := tt.backend, tt.authz
			if backend == nil {
				backend = NewInProcess(registryLike)
			}
			if authz == nil {
				authz = grantIf(func(p access.Principal, typ, name, action string) bool {
					return p.Name == "alice" && (name == "team/a" || typ == access.TypeRegistry)
				})
			}
			h, _ := newTestGateway(t, backend, authz, func(c *Config) { c.Observers = []Observer{obs} })
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			if tt.cancel {
				cancel()
			}
			var body io.Reader
			if tt.body != "" {
				body = strings.NewReader(tt.body)
			}
			r := basic(httptest.NewRequestWithContext(ctx, tt.method, tt.uri, body), tt.user)
			r.RemoteAddr = "198.51.100.7:4000"
			r.Header.Set("User-Agent", "docker/27")
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			if len(obs.recs) != 1 {
				t.Fatalf("%d records", len(obs.recs))
			}
			got := obs.recs[0]
			if tt.cancel {
				// The authenticator never saw the request: only the status is asserted.
				if got.Status != tt.want.Status {
					t.Fatalf("status %d, want %d", got.Status, tt.want.Status)
				}
				return
			}
			want := tt.want
			if got.Outcome != want.Outcome || got.Status != want.Status || got.UpstreamStatus != want.UpstreamStatus ||
				got.Reason != want.Reason || got.Decided != want.Decided || got.Digest != want.Digest || got.BytesIn != want.BytesIn ||
				(want.Account != "" && got.Account != want.Account) || got.Account != got.Principal.Name && want.Account == "" {
				t.Errorf("got outcome %q status %d upstream %d reason %q decided %v digest %q in %d\nwant outcome %q status %d upstream %d reason %q decided %v digest %q in %d",
					got.Outcome, got.Status, got.UpstreamStatus, got.Reason, got.Decided, got.Digest, got.BytesIn,
					want.Outcome, want.Status, want.UpstreamStatus, want.Reason, want.Decided, want.Digest, want.BytesIn)
			}
			if got.Principal.Name != want.Principal.Name || got.Route.Kind != want.Route.Kind ||
				got.Route.Name != want.Route.Name || got.Route.Reference != want.Route.Reference {
				t.Errorf("principal %q route %+v, want %q %+v", got.Principal.Name, got.Route, want.Principal.Name, want.Route)
			}
			if got.Status != w.Code && got.Status != statusClientClosed {
				t.Errorf("record status %d, client got %d", got.Status, w.Code)
			}
			if got.ID == "" || got.ID != w.Header().Get("X-Request-Id") || got.ClientIP.String() != "198.51.100.7" ||
				got.UserAgent != "docker/27" || got.Method != tt.method || got.Start.IsZero() {
				t.Errorf("request facts: %+v", got)
			}
		})
	}
}
