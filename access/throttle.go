package access

import (
	"context"
	"errors"
	"net/netip"
	"time"
)

// ErrThrottled is returned by an authenticator that refuses to verify credentials now:
// too many failed logins from the client's address or for the account, or too many
// password verifications already running. It is neither bad credentials nor a technical
// failure; the gateway answers it 429 TOOMANYREQUESTS with Retry-After.
var ErrThrottled = errors.New("too many login attempts")

// ThrottledError is an ErrThrottled that says when to try again and why.
type ThrottledError struct {
	// RetryAfter is how long the client should wait before trying again (at least 1s).
	RetryAfter time.Duration
	// Account is the account the credentials claimed (unverified; never a password).
	Account string
	// Reason says which limit refused, for the log: "ip", "account" or "busy".
	Reason string
}

func (e *ThrottledError) Error() string {
	return ErrThrottled.Error() + " (" + e.Reason + ")"
}

// Is makes errors.Is(err, ErrThrottled) true.
func (e *ThrottledError) Is(target error) bool { return target == ErrThrottled }

type clientIPKey struct{}

// WithClientIP returns ctx carrying the client's address as the gateway established it
// (the peer, or what trusted proxies vouch for), for authenticators that limit per client.
func WithClientIP(ctx context.Context, ip netip.Addr) context.Context {
	return context.WithValue(ctx, clientIPKey{}, ip)
}

// ClientIP returns the address WithClientIP put in ctx.
func ClientIP(ctx context.Context) (netip.Addr, bool) {
	ip, ok := ctx.Value(clientIPKey{}).(netip.Addr)
	return ip, ok && ip.IsValid()
}
