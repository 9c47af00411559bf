package auth

import (
	"errors"
	"fmt"
	"math"
	"net/netip"
	"strconv"
	"strings"
	"time"

	lru "github.com/hashicorp/golang-lru/v2"
	"golang.org/x/time/rate"

	"github.com/portcullis/portcullis/access"
)

// Limiter decides whether a login that would cost a password verification may run, and
// learns from how it went. Basic consults it for every verification the cache cannot
// answer; a token endpoint checking passwords should do the same. Credentials that
// verified before (cached) never reach it, so a client whose credentials are right is
// never slowed down by someone else's guessing.
type Limiter interface {
	// Allow returns nil when a verification of account's password from ip may run now,
	// else an *access.ThrottledError saying which limit refused and when to retry.
	Allow(ip netip.Addr, account string) error
	// Failed records a verification that failed.
	Failed(ip netip.Addr, account string)
	// Succeeded records a verification that succeeded.
	Succeeded(ip netip.Addr, account string)
}

// LoginMetrics counts what the login path does; the gateway command wires it to
// Prometheus. Implementations must be safe for concurrent use and quick.
type LoginMetrics interface {
	// LoginFailed counts a password verification that failed.
	LoginFailed()
	// LoginThrottled counts a login refused without verifying: reason is "ip",
	// "account" (a Limiter's) or "busy" (every verification slot taken).
	LoginThrottled(reason string)
}

// Rate is a token bucket of failed logins: Burst failures at once, refilled at Burst per
// Period (one every Period/Burst). The zero Rate is no limit.
type Rate struct {
	Burst  int
	Period time.Duration
}

// every is the time one failure takes to be forgiven.
func (r Rate) every() time.Duration { return r.Period / time.Duration(r.Burst) }

// ParseRate reads a rate as "N/DURATION": N failures, refilled over DURATION (so "20/1m" is
// a burst of 20 and one more every 3s), or "off" for no limit.
func ParseRate(s string) (Rate, error) {
	if s == "off" {
		return Rate{}, nil
	}
	n, d, ok := strings.Cut(s, "/")
	burst, err := strconv.Atoi(n)
	if !ok || err != nil || burst < 1 {
		return Rate{}, fmt.Errorf("%q: write failures/period, e.g. 20/1m, or off", s)
	}
	period, err := time.ParseDuration(d)
	if err != nil || period <= 0 {
		return Rate{}, fmt.Errorf("%q: the period must be a positive duration, e.g. 20/1m", s)
	}
	r := Rate{Burst: burst, Period: period}
	if r.every() <= 0 {
		return Rate{}, fmt.Errorf("%q: the period is too short for that many failures", s)
	}
	return r, nil
}

func (r Rate) String() string {
	if r.Burst == 0 {
		return "off"
	}
	period := r.Period.String() // "1m0s", "1h0m0s", "1h30m0s"
	if strings.HasSuffix(period, "m0s") {
		period = strings.TrimSuffix(period, "0s")
	}
	if strings.HasSuffix(period, "h0m") {
		period = strings.TrimSuffix(period, "0m")
	}
	return strconv.Itoa(r.Burst) + "/" + period
}

// ThrottleOptions configures NewThrottle.
type ThrottleOptions struct {
	// PerIP limits failed logins from one client address (IPv6: one /64, what one host
	// usually holds). DefaultThrottleOptions: 20/1m.
	PerIP Rate
	// PerAccount limits failed logins for one account name, from anywhere.
	// DefaultThrottleOptions: 10/1m.
	// An address that logged in to the account recently is not held back by it, so an
	// attack on an account does not lock its owner out.
	PerAccount Rate
	// MaxTracked bounds the addresses, the accounts and the (address, account) pairs
	// remembered, each; the least recently used go first. Default 10000, a few MiB at most.
	MaxTracked int
	// Now is the clock; default time.Now.
	Now func() time.Time
}

// DefaultThrottleOptions are the defaults of ThrottleOptions.
var DefaultThrottleOptions = ThrottleOptions{
	PerIP:      Rate{Burst: 20, Period: time.Minute},
	PerAccount: Rate{Burst: 10, Period: time.Minute},
	MaxTracked: 10000,
}

// maxAccountKey caps the account names kept: a name is whatever a client sends.
const maxAccountKey = 256

// Throttle is the Limiter of the gateway: token buckets of failed logins (golang.org/x/time/rate)
// per client address and per account, in bounded LRU maps, so memory stays bounded
// whatever the number of addresses and names. It is safe for concurrent use.
type Throttle struct {
	perIP, perAccount Rate
	now               func() time.Time
	ips               *lru.Cache[netip.Prefix, *rate.Limiter]
	accounts          *lru.Cache[string, *rate.Limiter]
	proven            *lru.Cache[provenKey, struct{}] // (address, account) that logged in
}

type provenKey struct {
	ip      netip.Prefix
	account string
}

var _ Limiter = (*Throttle)(nil)

// NewThrottle returns a Throttle. Start from DefaultThrottleOptions: a zero Rate is no
// limit; MaxTracked 0 and Now nil take the defaults.
func NewThrottle(opts ThrottleOptions) (*Throttle, error) {
	if opts.MaxTracked <= 0 {
		opts.MaxTracked = DefaultThrottleOptions.MaxTracked
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	for _, r := range []Rate{opts.PerIP, opts.PerAccount} {
		if r.Burst < 0 || (r.Burst > 0 && r.every() <= 0) {
			return nil, errors.New("throttle: a rate needs a positive burst and period")
		}
	}
	t := &Throttle{perIP: opts.PerIP, perAccount: opts.PerAccount, now: opts.Now}
	var err error
	if t.ips, err = lru.New[netip.Prefix, *rate.Limiter](opts.MaxTracked); err != nil {
		return nil, err
	}
	if t.accounts, err = lru.New[string, *rate.Limiter](opts.MaxTracked); err != nil {
		return nil, err
	}
	if t.proven, err = lru.New[provenKey, struct{}](opts.MaxTracked); err != nil {
		return nil, err
	}
	return t, nil
}

// ipKey is the bucket an address counts against: itself, or its /64 for IPv6 (a host
// gets a whole /64 and could otherwise rotate through it).
func ipKey(ip netip.Addr) netip.Prefix {
	ip = ip.Unmap()
	bits := ip.BitLen()
	if ip.Is6() {
		bits = 64
	}
	p, _ := ip.Prefix(bits) // the zero prefix for an invalid address: one shared bucket
	return p
}

func accountKey(a string) string {
	if len(a) > maxAccountKey {
		return a[:maxAccountKey]
	}
	return a
}

// Allow implements Limiter: no if the address, or the account (unless this address
// logged in to it recently), has used up its failures.
func (t *Throttle) Allow(ip netip.Addr, account string) error {
	now := t.now()
	k := ipKey(ip)
	if wait := wait(t.ips, k, t.perIP, now); wait > 0 {
		return &access.ThrottledError{RetryAfter: wait, Account: account, Reason: "ip"}
	}
	a := accountKey(account)
	if wait := wait(t.accounts, a, t.perAccount, now); wait > 0 && !t.proven.Contains(provenKey{k, a}) {
		return &access.ThrottledError{RetryAfter: wait, Account: account, Reason: "account"}
	}
	return nil
}

// Failed implements Limiter: a token from the address's bucket and the account's. A
// bucket may go into debt (verifications that were allowed together and all failed), so
// a burst of failures waits longer.
func (t *Throttle) Failed(ip netip.Addr, account string) {
	now := t.now()
	take(t.ips, ipKey(ip), t.perIP, now)
	take(t.accounts, accountKey(account), t.perAccount, now)
}

// Succeeded implements Limiter: the address has proven it knows the account's password.
func (t *Throttle) Succeeded(ip netip.Addr, account string) {
	t.proven.Add(provenKey{ipKey(ip), accountKey(account)}, struct{}{})
}

// wait is how long until k's bucket holds a whole token; 0 when it does (or has never
// failed, or r is no limit).
func wait[K comparable](c *lru.Cache[K, *rate.Limiter], k K, r Rate, now time.Time) time.Duration {
	if r.Burst == 0 {
		return 0
	}
	l, ok := c.Get(k)
	if !ok {
		return 0
	}
	tokens := l.TokensAt(now)
	if tokens >= 1 {
		return 0
	}
	return time.Duration(math.Ceil((1 - tokens) * float64(r.every())))
}

func take[K comparable](c *lru.Cache[K, *rate.Limiter], k K, r Rate, now time.Time) {
	if r.Burst == 0 {
		return
	}
	l, ok := c.Get(k)
	if !ok {
		l = rate.NewLimiter(rate.Every(r.every()), r.Burst) // full
		if prev, found, _ := c.PeekOrAdd(k, l); found {
			l = prev
		}
	}
	l.ReserveN(now, 1) // may go into debt
}
