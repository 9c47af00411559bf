package auth

import (
	"context"
	"errors"
	"net/http/httptest"
	"path/filepath"
	"testing"

	"github.com/portcullis/portcullis/access"
)

// fakeTokens accepts the token "good" (alice, limited to pull on app) and the identity
// token "eyJ.ci.token" (ci); any other JWT-shaped string is from no trusted issuer.
type fakeTokens struct{}

func (fakeTokens) VerifyToken(_ context.Context, tok string) (access.Principal, error) {
	if tok == "good" {
		return access.Principal{Name: "alice", Method: access.MethodBearer, Limit: &access.Decision{}}, nil
	}
	return access.Principal{}, &access.BadCredentialsError{Account: "mallory", Err: errors.New("bad signature")}
}

func (fakeTokens) VerifyIdentity(_ context.Context, tok string) (access.Principal, error) {
	switch tok {
	case "eyJ.ci.token":
		return access.Principal{Name: "ci", Method: access.MethodBearer}, nil
	case "eyJ.ci.expired":
		return access.Principal{}, &access.BadCredentialsError{Err: errors.New("expired")}
	}
	return access.Principal{}, errors.New("not from a trusted issuer")
}

func TestBearer(t *testing.T) {
	users, _ := newTestHtpasswd(t, bcryptLine(t, "alice", "secret", 4), HtpasswdOptions{})
	b := &Bearer{Tokens: fakeTokens{}, Basic: &Basic{Users: users, Identities: fakeTokens{}}}
	tests := []struct {
		name, header string
		want         string // principal name; "" anonymous
		bad          bool
		account      string
	}{
		{"none", "", "", false, ""},
		{"bearer", "Bearer good", "alice", false, ""},
		{"bearer any case", "bearer good", "alice", false, ""},
		{"bearer refused", "Bearer forged", "", true, "mallory"},
		{"bearer empty", "Bearer ", "", true, ""},
		{"basic password", "Basic " + b64("alice:secret"), "alice", false, ""},
		{"basic wrong password", "Basic " + b64("alice:nope"), "", true, "alice"},
		{"basic with identity token", "Basic " + b64("anything:eyJ.ci.token"), "ci", false, ""},
		{"basic with a bad identity token", "Basic " + b64("anything:eyJ.ci.expired"), "", true, "anything"},
		{"basic with another JWT-like password", "Basic " + b64("alice:eyJ.not.ours"), "", true, "alice"},
		{"other scheme", "Digest x", "", true, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/v2/", nil)
			if tt.header != "" {
				r.Header.Set("Authorization", tt.header)
			}
			p, err := b.Authenticate(t.Context(), r)
			if tt.bad {
				if !errors.Is(err, access.ErrBadCredentials) {
					t.Fatalf("err = %v, want bad credentials", err)
				}
				if got := access.ClaimedAccount(err); got != tt.account {
					t.Errorf("claimed account %q, want %q", got, tt.account)
				}
				return
			}
			if err != nil || p.Name != tt.want {
				t.Errorf("Authenticate = %+v, %v; want %q", p, err, tt.want)
			}
		})
	}
}

func TestStamp(t *testing.T) {
	h, path := newTestHtpasswd(t, bcryptLine(t, "alice", "one", 4)+bcryptLine(t, "bob", "x", 4), HtpasswdOptions{})
	s1, ok := h.Stamp("alice")
	if !ok {
		t.Fatal("no stamp for alice")
	}
	if s, _ := h.Stamp("bob"); s == s1 {
		t.Error("two users share a stamp")
	}
	if _, ok := h.Stamp("carol"); ok {
		t.Error("a stamp for an unknown user")
	}
	writeFile(t, filepath.Dir(path), "htpasswd", bcryptLine(t, "alice", "two", 4))
	if err := h.Reload(t.Context()); err != nil {
		t.Fatal(err)
	}
	if s2, ok := h.Stamp("alice"); !ok || s2 == s1 {
		t.Error("the stamp did not change with the password")
	}
	if _, ok := h.Stamp("bob"); ok {
		t.Error("a removed user still has a stamp")
	}
}
