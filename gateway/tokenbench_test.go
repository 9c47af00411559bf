package gateway

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"

	"github.com/portcullis/portcullis/access"
	"github.com/portcullis/portcullis/auth"
	"github.com/portcullis/portcullis/policy"
	"github.com/portcullis/portcullis/token"
)

// tokenBench is the pipeline as cmd/gateway builds it in either mode, in process: a
// cost-10 bcrypt user in an htpasswd file, the built-in default policy, and (token mode)
// the token service with a generated ES256 key.
type tokenBench struct {
	basic, token http.Handler // the pipeline in Basic mode and in token mode
	endpoint     http.Handler
	svc          *token.Service
}

func newTokenBench(b *testing.B) *tokenBench {
	b.Helper()
	dir := b.TempDir()
	file := filepath.Join(dir, "htpasswd")
	if err := auth.SetPassword(file, "bench", []byte("bench-pass-10"), 10); err != nil {
		b.Fatal(err)
	}
	users, err := auth.NewHtpasswd(file, auth.HtpasswdOptions{})
	if err != nil {
		b.Fatal(err)
	}
	pol, err := policy.Default(b.Context())
	if err != nil {
		b.Fatal(err)
	}
	keys, err := token.OpenKeys(token.KeysOptions{Dir: filepath.Join(dir, "token"), Lifetime: token.DefaultRefreshTTL})
	if err != nil {
		b.Fatal(err)
	}
	svc, err := token.New(token.Config{Keys: keys, Service: "localhost", Users: users})
	if err != nil {
		b.Fatal(err)
	}
	backend := NewInProcess(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Docker-Content-Digest", testDigest)
		w.Header().Set("Content-Length", "1234")
	}))
	log := slog.New(slog.DiscardHandler)
	basic := &auth.Basic{Users: users}
	tb := &tokenBench{svc: svc}
	mk := func(a Authenticator) http.Handler {
		h, err := New(Config{Backend: backend, Authenticator: a, Authorizer: pol, Logger: log})
		if err != nil {
			b.Fatal(err)
		}
		return h
	}
	tb.basic = mk(basic)
	tb.token = mk(BearerChallenge(&auth.Bearer{Tokens: svc, Basic: basic}, "", "localhost"))
	if tb.endpoint, err = NewTokenEndpoint(TokenEndpointConfig{Tokens: svc, Logins: basic, Authorizer: pol, Service: "localhost", Logger: log}); err != nil {
		b.Fatal(err)
	}
	return tb
}

// BenchmarkAuthenticatedHEAD is an authenticated manifest HEAD through the whole pipeline,
// in process: Basic mode with the user's Basic header, token mode with a bearer token for
// the same user. Both credentials are verified once (bcrypt, signature) and then found
// by a hash in a cache; bench/token.sh prints the ratio.
func BenchmarkAuthenticatedHEAD(b *testing.B) {
	tb := newTokenBench(b)
	r := httptest.NewRequest(http.MethodHead, "/v2/bench/app/manifests/1", nil)
	r.SetBasicAuth("bench", "bench-pass-10")
	basicAuth := r.Header.Get("Authorization")
	tok, err := tb.svc.Mint(tb.principal(b), tb.pullBench())
	if err != nil {
		b.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		h    http.Handler
		auth string
	}{
		{"mode=basic", tb.basic, basicAuth},
		{"mode=token", tb.token, "Bearer " + tok},
	} {
		b.Run(tc.name, func(b *testing.B) {
			w := &discardWriter{h: http.Header{}}
			b.ReportAllocs()
			for b.Loop() {
				clear(w.h)
				r.Header.Set("Authorization", tc.auth)
				tc.h.ServeHTTP(w, r)
			}
		})
	}
}

// BenchmarkTokenIssue is GET /token for one scope with the cost-10 user's Basic
// credentials (verified once, then cached): the policy decision, an ES256 signature and
// the JSON answer.
func BenchmarkTokenIssue(b *testing.B) {
	tb := newTokenBench(b)
	r := httptest.NewRequest(http.MethodGet, "/token?service=localhost&scope=repository:bench/app:pull", nil)
	r.SetBasicAuth("bench", "bench-pass-10")
	b.ReportAllocs()
	for b.Loop() {
		w := httptest.NewRecorder()
		tb.endpoint.ServeHTTP(w, r)
		if w.Code != http.StatusOK {
			b.Fatalf("status %d: %s", w.Code, w.Body)
		}
	}
}

func (tb *tokenBench) principal(b *testing.B) access.Principal {
	return access.Principal{Name: "bench", Method: access.MethodBasic, Groups: []string{}}
}

func (tb *tokenBench) pullBench() []access.Resource {
	return []access.Resource{{Type: access.TypeRepository, Name: "bench/app", Actions: []string{access.Pull}}}
}
