package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/portcullis/portcullis/access"
)

type envelope struct {
	Errors []struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"errors"`
}

func decodeEnvelope(t *testing.T, body string) envelope {
	t.Helper()
	var e envelope
	if err := json.Unmarshal([]byte(body), &e); err != nil || len(e.Errors) == 0 {
		t.Fatalf("body %q is not an error envelope: %v", body, err)
	}
	return e
}

// onlyAlice lets alice pull and push "team/*" and nobody anything else.
func onlyAlice() Authorizer {
	return grantIf(func(p access.Principal, typ, name, action string) bool {
		return p.Name == "alice" && strings.HasPrefix(name, "team/") && action != access.Delete
	})
}

func TestPipelineResponses(t *testing.T) {
	backend := &echoBackend{}
	h, _ := newTestGateway(t, backend, onlyAlice())
	tests := []struct {
		name, method, uri, user string
		status                  int
		code                    string
		challenge               bool
		forwarded               bool
	}{
		{name: "base anonymous", method: "GET", uri: "/v2/", status: 401, code: "UNAUTHORIZED", challenge: true},
		{name: "base bad password", method: "GET", uri: "/v2/", user: "mallory", status: 401, code: "UNAUTHORIZED", challenge: true},
		{name: "base authenticated", method: "GET", uri: "/v2/", user: "bob", status: 200, forwarded: true},
		{name: "pull allowed", method: "GET", uri: "/v2/team/app/manifests/latest", user: "alice", status: 200, forwarded: true},
		{name: "pull denied authenticated", method: "GET", uri: "/v2/other/manifests/latest", user: "alice", status: 403, code: "DENIED"},
		{name: "pull denied other user", method: "GET", uri: "/v2/team/app/manifests/latest", user: "bob", status: 403, code: "DENIED"},
		{name: "pull anonymous", method: "GET", uri: "/v2/team/app/manifests/latest", status: 401, code: "UNAUTHORIZED", challenge: true},
		{name: "delete denied", method: "DELETE", uri: "/v2/team/app/manifests/" + testDigest, user: "alice", status: 403, code: "DENIED"},
		{name: "bad credentials on pull", method: "GET", uri: "/v2/team/app/manifests/latest", user: "mallory", status: 401, code: "UNAUTHORIZED", challenge: true},
		{name: "technical auth failure", method: "GET", uri: "/v2/team/app/manifests/latest", user: "broken", status: 500, code: "UNKNOWN"},
		{name: "catalog anonymous", method: "GET", uri: "/v2/_catalog", status: 401, code: "UNAUTHORIZED", challenge: true},
		{name: "ambiguous path before auth", method: "GET", uri: "/v2/team%2Fapp/manifests/latest", status: 400, code: "NAME_INVALID"},
		{name: "method not allowed", method: "POST", uri: "/v2/team/app/manifests/latest", user: "alice", status: 405, code: "UNSUPPORTED"},
		{name: "unknown v2 route", method: "GET", uri: "/v2/team/app/nothing/x", user: "alice", status: 404, code: "UNSUPPORTED"},
		{name: "outside the API", method: "GET", uri: "/index.html", status: 404, code: "UNSUPPORTED"},
		{name: "HEAD denied has no body", method: "HEAD", uri: "/v2/other/manifests/latest", user: "alice", status: 403},
		{name: "HEAD refused has no body", method: "HEAD", uri: "/v2/a/manifests/%2e", status: 400},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			backend.last = nil
			r := basic(httptest.NewRequestWithContext(t.Context(), tt.method, tt.uri, nil), tt.user)
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			if w.Code != tt.status {
				t.Fatalf("status = %d, want %d; body %s", w.Code, tt.status, w.Body)
			}
			if got := w.Header().Get("Docker-Distribution-API-Version"); got != "registry/2.0" {
				t.Errorf("API version header = %q", got)
			}
			if w.Header().Get("X-Request-Id") == "" {
				t.Error("no X-Request-Id")
			}
			if tt.method == http.MethodHead && w.Body.Len() != 0 {
				t.Errorf("HEAD response has a body: %q", w.Body)
			}
			if tt.code != "" {
				if ct := w.Header().Get("Content-Type"); ct != "application/json" {
					t.Errorf("Content-Type = %q", ct)
				}
				e := decodeEnvelope(t, w.Body.String())
				if e.Errors[0].Code != tt.code {
					t.Errorf("code = %s, want %s", e.Errors[0].Code, tt.code)
				}
				for _, leak := range []string{"secret", "htpasswd", "mallory"} {
					if strings.Contains(w.Body.String(), leak) {
						t.Errorf("body leaks %q: %s", leak, w.Body)
					}
				}
			}
			if got := w.Header().Get("WWW-Authenticate"); (got == `Basic realm="test"`) != tt.challenge {
				t.Errorf("WWW-Authenticate = %q, challenge wanted: %v", got, tt.challenge)
			}
			if (backend.lastRequest() != nil) != tt.forwarded {
				t.Errorf("forwarded = %v, want %v", backend.lastRequest() != nil, tt.forwarded)
			}
		})
	}
}

func TestDenialMessageSameForMissingRepository(t *testing.T) {
	h, _ := newTestGateway(t, &echoBackend{}, onlyAlice())
	body := func(name string) string {
		r := basic(httptest.NewRequestWithContext(t.Context(), "GET", "/v2/"+name+"/manifests/latest", nil), "alice")
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return strings.ReplaceAll(w.Body.String(), name, "NAME")
	}
	a, b := body("exists"), body("doesnotexist")
	if a != b {
		t.Fatalf("denials differ: %s vs %s", a, b)
	}
	if !strings.Contains(a, "repository NAME (pull)") {
		t.Fatalf("denial does not name repository and action: %s", a)
	}
}

type bearerChallenger struct{ testAuthn }

func (bearerChallenger) Challenge(_ *http.Request, c Challenge) string {
	res := c.Access[0]
	return `Bearer realm="https://auth.example/token",scope="repository:` + res.Name + `:` + strings.Join(res.Actions, ",") + `"`
}

func TestChallengerUsed(t *testing.T) {
	h, _ := newTestGateway(t, &echoBackend{}, nil, func(c *Config) { c.Authenticator = bearerChallenger{} })
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequestWithContext(t.Context(), "PUT", "/v2/a/manifests/v1", nil))
	want := `Bearer realm="https://auth.example/token",scope="repository:a:pull,push"`
	if w.Code != 401 || w.Header().Get("WWW-Authenticate") != want {
		t.Fatalf("%d %q", w.Code, w.Header().Get("WWW-Authenticate"))
	}
}

func TestAuthorizerFailsClosed(t *testing.T) {
	tests := []struct {
		name   string
		authz  Authorizer
		status int
	}{
		{"error", authzFunc(func(context.Context, access.Input) (access.Decision, error) {
			return access.Decision{Granted: []access.Resource{{Type: "repository", Name: "a", Actions: []string{"*"}}}}, errors.New("rego exploded")
		}), 500},
		{"empty decision", authzFunc(func(context.Context, access.Input) (access.Decision, error) {
			return access.Decision{}, nil
		}), 403},
		{"grant on another repository", authzFunc(func(context.Context, access.Input) (access.Decision, error) {
			return access.Decision{Granted: []access.Resource{{Type: "repository", Name: "b", Actions: []string{"*"}}}}, nil
		}), 403},
		{"partial grant", authzFunc(func(context.Context, access.Input) (access.Decision, error) {
			return access.Decision{Granted: []access.Resource{{Type: "repository", Name: "a", Actions: []string{"pull"}}}}, nil
		}), 403},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			backend := &echoBackend{}
			h, logs := newTestGateway(t, backend, tt.authz)
			w := httptest.NewRecorder()
			h.ServeHTTP(w, basic(httptest.NewRequestWithContext(t.Context(), "PUT", "/v2/a/manifests/v1", nil), "alice"))
			if w.Code != tt.status || backend.lastRequest() != nil {
				t.Fatalf("status %d (want %d), forwarded %v", w.Code, tt.status, backend.lastRequest() != nil)
			}
			if tt.status == 500 && (strings.Contains(w.Body.String(), "rego") || !strings.Contains(logs.String(), "rego exploded")) {
				t.Fatalf("cause must be logged, not sent: body %s", w.Body)
			}
		})
	}
}

func TestMountStripping(t *testing.T) {
	authz := grantIf(func(p access.Principal, typ, name, action string) bool {
		return name == "dst" || (name == "public" && action == access.Pull)
	})
	tests := []struct {
		name, query string
		wantQuery   string
	}{
		{"allowed mount passes", "mount=" + testDigest + "&from=public", "mount=" + testDigest + "&from=public"},
		{"source not pullable is stripped", "mount=" + testDigest + "&from=secret&digest=" + testDigest2, "digest=" + testDigest2},
		{"mount without from is stripped", "mount=" + testDigest, ""},
		{"from without mount is stripped", "from=public", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			backend := &echoBackend{}
			h, _ := newTestGateway(t, backend, authz)
			w := httptest.NewRecorder()
			h.ServeHTTP(w, basic(httptest.NewRequestWithContext(t.Context(), "POST", "/v2/dst/blobs/uploads/?"+tt.query, nil), "alice"))
			got := backend.lastRequest()
			if w.Code != 200 || got == nil {
				t.Fatalf("status %d, forwarded %v: %s", w.Code, got != nil, w.Body)
			}
			want, _ := url.ParseQuery(tt.wantQuery)
			if !maps.EqualFunc(got.URL.Query(), want, slices.Equal) || got.URL.Path != "/v2/dst/blobs/uploads/" {
				t.Fatalf("forwarded %s?%s, want query %q", got.URL.Path, got.URL.RawQuery, tt.wantQuery)
			}
		})
	}
}
