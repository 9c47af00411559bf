package gateway

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/portcullis/portcullis/access"
	"github.com/portcullis/portcullis/internal/testenv"
)

// testAuthn accepts alice:secret and bob:secret; "broken" as a user is a technical
// failure; no credentials is anonymous.
type testAuthn struct{}

var _ Authenticator = testAuthn{}

func (testAuthn) Authenticate(_ context.Context, r *http.Request) (access.Principal, error) {
	user, pass, ok := r.BasicAuth()
	switch {
	case !ok:
		return access.Anonymous(), nil
	case user == "broken":
		return access.Principal{}, errors.New("htpasswd store unreadable")
	case (user == "alice" || user == "bob") && pass == "secret":
		return access.Principal{Name: user, Method: access.MethodBasic}, nil
	}
	return access.Principal{}, &access.BadCredentialsError{Account: user}
}

// authzFunc adapts a function to Authorizer.
type authzFunc func(context.Context, access.Input) (access.Decision, error)

func (f authzFunc) Authorize(ctx context.Context, in access.Input) (access.Decision, error) {
	return f(ctx, in)
}

// grantIf grants every asked resource for which ok is true, for any non-anonymous
// principal, with each action the predicate allows.
func grantIf(ok func(p access.Principal, typ, name, action string) bool) Authorizer {
	return authzFunc(func(_ context.Context, in access.Input) (access.Decision, error) {
		var d access.Decision
		for _, res := range in.Access {
			g := access.Resource{Type: res.Type, Name: res.Name}
			for _, a := range res.Actions {
				if ok(in.Principal, res.Type, res.Name, a) {
					g.Actions = append(g.Actions, a)
				}
			}
			if len(g.Actions) > 0 {
				d.Granted = append(d.Granted, g)
			}
		}
		d.Reason = "test policy"
		return d, nil
	})
}

// syncBuffer collects log output written from server goroutines.
type syncBuffer = testenv.SyncBuffer

func testLogger() (*slog.Logger, *syncBuffer) {
	buf := &syncBuffer{}
	return slog.New(slog.NewJSONHandler(buf, &slog.HandlerOptions{Level: slog.LevelDebug})), buf
}

// newTestGateway builds the pipeline over backend with testAuthn and authz (default
// AllowAuthenticated); mod may adjust the config.
func newTestGateway(t testing.TB, backend http.Handler, authz Authorizer, mod ...func(*Config)) (http.Handler, *syncBuffer) {
	t.Helper()
	if authz == nil {
		authz = AllowAuthenticated{}
	}
	log, buf := testLogger()
	cfg := Config{Backend: backend, Authenticator: testAuthn{}, Authorizer: authz, Logger: log, Realm: "test"}
	for _, m := range mod {
		m(&cfg)
	}
	h, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return h, buf
}

// echoBackend answers 200 with "ok", recording the last request it saw.
type echoBackend struct {
	mu   sync.Mutex
	last *http.Request
}

func (e *echoBackend) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	e.mu.Lock()
	e.last = r.Clone(context.Background())
	e.mu.Unlock()
	w.Header().Set("Content-Type", "text/plain")
	_, _ = w.Write([]byte("ok"))
}

func (e *echoBackend) lastRequest() *http.Request {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.last
}

const (
	testDigest  = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	testDigest2 = "sha256:fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210"
)

func basic(r *http.Request, user string) *http.Request {
	if user != "" {
		r.SetBasicAuth(user, "secret")
	}
	return r
}

func errorCode(body string) string {
	i := strings.Index(body, `"code":"`)
	if i < 0 {
		return ""
	}
	rest := body[i+len(`"code":"`):]
	return rest[:strings.IndexByte(rest, '"')]
}

// recorder is an Observer keeping every Record.
type recorder struct {
	mu   sync.Mutex
	recs []Record
}

func (o *recorder) Observe(_ context.Context, rec Record) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.recs = append(o.recs, rec)
}

func (o *recorder) last() Record {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.recs[len(o.recs)-1]
}
