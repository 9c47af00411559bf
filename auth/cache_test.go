package auth

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"testing/synctest"

	htpasswd "github.com/tg123/go-htpasswd"
	"golang.org/x/crypto/bcrypt"
)

func TestVerifyCache(t *testing.T) {
	h, _ := newTestHtpasswd(t, bcryptLine(t, "alice", "pw", 4)+bcryptLine(t, "bob", "pw", 4), HtpasswdOptions{})
	c := countMatches(h)
	ctx := t.Context()

	steps := []struct {
		name             string
		user, pass       string
		reload           bool
		want             bool
		wantReal, wantDu int64 // cumulative comparisons after the step
	}{
		{"first verify runs bcrypt", "alice", "pw", false, true, 1, 0},
		{"second verify is cached", "alice", "pw", false, true, 1, 0},
		{"cache is per user", "bob", "pw", false, true, 2, 0},
		{"wrong password runs bcrypt", "alice", "nope", false, false, 3, 0},
		{"failures are not cached", "alice", "nope", false, false, 4, 0},
		{"unknown user runs the dummy", "mallory", "pw", false, false, 4, 1},
		{"unknown user again, dummy again", "mallory", "pw", false, false, 4, 2},
		{"still cached", "alice", "pw", false, true, 4, 2},
		{"reload invalidates", "alice", "pw", true, true, 5, 2},
		{"cached again after reload", "alice", "pw", false, true, 5, 2},
	}
	for _, s := range steps {
		if s.reload {
			if err := h.Reload(t.Context()); err != nil {
				t.Fatal(err)
			}
		}
		if got := h.Verify(ctx, s.user, s.pass); got != s.want {
			t.Fatalf("%s: Verify(%s) = %v, want %v", s.name, s.user, got, s.want)
		}
		if r, d := c.real.Load(), c.dummy.Load(); r != s.wantReal || d != s.wantDu {
			t.Fatalf("%s: %d real and %d dummy comparisons, want %d and %d", s.name, r, d, s.wantReal, s.wantDu)
		}
	}
}

func TestVerifyCacheInvalidatedByChangedPassword(t *testing.T) {
	h, path := newTestHtpasswd(t, bcryptLine(t, "alice", "old", 4), HtpasswdOptions{})
	if !h.Verify(t.Context(), "alice", "old") {
		t.Fatal("old password does not verify")
	}
	if err := SetPassword(path, "alice", []byte("new"), 4); err != nil {
		t.Fatal(err)
	}
	if err := h.Reload(t.Context()); err != nil {
		t.Fatal(err)
	}
	if h.Verify(t.Context(), "alice", "old") {
		t.Fatal("the cached old password still verifies after the change")
	}
}

func TestVerifyCacheBounded(t *testing.T) {
	const size, users = 8, 20
	var b strings.Builder
	for i := range users {
		b.WriteString(fmt.Sprintf("u%d:{SHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g=\n", i)) // password "password"
	}
	h, _ := newTestHtpasswd(t, b.String(), HtpasswdOptions{CacheSize: size})
	c := countMatches(h)
	for i := range users {
		if !h.Verify(t.Context(), fmt.Sprintf("u%d", i), "password") {
			t.Fatalf("u%d does not verify", i)
		}
	}
	if n := h.cache.len(); n != size {
		t.Fatalf("cache holds %d entries, want the bound %d", n, size)
	}
	// The most recent users are cached, the first ones were evicted.
	before := c.real.Load()
	h.Verify(t.Context(), fmt.Sprintf("u%d", users-1), "password")
	if c.real.Load() != before {
		t.Error("most recent credential was not cached")
	}
	h.Verify(t.Context(), "u0", "password")
	if c.real.Load() != before+1 {
		t.Error("oldest credential was not evicted")
	}
}

func TestVerifyCacheDisabled(t *testing.T) {
	h, _ := newTestHtpasswd(t, bcryptLine(t, "alice", "pw", 4), HtpasswdOptions{CacheSize: -1})
	c := countMatches(h)
	for range 3 {
		if !h.Verify(t.Context(), "alice", "pw") {
			t.Fatal("alice does not verify")
		}
	}
	if got := c.real.Load(); got != 3 {
		t.Fatalf("%d comparisons with the cache disabled, want 3", got)
	}
}

func TestCacheKey(t *testing.T) {
	c, err := newCredCache(4)
	if err != nil {
		t.Fatal(err)
	}
	k1, k2 := c.key("alice", "pw"), c.key("alice", "pw")
	if k1 != k2 {
		t.Fatal("key is not deterministic")
	}
	if c.key("alice", "pw2") == k1 || c.key("alic", "epw") == k1 {
		t.Fatal("distinct credentials share a key")
	}
	other, _ := newCredCache(4)
	if other.key("alice", "pw") == k1 {
		t.Fatal("two caches share an HMAC key")
	}
}

// TestVerifySingleflight: N concurrent first requests with one credential run bcrypt once.
func TestVerifySingleflight(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h, _ := newTestHtpasswd(t, bcryptLine(t, "alice", "pw", 4), HtpasswdOptions{})
		release := make(chan struct{})
		var calls int
		var mu sync.Mutex
		orig := h.match
		h.match = func(m htpasswd.EncodedPasswd, pass, kind string, dummy bool) bool {
			mu.Lock()
			calls++
			mu.Unlock()
			<-release
			return orig(m, pass, kind, dummy)
		}
		const n = 16
		results := make(chan bool, n)
		for range n {
			go func() { results <- h.Verify(t.Context(), "alice", "pw") }()
		}
		synctest.Wait() // every goroutine is now blocked: one in bcrypt, the rest waiting on it
		close(release)
		for range n {
			if !<-results {
				t.Fatal("a concurrent Verify failed")
			}
		}
		if calls != 1 {
			t.Fatalf("%d bcrypt comparisons for %d concurrent requests, want 1", calls, n)
		}
	})
}

// TestBcryptOncePerCredentialUnderLoad replays the shape of the benchmark's manifest HEAD
// phases (issue 9): two users with different bcrypt costs, 16 keep-alive connections each,
// over HTTP/1.1 and HTTP/2, while the file is polled for changes. Each credential is
// compared with bcrypt once; every other request is a cache hit, whatever the cost, and
// polling an unchanged file does not invalidate the cache.
func TestBcryptOncePerCredentialUnderLoad(t *testing.T) {
	users := map[string]string{"cheap": "cheappass", "dear": "dearpass"}
	content := bcryptLine(t, "cheap", users["cheap"], bcrypt.MinCost) +
		bcryptLine(t, "dear", users["dear"], bcrypt.MinCost+3)
	h, _ := newTestHtpasswd(t, content, HtpasswdOptions{})
	c := countMatches(h)
	checks := startWatch(t, h.file, true) // polls every few milliseconds
	gen := h.file.Load().gen

	basic := &Basic{Users: h}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, err := basic.Authenticate(r.Context(), r); err != nil {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		w.Header().Set("X-Proto", r.Proto)
	}))
	srv.EnableHTTP2 = true
	srv.StartTLS()
	t.Cleanup(srv.Close)

	const conns, perConn = 16, 25
	transport := func(proto func(*http.Protocols)) *http.Transport {
		tr := srv.Client().Transport.(*http.Transport).Clone()
		tr.TLSClientConfig.NextProtos = nil // the protocols below choose what ALPN offers
		tr.Protocols = new(http.Protocols)
		proto(tr.Protocols)
		tr.MaxConnsPerHost, tr.MaxIdleConnsPerHost = conns, conns
		return tr
	}
	h1 := transport(func(p *http.Protocols) { p.SetHTTP1(true) })
	clients := []struct {
		proto string
		rt    http.RoundTripper
	}{
		{"HTTP/1.1", h1},
		{"HTTP/2.0", transport(func(p *http.Protocols) { p.SetHTTP2(true) })},
	}
	head := func(rt http.RoundTripper, user, wantProto string) error {
		req, err := http.NewRequestWithContext(t.Context(), http.MethodHead, srv.URL+"/v2/test/big/manifests/1", nil)
		if err != nil {
			return err
		}
		req.SetBasicAuth(user, users[user])
		resp, err := rt.RoundTrip(req)
		if err != nil {
			return err
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || resp.Header.Get("X-Proto") != wantProto {
			return fmt.Errorf("%s: status %d over %s, want 200 over %s", user, resp.StatusCode, resp.Header.Get("X-Proto"), wantProto)
		}
		return nil
	}
	for _, cl := range clients {
		for user := range users {
			var wg sync.WaitGroup
			errs := make(chan error, conns)
			for range conns {
				wg.Go(func() {
					for range perConn {
						if err := head(cl.rt, user, cl.proto); err != nil {
							errs <- err
							return
						}
					}
				})
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Fatal(err)
			}
		}
	}
	<-checks // one more poll of the unchanged file, after every credential is cached
	for user := range users {
		if err := head(h1, user, "HTTP/1.1"); err != nil {
			t.Fatal(err)
		}
	}
	total := len(clients)*len(users)*conns*perConn + len(users)
	// Each verification also compares once against every other kind of hash in the file
	// (cost parity, issue 12): here the other bcrypt cost.
	others := int64(len(h.file.Load().kinds) - 1)
	if r, d := c.real.Load(), c.dummy.Load(); r != int64(len(users)) || d != r*others {
		t.Fatalf("%d requests ran %d bcrypt comparisons (%d dummy), want one verification per credential (%d, with %d dummy each)",
			total, r, d, len(users), others)
	}
	if got := h.file.Load().gen; got != gen {
		t.Fatalf("generation %d -> %d while polling an unchanged file", gen, got)
	}
}
