package gateway

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/portcullis/portcullis/access"
)

// failingAuthn fails every request: a test that reaches it took the wrong path.
type failingAuthn struct{ t *testing.T }

func (f failingAuthn) Authenticate(context.Context, *http.Request) (access.Principal, error) {
	f.t.Error("the Authenticator was asked although the context carried a principal")
	return access.Principal{}, access.ErrBadCredentials
}

func TestWithPrincipal(t *testing.T) {
	obs := &recorder{}
	onlyAlice := grantIf(func(p access.Principal, _, _, action string) bool {
		return p.Name == "alice" && action != access.Delete
	})
	mods := []func(*Config){func(c *Config) {
		c.Observers = []Observer{obs}
	}}
	alice := access.Principal{Name: "alice", Method: access.MethodBasic, Groups: []string{"dev"},
		// A limit that would refuse everything: a session's principal carries none.
		Limit: &access.Decision{}}

	for _, tc := range []struct {
		name  string
		authn func(*testing.T) Authenticator
	}{
		{"plain", func(t *testing.T) Authenticator { return failingAuthn{t} }},
		// Token mode wraps the authenticator in the bearer challenge: still not asked.
		{"token mode", func(t *testing.T) Authenticator { return BearerChallenge(failingAuthn{t}, "", "reg") }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h, _ := newTestGateway(t, &echoBackend{}, onlyAlice, append(mods, func(c *Config) {
				c.Authenticator = tc.authn(t)
			})...)
			// A request with a context principal and a Basic header for someone else: the
			// context wins, the header is not even read.
			r := httptest.NewRequestWithContext(WithPrincipal(t.Context(), alice), http.MethodGet, "/v2/team/app/manifests/v1", nil)
			r.SetBasicAuth("bob", "secret")
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			if w.Code != http.StatusOK {
				t.Fatalf("GET as alice from the context: %d %s", w.Code, w.Body)
			}
			rec := obs.last()
			if rec.Principal.Name != "alice" || rec.Credentials != CredentialsSession || rec.Principal.Limit != nil {
				t.Errorf("record: principal %+v credentials %q", rec.Principal, rec.Credentials)
			}

			// The policy still decides: delete is not granted.
			r = httptest.NewRequestWithContext(WithPrincipal(t.Context(), alice), http.MethodDelete, "/v2/team/app/manifests/"+testDigest, nil)
			w = httptest.NewRecorder()
			h.ServeHTTP(w, r)
			if w.Code != http.StatusForbidden {
				t.Errorf("DELETE as alice: %d, want 403", w.Code)
			}
		})
	}

	t.Run("no principal in the context", func(t *testing.T) {
		h, _ := newTestGateway(t, &echoBackend{}, onlyAlice)
		r := basic(httptest.NewRequest(http.MethodGet, "/v2/team/app/manifests/v1", nil), "bob")
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code != http.StatusForbidden {
			t.Errorf("GET as bob by header: %d, want 403", w.Code)
		}
	})
}
