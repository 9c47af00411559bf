package e2e

import (
	"encoding/base64"
	"log/slog"
	"testing"

	"github.com/portcullis/portcullis/access"
	"github.com/portcullis/portcullis/token"
)

func base64URL(s string) ([]byte, error) { return base64.RawURLEncoding.DecodeString(s) }

// foreignToken is a token as the gateway would mint it (issuer portcullis, service
// localhost, kid and x5c) for sub with the scopes, but signed by another key under another
// token CA: what an attacker with their own token service could present.
func foreignToken(t *testing.T, sub string, scopes ...string) string {
	t.Helper()
	keys, err := token.OpenKeys(token.KeysOptions{Dir: t.TempDir(), Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	svc, err := token.New(token.Config{Keys: keys, Service: "localhost"})
	if err != nil {
		t.Fatal(err)
	}
	var granted []access.Resource
	for _, s := range scopes {
		r, err := access.ParseScope(s)
		if err != nil {
			t.Fatal(err)
		}
		granted = append(granted, r)
	}
	tok, err := svc.Mint(access.Principal{Name: sub, Method: access.MethodBasic}, granted)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}
