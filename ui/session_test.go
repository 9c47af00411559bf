package ui

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func testSealer(t testing.TB) *sealer {
	t.Helper()
	key, err := loadKey(filepath.Join(t.TempDir(), "ui", "session.key"))
	if err != nil {
		t.Fatal(err)
	}
	return &sealer{key: key, revoked: newRevocations(4, time.Now)}
}

var t0 = time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)

func testSession() session {
	return session{V: sessionVersion, ID: newID(), User: "alice", Groups: []string{"dev"}, Method: "basic",
		Expires: t0.Add(time.Hour).Unix()}
}

func TestSessionSealOpen(t *testing.T) {
	k := testSealer(t)
	s := testSession()
	v, err := k.seal(s)
	if err != nil {
		t.Fatal(err)
	}
	got, err := k.open(v, t0)
	if err != nil || got.User != "alice" || got.ID != s.ID || got.Groups[0] != "dev" {
		t.Fatalf("open: %+v %v", got, err)
	}
	if _, err := k.open(v, t0.Add(time.Hour)); err == nil {
		t.Error("open at expiry succeeded")
	}
	other := testSealer(t)
	if _, err := other.open(v, t0); err == nil {
		t.Error("another key opened the session")
	}
	// Every one-byte change is refused.
	for i := range v {
		for _, c := range []byte{'A', '_', '.', 'z'} {
			if v[i] == c {
				continue
			}
			w := v[:i] + string(c) + v[i+1:]
			if _, err := k.open(w, t0); err == nil {
				t.Fatalf("changed byte %d (%q -> %q) still opens", i, v[i], c)
			}
		}
	}
	// Sign-out revokes the id.
	k.revoked.add(s.ID, s.Expires)
	if _, err := k.open(v, t0); err == nil {
		t.Error("a revoked session opens")
	}
}

func TestCSRFTokenBoundToSession(t *testing.T) {
	k := testSealer(t)
	a, b := testSession(), testSession()
	if !k.checkCSRF(a, k.csrfToken(a)) || k.checkCSRF(b, k.csrfToken(a)) || k.checkCSRF(a, "") || k.checkCSRF(a, "!!") {
		t.Error("csrf tokens are not bound to their session")
	}
}

func TestRevocationsBounded(t *testing.T) {
	now := t0
	r := newRevocations(3, func() time.Time { return now })
	r.add("expired", t0.Add(-time.Minute).Unix())
	r.add("soon", t0.Add(time.Minute).Unix())
	r.add("late", t0.Add(time.Hour).Unix())
	r.add("new", t0.Add(time.Hour).Unix()) // full: the expired one goes
	if r.has("expired") || !r.has("soon") || !r.has("late") || !r.has("new") {
		t.Errorf("after pruning: %v", r.ids)
	}
	r.add("newer", t0.Add(2*time.Hour).Unix()) // full of live ones: the soonest to expire goes
	if r.has("soon") || len(r.ids) != 3 || !r.has("newer") {
		t.Errorf("after eviction: %v", r.ids)
	}
}

func TestKeyFile(t *testing.T) {
	file := filepath.Join(t.TempDir(), "ui", "session.key")
	k1, err := loadKey(file)
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(file)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file mode %v, %v", fi.Mode(), err)
	}
	k2, err := loadKey(file)
	if err != nil || string(k1) != string(k2) {
		t.Fatal("the key changed on a second load")
	}
	if err := os.WriteFile(file, []byte("short\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := loadKey(file); err == nil || !strings.Contains(err.Error(), "remove the file") {
		t.Errorf("a bad key file: %v", err)
	}
}

// FuzzOpenSession: no input panics the cookie parser, and an input it accepts is exactly
// a cookie the sealer made (what it opens seals back to the same bytes), so nothing but
// the key makes a session.
func FuzzOpenSession(f *testing.F) {
	k := &sealer{key: []byte("fuzz key fuzz key fuzz key fuzz!"), revoked: newRevocations(8, time.Now)}
	s := session{V: sessionVersion, ID: strings.Repeat("ab", 16), User: "alice", Groups: []string{"dev"},
		Method: "basic", Expires: t0.Add(time.Hour).Unix()}
	v, err := k.seal(s)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(v)
	f.Add(v + "=")
	f.Add(strings.Replace(v, ".", "..", 1))
	f.Add("")
	f.Add(".")
	f.Add("eyJ2IjoxfQ.AAAA")
	f.Fuzz(func(t *testing.T, in string) {
		got, err := k.open(in, t0)
		if err != nil {
			return
		}
		back, err := k.seal(got)
		if err != nil || back != in {
			t.Fatalf("opened %q, which seals to %q", in, back)
		}
	})
}
