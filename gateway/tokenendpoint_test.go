package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/portcullis/portcullis/access"
	"github.com/portcullis/portcullis/token"
)

// testLogin is testAuthn with a Login for the POST flow; the user "slow" is throttled.
type testLogin struct{ testAuthn }

func (testLogin) Authenticate(ctx context.Context, r *http.Request) (access.Principal, error) {
	if user, _, _ := r.BasicAuth(); user == "slow" {
		if _, ok := access.ClientIP(ctx); !ok {
			return access.Principal{}, errors.New("no client address in the context for the throttle")
		}
		return access.Principal{}, &access.ThrottledError{RetryAfter: 2500 * time.Millisecond, Account: "slow", Reason: "account"}
	}
	return testAuthn{}.Authenticate(ctx, r)
}

func (l testLogin) Login(ctx context.Context, user, pass string) (access.Principal, error) {
	r := httptest.NewRequest("GET", "/", nil)
	r.SetBasicAuth(user, pass)
	return l.Authenticate(ctx, r)
}

// testStamps gives alice and bob a fixed password stamp.
type testStamps struct{}

func (testStamps) Stamp(user string) ([32]byte, bool) {
	return [32]byte{1}, user == "alice" || user == "bob"
}

func newTokenService(t testing.TB) *token.Service {
	t.Helper()
	keys, err := token.OpenKeys(token.KeysOptions{Dir: t.TempDir(), Lifetime: token.DefaultRefreshTTL})
	if err != nil {
		t.Fatal(err)
	}
	svc, err := token.New(token.Config{Keys: keys, Service: "registry.test", Users: testStamps{}})
	if err != nil {
		t.Fatal(err)
	}
	return svc
}

// teamPolicy lets alice pull and push team/* and list the catalog; anonymous pulls public/*.
var teamPolicy = authzFunc(func(_ context.Context, in access.Input) (access.Decision, error) {
	var d access.Decision
	for _, r := range in.Access {
		g := access.Resource{Type: r.Type, Name: r.Name}
		for _, a := range r.Actions {
			switch {
			case in.Principal.Name == "alice" && strings.HasPrefix(r.Name, "team/") && a != access.Delete,
				in.Principal.Name == "alice" && r.Type == access.TypeRegistry,
				strings.HasPrefix(r.Name, "public/") && a == access.Pull,
				in.Principal.Name == "alice" && strings.HasPrefix(r.Name, "localhost:5000/"):
				g.Actions = append(g.Actions, a)
			}
		}
		if len(g.Actions) > 0 {
			d.Granted = append(d.Granted, g)
		}
	}
	return d, nil
})

type tokenEvents struct {
	mu  sync.Mutex
	got []TokenEvent
}

func (o *tokenEvents) ObserveToken(_ context.Context, ev TokenEvent) {
	o.mu.Lock()
	o.got = append(o.got, ev)
	o.mu.Unlock()
}

func (o *tokenEvents) last() TokenEvent {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.got[len(o.got)-1]
}

func newTestTokenEndpoint(t testing.TB, svc *token.Service, obs TokenObserver) http.Handler {
	t.Helper()
	log, _ := testLogger()
	cfg := TokenEndpointConfig{Tokens: svc, Logins: testLogin{}, Authorizer: teamPolicy, Service: "registry.test", Logger: log}
	if obs != nil {
		cfg.Observers = []TokenObserver{obs}
	}
	h, err := NewTokenEndpoint(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

type tokenAnswer struct {
	Token, AccessToken, RefreshToken, IssuedAt, Scope string
	ExpiresIn                                         int
	Error, ErrorDescription                           string
	Errors                                            []struct{ Code, Message string }
}

func (a *tokenAnswer) UnmarshalJSON(b []byte) error {
	var raw struct {
		Token        string `json:"token"`
		AccessToken  string `json:"access_token"`
		RefreshToken string `json:"refresh_token"`
		IssuedAt     string `json:"issued_at"`
		Scope        string `json:"scope"`
		ExpiresIn    int    `json:"expires_in"`
		Error        string `json:"error"`
		Desc         string `json:"error_description"`
		Errors       []struct{ Code, Message string }
	}
	if err := json.Unmarshal(b, &raw); err != nil {
		return err
	}
	*a = tokenAnswer{raw.Token, raw.AccessToken, raw.RefreshToken, raw.IssuedAt, raw.Scope, raw.ExpiresIn, raw.Error, raw.Desc, raw.Errors}
	return nil
}

func TestTokenEndpoint(t *testing.T) {
	svc := newTokenService(t)
	obs := &tokenEvents{}
	h := newTestTokenEndpoint(t, svc, obs)
	refresh := func() string {
		r := httptest.NewRequest("GET", "/token?service=registry.test&offline_token=true&client_id=docker", nil)
		r.SetBasicAuth("alice", "secret")
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		var a tokenAnswer
		json.Unmarshal(w.Body.Bytes(), &a)
		return a.RefreshToken
	}()
	if refresh == "" {
		t.Fatal("no refresh token for offline_token=true")
	}
	form := func(kv ...string) string {
		v := url.Values{}
		for i := 0; i < len(kv); i += 2 {
			v.Add(kv[i], kv[i+1])
		}
		return v.Encode()
	}
	type want struct {
		status  int
		granted []string // scopes of the token
		refresh bool
		errCode string // OAuth2 error
	}
	tests := []struct {
		name, method, target, user, body, ctype string
		want                                    want
	}{
		{"anonymous, no scope (docker login ping)", "GET", "/token?service=registry.test", "", "", "", want{status: 200, granted: []string{}}},
		{"anonymous pull of a public repository", "GET", "/token?service=registry.test&scope=repository:public/app:pull", "", "", "", want{status: 200, granted: []string{"repository:public/app:pull"}}},
		{"partial grant is not an error", "GET", "/token?service=registry.test&scope=repository:team/a:pull,push,delete&scope=repository:other:pull&client_id=docker", "alice", "", "",
			want{status: 200, granted: []string{"repository:team/a:pull,push"}}},
		{"repeated scopes merge", "GET", "/token?scope=repository:team/a:pull&scope=repository:team/a:push", "alice", "", "",
			want{status: 200, granted: []string{"repository:team/a:pull,push"}}},
		{"space-separated scopes in one parameter", "GET", "/token?scope=repository:team/a:pull+registry:catalog:*", "alice", "", "",
			want{status: 200, granted: []string{"repository:team/a:pull", "registry:catalog:*"}}},
		{"name with host:port", "GET", "/token?scope=repository:localhost:5000/app:pull", "alice", "", "",
			want{status: 200, granted: []string{"repository:localhost:5000/app:pull"}}},
		{"refresh token when asked", "GET", "/token?offline_token=true", "alice", "", "", want{status: 200, granted: []string{}, refresh: true}},
		{"no refresh token for anonymous", "GET", "/token?offline_token=true", "", "", "", want{status: 200, granted: []string{}}},
		{"bad password", "GET", "/token?scope=repository:team/a:pull", "mallory", "", "", want{status: 401, errCode: "invalid_grant"}},
		{"throttled login", "GET", "/token?scope=repository:team/a:pull", "slow", "", "", want{status: 429, errCode: "slow_down"}},
		{"POST throttled login", "POST", "/token", "", form("grant_type", "password", "username", "slow", "password", "x", "client_id", "x"), "",
			want{status: 429, errCode: "slow_down"}},
		{"account differs from the credentials", "GET", "/token?account=bob", "alice", "", "", want{status: 400, errCode: "invalid_request"}},
		{"another service", "GET", "/token?service=other.registry", "alice", "", "", want{status: 400, errCode: "invalid_request"}},
		{"malformed scope", "GET", "/token?scope=repository:app", "alice", "", "", want{status: 400, errCode: "invalid_scope"}},
		{"password in the query", "GET", "/token?username=alice&password=secret", "", "", "", want{status: 400, errCode: "invalid_request"}},
		{"repeated service", "GET", "/token?service=a&service=b", "alice", "", "", want{status: 400, errCode: "invalid_request"}},
		{"POST password grant", "POST", "/token", "", form("grant_type", "password", "username", "alice", "password", "secret",
			"client_id", "containerd-client", "service", "registry.test", "scope", "repository:team/a:pull,push repository:other:pull"), "",
			want{status: 200, granted: []string{"repository:team/a:pull,push"}}},
		{"POST password grant, offline", "POST", "/token", "", form("grant_type", "password", "username", "alice", "password", "secret",
			"client_id", "docker", "access_type", "offline"), "", want{status: 200, granted: []string{}, refresh: true}},
		{"POST wrong password", "POST", "/token", "", form("grant_type", "password", "username", "alice", "password", "nope", "client_id", "x"), "",
			want{status: 401, errCode: "invalid_grant"}},
		{"POST refresh grant, no new refresh token", "POST", "/token", "", form("grant_type", "refresh_token", "refresh_token", refresh,
			"client_id", "docker", "access_type", "offline", "scope", "repository:team/a:pull"), "",
			want{status: 200, granted: []string{"repository:team/a:pull"}}},
		{"POST refresh grant, bad token", "POST", "/token", "", form("grant_type", "refresh_token", "refresh_token", "eyJ.x.y", "client_id", "docker"), "",
			want{status: 401, errCode: "invalid_grant"}},
		{"POST without client_id", "POST", "/token", "", form("grant_type", "password", "username", "alice", "password", "secret"), "",
			want{status: 400, errCode: "invalid_request"}},
		{"POST unknown grant", "POST", "/token", "", form("grant_type", "client_credentials", "client_id", "x"), "",
			want{status: 400, errCode: "unsupported_grant_type"}},
		{"POST JSON", "POST", "/token", "", `{"grant_type":"password"}`, "application/json", want{status: 400, errCode: "invalid_request"}},
		{"PUT", "PUT", "/token", "", "", "", want{status: 405, errCode: "invalid_request"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(tt.method, tt.target, strings.NewReader(tt.body))
			if tt.method == "POST" {
				ct := tt.ctype
				if ct == "" {
					ct = "application/x-www-form-urlencoded"
				}
				r.Header.Set("Content-Type", ct)
			}
			basic(r, tt.user)
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			if w.Code != tt.want.status {
				t.Fatalf("status %d, want %d: %s", w.Code, tt.want.status, w.Body)
			}
			if ct := w.Header().Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type %q", ct)
			}
			var a tokenAnswer
			if err := json.Unmarshal(w.Body.Bytes(), &a); err != nil {
				t.Fatalf("body is not JSON: %v: %s", err, w.Body)
			}
			if tt.want.status != 200 {
				if a.Error != tt.want.errCode || len(a.Errors) != 1 || a.Errors[0].Message == "" {
					t.Errorf("error body %s, want OAuth2 error %q and the registry envelope", w.Body, tt.want.errCode)
				}
				if tt.want.status == 401 && !strings.HasPrefix(w.Header().Get("WWW-Authenticate"), "Basic ") {
					t.Errorf("401 without a Basic challenge")
				}
				if tt.want.status == 429 && (w.Header().Get("Retry-After") != "3" || a.Errors[0].Code != "TOOMANYREQUESTS") {
					t.Errorf("429: Retry-After %q, code %q; want 3 and TOOMANYREQUESTS", w.Header().Get("Retry-After"), a.Errors[0].Code)
				}
				if strings.Contains(w.Body.String(), "secret") || strings.Contains(w.Body.String(), "nope") {
					t.Error("the answer repeats a password")
				}
				return
			}
			if a.Token == "" || a.AccessToken != a.Token || a.ExpiresIn != 300 || a.IssuedAt == "" {
				t.Errorf("answer %+v", a)
			}
			if (a.RefreshToken != "") != tt.want.refresh {
				t.Errorf("refresh token present = %v, want %v", a.RefreshToken != "", tt.want.refresh)
			}
			if w.Header().Get("Cache-Control") != "no-store" {
				t.Error("token answer may be cached")
			}
			p, err := svc.VerifyToken(t.Context(), a.Token)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, r := range p.Limit.Granted {
				got = append(got, r.Scope())
			}
			if got == nil {
				got = []string{}
			}
			if !slices.Equal(got, tt.want.granted) {
				t.Errorf("token grants %q, want %q", got, tt.want.granted)
			}
			if a.Scope != strings.Join(tt.want.granted, " ") {
				t.Errorf("scope answer %q", a.Scope)
			}
		})
	}

	// Failed logins are attributable: the account claimed, never the password.
	r := httptest.NewRequest("GET", "/token?scope=repository:team/a:pull", nil)
	r.SetBasicAuth("mallory", "guess")
	h.ServeHTTP(httptest.NewRecorder(), r)
	ev := obs.last()
	if ev.Outcome != TokenRefused || ev.Account != "mallory" || ev.Grant != grantBasic || len(ev.Asked) != 1 || ev.Status != 401 {
		t.Errorf("event of a failed login = %+v", ev)
	}
}

func TestJWKSEndpoint(t *testing.T) {
	svc := newTokenService(t)
	h := newTestTokenEndpoint(t, svc, nil)
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest("GET", JWKSPath, nil))
	var set token.JWKS
	if w.Code != 200 || json.Unmarshal(w.Body.Bytes(), &set) != nil || len(set.Keys) != 1 || set.Keys[0].Kid != svc.Keys().CurrentKID() {
		t.Errorf("JWKS answer %d %s", w.Code, w.Body)
	}
	if len(set.Keys[0].X5c) != 1 || set.Keys[0].Use != "sig" || set.Keys[0].Alg != "ES256" {
		t.Errorf("JWK %+v", set.Keys[0])
	}
}

// The token package's service is what cmd/gateway hands the endpoint and the upstream.
var (
	_ TokenIssuer = (*token.Service)(nil)
	_             = UpstreamOptions{Credentials: (*token.Service)(nil).UpstreamAuthorization}
)
