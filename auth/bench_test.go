package auth

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"golang.org/x/crypto/bcrypt"
)

// BenchmarkAuthenticate compares a bcrypt cost-10 credential verified from the cache with
// the same credential verified by bcrypt on every request.
func BenchmarkAuthenticate(b *testing.B) {
	line := bcryptLine(b, "alice", "wonderland", bcrypt.DefaultCost)
	for _, bc := range []struct {
		name string
		size int
	}{
		{"cached", 0},
		{"uncached", -1},
	} {
		b.Run(bc.name, func(b *testing.B) {
			h, _ := newTestHtpasswd(b, line, HtpasswdOptions{CacheSize: bc.size})
			basic := &Basic{Users: h}
			r := httptest.NewRequestWithContext(b.Context(), http.MethodGet, "/v2/", nil)
			r.SetBasicAuth("alice", "wonderland")
			if _, err := basic.Authenticate(b.Context(), r); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := basic.Authenticate(b.Context(), r); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
