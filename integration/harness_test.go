package integration

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/portcullis/portcullis/access"
	"github.com/portcullis/portcullis/auth"
	"github.com/portcullis/portcullis/gateway"
	"github.com/portcullis/portcullis/registry"
)

// The principals every test uses: one of each kind the policies tell apart.
const (
	anon   = ""      // no credentials
	reader = "alice" // an ordinary user, in no group
	member = "bob"   // a member of team-payments
	admin  = "root"  // a member of admins
)

// principals is every principal, anonymous first.
var principals = []string{anon, reader, member, admin}

// groupsOf is the groups file the stack is given, as a map.
var groupsOf = map[string][]string{
	reader: {},
	member: {"team-payments"},
	admin:  {"admins"},
}

// passwordOf is each user's password; never a user name, so a mix-up shows as a 401.
func passwordOf(user string) string { return "pw-" + user + "-7c1e" }

// principalOf is the principal auth.Basic makes of user: what the policy is asked about.
func principalOf(user string) access.Principal {
	if user == anon {
		return access.Anonymous()
	}
	return access.Principal{Name: user, Method: access.MethodBasic, Groups: slices.Clone(groupsOf[user])}
}

// label names a principal in test names.
func label(user string) string {
	if user == anon {
		return "anonymous"
	}
	return user
}

// stack is the gateway wired as cmd/gateway/serve.go wires it (htpasswd Basic with a
// groups file, a policy, the bundled registry in process), served over HTTP, with a
// recorder between the gateway and the registry and a second server on the bare registry
// for seeding content without going through the gateway.
type stack struct {
	URL  string       // the gateway
	Bare string       // the registry alone
	Host string       // host:port of the gateway, for image references
	Reg  http.Handler // the backend behind the recorder
	// Pipeline is the gateway handler the server serves, Login its Basic authenticator
	// (what the web UI signs in with), Dir the stack's temporary directory.
	Pipeline http.Handler
	Login    *auth.Basic
	Dir      string
	seen     *recorder
	authz    gateway.Authorizer
}

// newStack serves authz in front of a fresh registry (or in front of backend, when not
// nil, in place of the registry; Bare is then empty).
func newStack(t testing.TB, authz gateway.Authorizer, backend http.Handler) *stack {
	t.Helper()
	dir := t.TempDir()
	logger := slog.New(slog.DiscardHandler)
	if os.Getenv("INTEGRATION_LOG") != "" {
		logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	htpasswd := filepath.Join(dir, "htpasswd")
	for _, u := range principals[1:] {
		if err := auth.SetPassword(htpasswd, u, []byte(passwordOf(u)), 4); err != nil {
			t.Fatalf("writing htpasswd: %v", err)
		}
	}
	groupsFile := filepath.Join(dir, "groups")
	var g strings.Builder
	g.WriteString("# group: users\n")
	for _, u := range principals[1:] {
		for _, grp := range groupsOf[u] {
			g.WriteString(grp + ": " + u + "\n")
		}
	}
	if err := os.WriteFile(groupsFile, []byte(g.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	users, err := auth.NewHtpasswd(htpasswd, auth.HtpasswdOptions{Logger: logger})
	if err != nil {
		t.Fatalf("auth.NewHtpasswd: %v", err)
	}
	groups, err := auth.NewGroups(groupsFile, logger)
	if err != nil {
		t.Fatalf("auth.NewGroups: %v", err)
	}
	s := &stack{authz: authz, Dir: dir}
	if backend == nil {
		reg, err := registry.New(registry.Options{Root: filepath.Join(dir, "registry"), Logger: logger})
		if err != nil {
			t.Fatalf("registry.New: %v", err)
		}
		bare := httptest.NewServer(reg)
		t.Cleanup(bare.Close)
		s.Bare = bare.URL
		backend = reg
	}
	s.Reg = backend
	s.seen = &recorder{next: backend}
	s.Login = &auth.Basic{Users: users, Groups: groups, Realm: "portcullis-test"}
	h, err := gateway.New(gateway.Config{
		Backend:       gateway.NewInProcess(s.seen),
		Authenticator: s.Login,
		Authorizer:    authz,
		Logger:        logger,
		Realm:         "portcullis-test",
	})
	if err != nil {
		t.Fatalf("gateway.New: %v", err)
	}
	s.Pipeline = h
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	s.URL = srv.URL
	s.Host = strings.TrimPrefix(srv.URL, "http://")
	return s
}

// recorder is a backend wrapper that records every request reaching it.
type recorder struct {
	next http.Handler
	mu   sync.Mutex
	reqs []*http.Request // clones, bodies not kept
}

func (rc *recorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rc.mu.Lock()
	rc.reqs = append(rc.reqs, r.Clone(context.Background()))
	rc.mu.Unlock()
	rc.next.ServeHTTP(w, r)
}

// take returns the requests recorded since the last take, and forgets them.
func (rc *recorder) take() []*http.Request {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	out := rc.reqs
	rc.reqs = nil
	return out
}

// reply is a response read whole.
type reply struct {
	Status int
	Header http.Header
	Body   []byte
}

// call sends one request as user (anon: no credentials) and reads the reply.
func call(t testing.TB, user, method, url string, body []byte, header http.Header) reply {
	t.Helper()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(t.Context(), method, url, rd)
	if err != nil {
		t.Fatalf("building %s %s: %v", method, url, err)
	}
	for k, vs := range header {
		req.Header[k] = vs
	}
	if user != anon {
		req.SetBasicAuth(user, passwordOf(user))
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: reading body: %v", method, url, err)
	}
	return reply{Status: resp.StatusCode, Header: resp.Header, Body: b}
}
