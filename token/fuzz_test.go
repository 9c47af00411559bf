package token

import (
	"strings"
	"testing"

	"github.com/golang-jwt/jwt/v5"
)

// FuzzReadToken checks the JWT header reader against golang-jwt's own reading of the same
// token: whatever readToken accepts, the library decodes to the same alg, kid, iss and sub
// (so the keys chosen from the peek are the keys the verified token names), and nothing
// larger than 8 KiB is ever accepted.
func FuzzReadToken(f *testing.F) {
	for _, s := range []string{
		"eyJhbGciOiJFUzI1NiIsImtpZCI6ImEifQ.eyJpc3MiOiJwb3J0Y3VsbGlzIiwic3ViIjoiYWxpY2UifQ.c2ln",
		"eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.",
		"eyJhbGciOiJSUzI1NiIsImNyaXQiOlsiZXhwIl19.e30.c2ln",
		"eyJBTEciOiJub25lIiwiYWxnIjoiRVMyNTYifQ.e30.c2ln",
		"a.b.c.d", "", "...", "eyJ9.e30.x",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		p, err := readToken(raw)
		if err != nil {
			return
		}
		if len(raw) > MaxTokenSize {
			t.Fatalf("accepted a token of %d bytes", len(raw))
		}
		if p.Alg == "none" {
			t.Fatal("accepted alg none")
		}
		claims := jwt.MapClaims{}
		tok, _, err := jwt.NewParser().ParseUnverified(raw, claims)
		if err != nil {
			// The library refuses algorithms it does not know; nothing else it reads
			// differently may pass the peek.
			if strings.Contains(err.Error(), "signing method (alg) is unavailable") {
				return
			}
			t.Fatalf("readToken accepted %q, golang-jwt refuses it: %v", raw, err)
		}
		kid, _ := tok.Header["kid"].(string)
		iss, _ := claims["iss"].(string)
		sub, _ := claims["sub"].(string)
		if tok.Method.Alg() != p.Alg || kid != p.Kid || iss != p.Issuer || sub != p.Subject {
			t.Fatalf("peek %+v, golang-jwt reads alg %q kid %q iss %q sub %q", p, tok.Method.Alg(), kid, iss, sub)
		}
	})
}
