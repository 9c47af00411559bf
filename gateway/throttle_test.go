package gateway

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/portcullis/portcullis/access"
)

// identifyingAuthn is testAuthn that throttles "guesser" and can identify alice from a
// "cache" without verifying (Identifier).
type identifyingAuthn struct{ testAuthn }

func (a identifyingAuthn) Authenticate(ctx context.Context, r *http.Request) (access.Principal, error) {
	if u, _, ok := r.BasicAuth(); ok && u == "guesser" {
		if ip, ok := access.ClientIP(ctx); !ok || !ip.IsValid() {
			return access.Principal{}, &access.BadCredentialsError{Account: u} // the gateway must say who calls
		}
		return access.Principal{}, &access.ThrottledError{RetryAfter: 2500 * time.Millisecond, Account: u, Reason: "ip"}
	}
	return a.testAuthn.Authenticate(ctx, r)
}

func (identifyingAuthn) Identify(r *http.Request) (access.Principal, string, bool) {
	u, _, ok := r.BasicAuth()
	switch {
	case !ok:
		return access.Anonymous(), "", false
	case u == "alice":
		return access.Principal{Name: "alice", Method: access.MethodBasic}, u, true
	}
	return access.Anonymous(), u, false
}

// TestThrottledLogin: an authenticator's ThrottledError is a 429 TOOMANYREQUESTS in the
// envelope with Retry-After (whole seconds, rounded up) and no challenge; the Record says
// throttled and names the account tried (issue 12 fault 3).
func TestThrottledLogin(t *testing.T) {
	obs := &recorder{}
	h, _ := newTestGateway(t, &echoBackend{}, nil, func(c *Config) {
		c.Authenticator = identifyingAuthn{}
		c.Observers = []Observer{obs}
	})
	rec := httptest.NewRecorder()
	r := httptest.NewRequest("GET", "/v2/team/a/manifests/latest", nil)
	r.SetBasicAuth("guesser", "x")
	h.ServeHTTP(rec, r)
	if rec.Code != http.StatusTooManyRequests || errorCode(rec.Body.String()) != "TOOMANYREQUESTS" {
		t.Fatalf("throttled: %d %s", rec.Code, rec.Body)
	}
	if got := rec.Header().Get("Retry-After"); got != "3" {
		t.Errorf("Retry-After %q, want 3", got)
	}
	if got := rec.Header().Get("WWW-Authenticate"); got != "" {
		t.Errorf("a challenge with a 429: %q", got)
	}
	got := obs.recs[0]
	if got.Outcome != OutcomeThrottled || got.Account != "guesser" || !got.Principal.IsAnonymous() || !strings.Contains(got.Reason, "throttled") {
		t.Errorf("record %+v", got)
	}
}

// TestRefusalNamesSender: a request refused while its path is checked names who sent it
// when the Authenticator can tell cheaply (Identifier): the principal of cached
// credentials, or the account claimed (issue 12 fault 8).
func TestRefusalNamesSender(t *testing.T) {
	obs := &recorder{}
	h, logs := newTestGateway(t, &echoBackend{}, nil, func(c *Config) {
		c.Authenticator = identifyingAuthn{}
		c.Observers = []Observer{obs}
	})
	for _, user := range []string{"alice", "mallory", ""} {
		h.ServeHTTP(httptest.NewRecorder(), basic(httptest.NewRequest("GET", "/v2/a/../b/tags/list", nil), user))
	}
	alice, mallory, anon := obs.recs[0], obs.recs[1], obs.recs[2]
	if alice.Outcome != OutcomeRefused || alice.Principal.Name != "alice" || alice.Account != "alice" {
		t.Errorf("cached credentials: %+v", alice)
	}
	if !mallory.Principal.IsAnonymous() || mallory.Account != "mallory" {
		t.Errorf("credentials not verified: %+v", mallory)
	}
	if !anon.Principal.IsAnonymous() || anon.Account != "" {
		t.Errorf("no credentials: %+v", anon)
	}
	if !strings.Contains(logs.String(), `"principal":"alice"`) || !strings.Contains(logs.String(), `"account":"mallory"`) {
		t.Errorf("the access log does not name the senders: %s", logs)
	}
}
