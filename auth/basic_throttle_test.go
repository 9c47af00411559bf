package auth

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"sync"
	"testing"
	"time"

	htpasswd "github.com/tg123/go-htpasswd"

	"github.com/portcullis/portcullis/access"
)

// loginCounter is a LoginMetrics for tests.
type loginCounter struct {
	mu        sync.Mutex
	failed    int
	throttled map[string]int
}

func (c *loginCounter) LoginFailed() { c.mu.Lock(); c.failed++; c.mu.Unlock() }
func (c *loginCounter) LoginThrottled(reason string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.throttled == nil {
		c.throttled = map[string]int{}
	}
	c.throttled[reason]++
}

func basicRequest(ip, user, pass string) *http.Request {
	r := httptest.NewRequest(http.MethodGet, "/v2/", nil)
	r.SetBasicAuth(user, pass)
	return r.WithContext(access.WithClientIP(r.Context(), netip.MustParseAddr(ip)))
}

// TestBasicThrottle: wrong passwords from one address are refused unverified once its
// failures are used up (429-to-be: access.ErrThrottled), for known and unknown users
// alike, while credentials verified before pass at once, with no comparison; another
// address is not affected. Failures and refusals are counted.
func TestBasicThrottle(t *testing.T) {
	h, _ := newTestHtpasswd(t, bcryptLine(t, "alice", "a", 4)+bcryptLine(t, "bob", "b", 4), HtpasswdOptions{})
	counts := countMatches(h)
	th, _ := newTestThrottle(t, ThrottleOptions{PerIP: Rate{3, 3 * time.Minute}})
	m := &loginCounter{}
	b := &Basic{Users: h, Limiter: th, Metrics: m}
	const attacker = "192.0.2.9"
	auth := func(ip, user, pass string) error {
		_, err := b.Authenticate(t.Context(), basicRequest(ip, user, pass))
		return err
	}
	if err := auth(attacker, "alice", "a"); err != nil {
		t.Fatalf("alice: %v", err)
	}
	for range 3 {
		if err := auth(attacker, "alice", "guess"); !errors.Is(err, access.ErrBadCredentials) {
			t.Fatalf("wrong password: %v", err)
		}
	}
	before := counts.real.Load() + counts.dummy.Load()
	for _, u := range []string{"alice", "nobody"} {
		err := auth(attacker, u, "guess")
		if !errors.Is(err, access.ErrThrottled) || errors.Is(err, access.ErrBadCredentials) {
			t.Errorf("%s after the burst: %v, want ErrThrottled", u, err)
		}
		var te *access.ThrottledError
		if errors.As(err, &te) && (te.Account != u || te.RetryAfter <= 0) {
			t.Errorf("%s: throttled error %+v", u, te)
		}
	}
	if err := auth(attacker, "alice", "a"); err != nil {
		t.Errorf("alice's cached credentials from the throttled address: %v", err)
	}
	if n := counts.real.Load() + counts.dummy.Load(); n != before {
		t.Errorf("%d comparisons ran for throttled and cached logins, want 0", n-before)
	}
	if err := auth(attacker, "bob", "b"); !errors.Is(err, access.ErrThrottled) {
		t.Errorf("bob's first login from the throttled address: %v, want ErrThrottled (it needs a hash)", err)
	}
	if err := auth("198.51.100.1", "bob", "b"); err != nil {
		t.Errorf("bob from another address: %v", err)
	}
	if m.failed != 3 || m.throttled["ip"] != 3 {
		t.Errorf("metrics: %d failed, throttled %v; want 3 and ip:3", m.failed, m.throttled)
	}
}

// TestBasicBusy: with every verification slot taken past VerifyWait, a login is refused
// unverified as busy; cached credentials still pass.
func TestBasicBusy(t *testing.T) {
	h, _ := newTestHtpasswd(t, bcryptLine(t, "alice", "a", 4)+bcryptLine(t, "bob", "b", 4),
		HtpasswdOptions{MaxVerifications: 1, VerifyWait: 10 * time.Millisecond})
	m := &loginCounter{}
	b := &Basic{Users: h, Metrics: m}
	if _, err := b.Authenticate(t.Context(), basicRequest("192.0.2.1", "alice", "a")); err != nil {
		t.Fatal(err)
	}
	block, started := make(chan struct{}), make(chan struct{}, 1)
	orig := h.match
	h.match = func(e htpasswd.EncodedPasswd, p, k string, d bool) bool {
		select {
		case started <- struct{}{}:
		default:
		}
		<-block
		return orig(e, p, k, d)
	}
	done := make(chan error)
	go func() {
		_, err := b.Authenticate(context.Background(), basicRequest("192.0.2.2", "bob", "wrong"))
		done <- err
	}()
	<-started // the only slot is taken
	_, err := b.Authenticate(t.Context(), basicRequest("192.0.2.3", "bob", "b"))
	var te *access.ThrottledError
	if !errors.As(err, &te) || te.Reason != "busy" {
		t.Errorf("with the slot taken: %v, want a busy ThrottledError", err)
	}
	if _, err := b.Authenticate(t.Context(), basicRequest("192.0.2.3", "alice", "a")); err != nil {
		t.Errorf("cached credentials while busy: %v", err)
	}
	close(block)
	if err := <-done; !errors.Is(err, access.ErrBadCredentials) {
		t.Errorf("the blocked wrong password: %v", err)
	}
	if m.throttled["busy"] != 1 {
		t.Errorf("busy refusals counted %v", m.throttled)
	}
}

// TestBasicIdentify: Identify names the principal of cached credentials, and only the
// claimed account of others, without a comparison.
func TestBasicIdentify(t *testing.T) {
	h, _ := newTestHtpasswd(t, bcryptLine(t, "alice", "a", 4), HtpasswdOptions{})
	b := &Basic{Users: h}
	if _, err := b.Authenticate(t.Context(), basicRequest("192.0.2.1", "alice", "a")); err != nil {
		t.Fatal(err)
	}
	counts := countMatches(h)
	if p, acct, ok := b.Identify(basicRequest("192.0.2.1", "alice", "a")); !ok || p.Name != "alice" || acct != "alice" {
		t.Errorf("cached: %v %q %v", p, acct, ok)
	}
	if p, acct, ok := b.Identify(basicRequest("192.0.2.1", "alice", "wrong")); ok || !p.IsAnonymous() || acct != "alice" {
		t.Errorf("not cached: %v %q %v", p, acct, ok)
	}
	if _, acct, ok := b.Identify(httptest.NewRequest("GET", "/v2/", nil)); ok || acct != "" {
		t.Errorf("no credentials: %q %v", acct, ok)
	}
	if n := counts.real.Load() + counts.dummy.Load(); n != 0 {
		t.Errorf("Identify ran %d comparisons", n)
	}
}

// refuseAll is a Limiter that refuses every verification, retry after retry.
type refuseAll struct{ retry time.Duration }

func (l refuseAll) Allow(netip.Addr, string) error {
	return &access.ThrottledError{RetryAfter: l.retry, Reason: "ip"}
}
func (refuseAll) Failed(netip.Addr, string)    {}
func (refuseAll) Succeeded(netip.Addr, string) {}

// TestRefusalDelay: a login the Limiter refuses is held for RefusalDelay (here: until the
// request ends) before the refusal comes back, never longer than its Retry-After, and
// credentials verified before are never held.
func TestRefusalDelay(t *testing.T) {
	h, _ := newTestHtpasswd(t, bcryptLine(t, "alice", "a", 4), HtpasswdOptions{})
	warm := &Basic{Users: h}
	if _, err := warm.Authenticate(t.Context(), basicRequest("192.0.2.1", "alice", "a")); err != nil {
		t.Fatal(err)
	}
	b := &Basic{Users: h, Limiter: refuseAll{retry: time.Hour}, RefusalDelay: time.Hour}

	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() {
		_, err := b.Authenticate(ctx, basicRequest("192.0.2.9", "alice", "guess"))
		done <- err
	}()
	select {
	case err := <-done:
		t.Fatalf("a refused login came back at once (%v), want it held", err)
	case <-time.After(200 * time.Millisecond):
	}
	cancel() // the client went away
	select {
	case err := <-done:
		if !errors.Is(err, access.ErrThrottled) {
			t.Errorf("held refusal: %v, want access.ErrThrottled", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("a held refusal outlived its request")
	}

	// Cached credentials pass at once, through the same refusing Limiter.
	if _, err := b.Authenticate(t.Context(), basicRequest("192.0.2.9", "alice", "a")); err != nil {
		t.Errorf("cached credentials: %v", err)
	}

	// Retry-After shorter than the delay bounds it.
	short := &Basic{Users: h, Limiter: refuseAll{retry: time.Millisecond}, RefusalDelay: time.Hour}
	go func() {
		_, err := short.Authenticate(t.Context(), basicRequest("192.0.2.9", "alice", "guess2"))
		done <- err
	}()
	select {
	case err := <-done:
		if !errors.Is(err, access.ErrThrottled) {
			t.Errorf("short Retry-After: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("held past its Retry-After")
	}
}
