package gateway

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/portcullis/portcullis/access"
	"github.com/portcullis/portcullis/token"
)

// testBearer is token mode's authenticator for tests: bearer tokens through the token
// service, anything else as testAuthn.
type testBearer struct{ svc *token.Service }

func (b testBearer) Authenticate(ctx context.Context, r *http.Request) (access.Principal, error) {
	if tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok {
		return b.svc.VerifyToken(ctx, tok)
	}
	return testAuthn{}.Authenticate(ctx, r)
}

// switchable is an Authorizer whose policy a test can replace while tokens are out.
type switchable struct {
	mu sync.Mutex
	a  Authorizer
}

func (s *switchable) Authorize(ctx context.Context, in access.Input) (access.Decision, error) {
	s.mu.Lock()
	a := s.a
	s.mu.Unlock()
	return a.Authorize(ctx, in)
}

func TestTokenMode(t *testing.T) {
	svc := newTokenService(t)
	policy := &switchable{a: teamPolicy}
	backend := &echoBackend{}
	withCatalog := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/v2/_catalog" {
			w.Header().Set("Content-Type", "application/json")
			io.WriteString(w, `{"repositories":["team/a"]}`)
			return
		}
		backend.ServeHTTP(w, r)
	})
	h, logs := newTestGateway(t, withCatalog, policy, func(c *Config) {
		c.Authenticator = BearerChallenge(testBearer{svc}, "", "registry.test")
	})
	tok := func(p access.Principal, scopes ...string) string {
		var rs []access.Resource
		for _, s := range scopes {
			r, err := access.ParseScope(s)
			if err != nil {
				t.Fatal(err)
			}
			rs = append(rs, r)
		}
		m, err := svc.Mint(p, rs)
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	alice := access.Principal{Name: "alice", Method: access.MethodBasic}
	pullTok := tok(alice, "repository:team/a:pull")
	pushTok := tok(alice, "repository:team/a:pull,push")
	catalogTok := tok(alice, "registry:catalog:*")
	anonTok := tok(access.Anonymous(), "repository:public/app:pull")
	searchTok := tok(alice, "registry:catalog:search")

	tests := []struct {
		name, method, target, auth string
		status                     int
		challenge                  string // WWW-Authenticate, when 401
	}{
		{"base without credentials", "GET", "/v2/", "", 401, `Bearer realm="http://example.com/token",service="registry.test"`},
		{"base with a token", "GET", "/v2/", "Bearer " + pullTok, 200, ""},
		{"base with Basic still works", "GET", "/v2/", "basic", 200, ""},
		{"pull with a pull token", "GET", "/v2/team/a/manifests/v1", "Bearer " + pullTok, 200, ""},
		{"push with a pull token: insufficient scope", "PUT", "/v2/team/a/manifests/v1", "Bearer " + pullTok, 401,
			`Bearer realm="http://example.com/token",service="registry.test",scope="repository:team/a:pull,push",error="insufficient_scope"`},
		{"push with a push token", "PUT", "/v2/team/a/manifests/v1", "Bearer " + pushTok, 200, ""},
		{"another repository: insufficient scope", "GET", "/v2/team/b/tags/list", "Bearer " + pushTok, 401,
			`Bearer realm="http://example.com/token",service="registry.test",scope="repository:team/b:pull",error="insufficient_scope"`},
		{"forged token", "GET", "/v2/team/a/tags/list", "Bearer " + pullTok[:len(pullTok)-4] + "AAAA", 401,
			`Bearer realm="http://example.com/token",service="registry.test",scope="repository:team/a:pull",error="invalid_token"`},
		{"mount needs pull on the source too", "POST", "/v2/team/a/blobs/uploads/?mount=" + testDigest + "&from=team/b", "Bearer " + pushTok, 200, ""},
		{"catalog with a catalog token", "GET", "/v2/_catalog", "Bearer " + catalogTok, 200, ""},
		{"catalog without one", "GET", "/v2/_catalog", "Bearer " + pullTok, 401,
			`Bearer realm="http://example.com/token",service="registry.test",scope="registry:catalog:*",error="insufficient_scope"`},
		{"docker search with a registry:catalog:search token", "GET", "/v1/search?q=team", "Bearer " + searchTok, 200, ""},
		{"docker search with a pull token", "GET", "/v1/search?q=team", "Bearer " + pullTok, 401,
			`Bearer realm="http://example.com/token",service="registry.test",scope="registry:catalog:*",error="insufficient_scope"`},
		{"anonymous token pulls public", "GET", "/v2/public/app/manifests/v1", "Bearer " + anonTok, 200, ""},
		{"anonymous token, private repository", "GET", "/v2/team/a/manifests/v1", "Bearer " + anonTok, 401,
			`Bearer realm="http://example.com/token",service="registry.test",scope="repository:team/a:pull",error="insufficient_scope"`},
		{"Basic with a password, no token involved", "PUT", "/v2/team/a/manifests/v1", "basic", 200, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(tt.method, tt.target, strings.NewReader("{}"))
			switch {
			case tt.auth == "basic":
				r.SetBasicAuth("alice", "secret")
			case tt.auth != "":
				r.Header.Set("Authorization", tt.auth)
			}
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			if w.Code != tt.status {
				t.Fatalf("status %d, want %d: %s", w.Code, tt.status, w.Body)
			}
			if got := w.Header().Get("WWW-Authenticate"); got != tt.challenge {
				t.Errorf("WWW-Authenticate\n got %s\nwant %s", got, tt.challenge)
			}
		})
	}
	// The mount's source was not in the token: the upload went on without it.
	if q := backend.lastRequest(); q != nil && q.Method == "POST" && strings.Contains(q.URL.RawQuery, "mount") {
		t.Errorf("a mount from a repository the token does not cover was forwarded: %s", q.URL)
	}

	// The policy in force still decides: a grant removed after the token was issued
	// counts at once (403: the token covers it, the policy no longer does).
	policy.mu.Lock()
	policy.a = grantIf(func(access.Principal, string, string, string) bool { return false })
	policy.mu.Unlock()
	r := httptest.NewRequest("PUT", "/v2/team/a/manifests/v1", strings.NewReader("{}"))
	r.Header.Set("Authorization", "Bearer "+pushTok)
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	if w.Code != http.StatusForbidden {
		t.Errorf("push after the policy withdrew it: %d, want 403", w.Code)
	}
	// The log says why a token was refused; the client is told nothing more.
	if !strings.Contains(logs.String(), "signature is invalid") || !strings.Contains(logs.String(), "insufficient scope") {
		t.Errorf("log lacks the refusal reasons:\n%s", logs)
	}
}

// TestUpstreamCredentials: with Credentials set, the upstream sees an Authorization made
// from exactly the grant, for the catalog's own requests too; a request the pipeline did
// not judge is not sent at all.
func TestUpstreamCredentials(t *testing.T) {
	var mu sync.Mutex
	seen := map[string]string{} // path -> Authorization
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen[r.URL.Path] = r.Header.Get("Authorization")
		mu.Unlock()
		if r.URL.Path == "/v2/_catalog" {
			w.Header().Set("Content-Type", "application/json")
			io.WriteString(w, `{"repositories":["team/a"]}`)
		}
	}))
	defer up.Close()
	u, _ := url.Parse(up.URL)
	creds := func(_ context.Context, granted []access.Resource, subject string) (string, error) {
		if subject == "fail" {
			return "", errors.New("no key")
		}
		var parts []string
		for _, g := range granted {
			parts = append(parts, g.Scope())
		}
		return "Test " + subject + " " + strings.Join(parts, " "), nil
	}
	backend, err := NewUpstream(u, UpstreamOptions{Credentials: creds})
	if err != nil {
		t.Fatal(err)
	}
	h, _ := newTestGateway(t, backend, nil)
	for _, target := range []string{"/v2/", "/v2/team/a/manifests/v1", "/v2/_catalog"} {
		r := httptest.NewRequest("GET", target, nil)
		r.SetBasicAuth("alice", "secret")
		r.Header.Set("Authorization", r.Header.Get("Authorization")) // the client's is never passed on
		h.ServeHTTP(httptest.NewRecorder(), r)
	}
	mu.Lock()
	want := map[string]string{
		"/v2/":                    "Test alice", // nothing granted: /v2/ needs only a valid token
		"/v2/team/a/manifests/v1": "Test alice repository:team/a:pull",
		"/v2/_catalog":            "Test alice registry:catalog:*",
	}
	for p, w := range want {
		if seen[p] != w {
			t.Errorf("upstream saw Authorization %q on %s, want %q", seen[p], p, w)
		}
	}
	mu.Unlock()
	w := httptest.NewRecorder()
	backend.ServeHTTP(w, httptest.NewRequest("GET", "/v2/team/a/manifests/v1", nil))
	if w.Code != http.StatusBadGateway {
		t.Errorf("a request without a grant: %d, want 502 (not forwarded)", w.Code)
	}
}
