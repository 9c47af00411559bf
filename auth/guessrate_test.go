package auth

import (
	"errors"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/portcullis/portcullis/access"
)

// TestGuessRate measures how many wrong passwords one client gets checked per second, per
// hash kind, without the throttle (wall clock, logged: issue 12 measured 14/s against a
// bcrypt user and 2,600/s against a {SHA} user) and with the default one (an injected
// clock: ten minutes of a client offering 100 guesses a second, asserted against the
// buckets). Run with -v for the figures.
func TestGuessRate(t *testing.T) {
	if testing.Short() {
		t.Skip("measures for about two seconds")
	}
	h10, err := bcrypt.GenerateFromPassword([]byte("secret"), 10)
	if err != nil {
		t.Fatal(err)
	}
	content := "bcrypt10:" + string(h10) + "\nsha:{SHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g=\n"
	// Before issue 12: one comparison against the user's own entry, or for an unknown user
	// against one dummy of the file's most common kind (here bcrypt, the first of a tie).
	ref, _ := newTestHtpasswd(t, content, HtpasswdOptions{})
	tab := ref.file.Load()
	for _, user := range []string{"bcrypt10", "sha", "nobody"} {
		m := tab.kinds[0].m
		if e, ok := tab.users[user]; ok {
			m = e.m
		}
		n, start := 0, time.Now()
		for time.Since(start) < 300*time.Millisecond {
			m.MatchesPassword("guess")
			n++
		}
		t.Logf("%-8s before:      %8.1f guesses/s checked", user, float64(n)/time.Since(start).Seconds())
	}
	for _, user := range []string{"bcrypt10", "sha", "nobody"} {
		// Unthrottled: only the hash limits the guesses. Every verification costs one
		// comparison per kind in the file, so all three rates are the same now.
		h, _ := newTestHtpasswd(t, content, HtpasswdOptions{})
		b := &Basic{Users: h}
		n, start := 0, time.Now()
		for time.Since(start) < 700*time.Millisecond {
			if _, err := b.Authenticate(t.Context(), basicRequest("192.0.2.1", user, "guess")); !errors.Is(err, access.ErrBadCredentials) {
				t.Fatal(err)
			}
			n++
		}
		t.Logf("%-8s unthrottled: %8.1f guesses/s checked (one comparison per kind: bcrypt cost 10 and {SHA})",
			user, float64(n)/time.Since(start).Seconds())
	}

	h, _ := newTestHtpasswd(t, "sha:{SHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g=\n", HtpasswdOptions{})
	th, clock := newTestThrottle(t, DefaultThrottleOptions)
	b := &Basic{Users: h, Limiter: th}
	const offered, minutes = 100, 10 // guesses a second, for ten minutes
	checked := 0
	for range offered * 60 * minutes {
		_, err := b.Authenticate(t.Context(), basicRequest("192.0.2.1", "sha", "guess"))
		if errors.Is(err, access.ErrBadCredentials) {
			checked++
		} else if !errors.Is(err, access.ErrThrottled) {
			t.Fatal(err)
		}
		clock.advance(time.Second / offered)
	}
	ip, acct := DefaultThrottleOptions.PerIP, DefaultThrottleOptions.PerAccount
	limit := min(ip.Burst+int(minutes*time.Minute/ip.every()), acct.Burst+int(minutes*time.Minute/acct.every()))
	t.Logf("throttled (defaults: %s per address, %s per account): %d of %d guesses checked in %d minutes = %.2f/s, for any hash kind",
		ip, acct, checked, offered*60*minutes, minutes, float64(checked)/(minutes*60))
	if checked > limit+1 {
		t.Errorf("%d guesses checked, more than the buckets allow (%d)", checked, limit)
	}
}
