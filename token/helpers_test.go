package token

import (
	"crypto/sha256"
	"math/big"
	"sync"
	"testing"
	"time"

	"github.com/portcullis/portcullis/access"
)

// clock is a settable test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// users is a Stamps and Groups for tests: user -> password entry.
type users struct {
	mu      sync.Mutex
	entries map[string]string
	groups  map[string][]string
}

func (u *users) Stamp(user string) ([32]byte, bool) {
	u.mu.Lock()
	defer u.mu.Unlock()
	e, ok := u.entries[user]
	return sha256.Sum256([]byte(e)), ok
}

func (u *users) For(user string) []string {
	u.mu.Lock()
	defer u.mu.Unlock()
	return append([]string{}, u.groups[user]...)
}

func (u *users) set(user, entry string) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if entry == "" {
		delete(u.entries, user)
		return
	}
	u.entries[user] = entry
}

// fixture is a Service over keys in a temporary directory, with a test clock.
type fixture struct {
	dir   string
	clock *clock
	keys  *Keys
	users *users
	svc   *Service
}

func newFixture(t *testing.T, mod ...func(*Config)) *fixture {
	t.Helper()
	f := &fixture{dir: t.TempDir(), clock: newClock(),
		users: &users{entries: map[string]string{"alice": "$2y$10$alice", "bob": "$2y$10$bob"},
			groups: map[string][]string{"alice": {"dev"}}}}
	var err error
	f.keys, err = OpenKeys(KeysOptions{Dir: f.dir, Lifetime: DefaultRefreshTTL, Now: f.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	cfg := Config{Keys: f.keys, Service: "registry.test", Users: f.users, Groups: f.users, Now: f.clock.Now}
	for _, m := range mod {
		m(&cfg)
	}
	if f.svc, err = New(cfg); err != nil {
		t.Fatal(err)
	}
	return f
}

func bigOne() *big.Int { return big.NewInt(1) }

func alicePrincipal() access.Principal {
	return access.Principal{Name: "alice", Method: access.MethodBasic, Groups: []string{"dev"}}
}
