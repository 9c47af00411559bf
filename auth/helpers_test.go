package auth

import (
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"

	htpasswd "github.com/tg123/go-htpasswd"
	"golang.org/x/crypto/bcrypt"
)

// writeFile writes content to dir/name and returns the path.
func writeFile(t testing.TB, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// bcryptLine returns an htpasswd line for user with a bcrypt hash at cost.
func bcryptLine(t testing.TB, user, pass string, cost int) string {
	t.Helper()
	h, err := bcrypt.GenerateFromPassword([]byte(pass), cost)
	if err != nil {
		t.Fatal(err)
	}
	return user + ":" + string(h) + "\n"
}

// matchCounter counts password comparisons through Htpasswd's match seam.
type matchCounter struct {
	real, dummy atomic.Int64
}

func countMatches(h *Htpasswd) *matchCounter {
	c := &matchCounter{}
	orig := h.match
	h.match = func(m htpasswd.EncodedPasswd, pass, kind string, dummy bool) bool {
		if dummy {
			c.dummy.Add(1)
		} else {
			c.real.Add(1)
		}
		return orig(m, pass, kind, dummy)
	}
	return c
}

// newTestHtpasswd writes content to a fresh file and loads it.
func newTestHtpasswd(t testing.TB, content string, opts HtpasswdOptions) (*Htpasswd, string) {
	t.Helper()
	path := writeFile(t, t.TempDir(), "htpasswd", content)
	h, err := NewHtpasswd(path, opts)
	if err != nil {
		t.Fatalf("NewHtpasswd: %v", err)
	}
	return h, path
}
