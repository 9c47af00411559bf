package auth

import (
	"errors"
	"net/netip"
	"testing"
	"time"

	"github.com/portcullis/portcullis/access"
)

type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time          { return c.t }
func (c *fakeClock) advance(d time.Duration) { c.t = c.t.Add(d) }

func newTestThrottle(t *testing.T, opts ThrottleOptions) (*Throttle, *fakeClock) {
	t.Helper()
	c := &fakeClock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	opts.Now = c.now
	th, err := NewThrottle(opts)
	if err != nil {
		t.Fatal(err)
	}
	return th, c
}

func throttledBy(err error) string {
	var te *access.ThrottledError
	if errors.As(err, &te) {
		return te.Reason
	}
	return ""
}

func TestParseRate(t *testing.T) {
	for in, want := range map[string]Rate{
		"20/1m": {20, time.Minute}, "1/1s": {1, time.Second}, "off": {}, "600/1h": {600, time.Hour},
	} {
		if got, err := ParseRate(in); err != nil || got != want {
			t.Errorf("ParseRate(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "20", "0/1m", "-1/1m", "x/1m", "20/", "20/0s", "20/-1m", "20/1 m", "on"} {
		if _, err := ParseRate(bad); err == nil {
			t.Errorf("ParseRate(%q) accepted", bad)
		}
	}
}

// TestThrottleIP: an address gets its burst of failures, then waits one refill per
// failure, told how long; another address is not affected; IPv6 counts per /64.
func TestThrottleIP(t *testing.T) {
	th, clock := newTestThrottle(t, ThrottleOptions{PerIP: Rate{3, 30 * time.Second}})
	a, b := netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("192.0.2.2")
	for i := range 3 {
		if err := th.Allow(a, "user"); err != nil {
			t.Fatalf("attempt %d refused: %v", i, err)
		}
		th.Failed(a, "user")
	}
	err := th.Allow(a, "user")
	var te *access.ThrottledError
	if !errors.As(err, &te) || te.Reason != "ip" || te.RetryAfter != 10*time.Second || !errors.Is(err, access.ErrThrottled) {
		t.Fatalf("after the burst: %#v, want an ip refusal with RetryAfter 10s", err)
	}
	if err := th.Allow(b, "user"); err != nil {
		t.Errorf("another address refused: %v", err)
	}
	clock.advance(4 * time.Second)
	if err := th.Allow(a, "user"); !errors.As(err, &te) || te.RetryAfter != 6*time.Second {
		t.Errorf("4s later: %v, want RetryAfter 6s", err)
	}
	clock.advance(6 * time.Second)
	if err := th.Allow(a, "other"); err != nil {
		t.Errorf("after one refill: %v", err)
	}

	v6a, v6b := netip.MustParseAddr("2001:db8:1:2::1"), netip.MustParseAddr("2001:db8:1:2:ffff::9")
	for range 3 {
		th.Failed(v6a, "user")
	}
	if throttledBy(th.Allow(v6b, "user")) != "ip" {
		t.Errorf("another address of the same /64 is not held back")
	}
	if err := th.Allow(netip.MustParseAddr("2001:db8:1:3::1"), "user"); err != nil {
		t.Errorf("another /64 held back: %v", err)
	}
}

// TestThrottleAccount: an account gets its burst from all addresses together; an address
// that logged in to it before is not held back by the account's limit.
func TestThrottleAccount(t *testing.T) {
	th, _ := newTestThrottle(t, ThrottleOptions{PerAccount: Rate{2, 2 * time.Minute}})
	owner := netip.MustParseAddr("198.51.100.7")
	th.Succeeded(owner, "alice")
	for i := range 4 {
		th.Failed(netip.AddrFrom4([4]byte{203, 0, 113, byte(i)}), "alice")
	}
	if throttledBy(th.Allow(netip.MustParseAddr("203.0.113.200"), "alice")) != "account" {
		t.Error("a new address is not held back on an attacked account")
	}
	if err := th.Allow(owner, "alice"); err != nil {
		t.Errorf("the owner's address is held back: %v", err)
	}
	if err := th.Allow(netip.MustParseAddr("203.0.113.200"), "bob"); err != nil {
		t.Errorf("another account held back: %v", err)
	}
}

// TestThrottleBoundedMemory: whatever the number of addresses and names, at most
// MaxTracked of each are remembered.
func TestThrottleBoundedMemory(t *testing.T) {
	th, _ := newTestThrottle(t, ThrottleOptions{PerIP: Rate{5, time.Second}, PerAccount: Rate{5, time.Second}, MaxTracked: 100})
	for i := range 5000 {
		ip := netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)})
		name := string(rune('a'+i%26)) + string(make([]byte, i%300)) // long names are capped
		th.Failed(ip, name)
		th.Succeeded(ip, name)
	}
	if th.ips.Len() > 100 || th.accounts.Len() > 100 || th.proven.Len() > 100 {
		t.Errorf("remembered %d addresses, %d accounts, %d pairs; want at most 100 each", th.ips.Len(), th.accounts.Len(), th.proven.Len())
	}
	for _, k := range th.accounts.Keys() {
		if len(k) > maxAccountKey {
			t.Errorf("an account key of %d bytes kept", len(k))
		}
	}
}

// TestThrottleOff: "off" rates never refuse.
func TestThrottleOff(t *testing.T) {
	th, _ := newTestThrottle(t, ThrottleOptions{})
	ip := netip.MustParseAddr("192.0.2.1")
	for range 1000 {
		th.Failed(ip, "a")
	}
	if err := th.Allow(ip, "a"); err != nil {
		t.Errorf("off: %v", err)
	}
}

// FuzzParseRate: a rate that parses has a positive burst and period and prints back to a
// text that parses to the same rate; "off" is the zero rate.
func FuzzParseRate(f *testing.F) {
	for _, s := range []string{"20/1m", "off", "1/1s", "0/1m", "20/", "3/1ns", "7/1h30m", "9999999999999999999/1s"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := ParseRate(s)
		if err != nil {
			return
		}
		if r == (Rate{}) {
			if s != "off" {
				t.Fatalf("%q parsed as no limit", s)
			}
			return
		}
		if r.Burst < 1 || r.every() <= 0 {
			t.Fatalf("%q parsed as %+v", s, r)
		}
		if back, err := ParseRate(r.String()); err != nil || back != r {
			t.Fatalf("%q parsed as %+v, printed as %q, which parses as %+v, %v", s, r, r.String(), back, err)
		}
		if _, err := NewThrottle(ThrottleOptions{PerIP: r}); err != nil {
			t.Fatalf("%q parsed but NewThrottle refuses it: %v", s, err)
		}
	})
}

func TestRateString(t *testing.T) {
	for in, want := range map[string]string{"20/1m": "20/1m", "7/1h30m": "7/1h30m", "2/2h": "2/2h", "3/10s": "3/10s", "off": "off"} {
		r, err := ParseRate(in)
		if err != nil || r.String() != want {
			t.Errorf("ParseRate(%q).String() = %q, %v; want %q", in, r.String(), err, want)
		}
	}
}
