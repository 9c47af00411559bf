package auth

import (
	"context"
	"encoding/base64"
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/portcullis/portcullis/access"
	htpasswd "github.com/tg123/go-htpasswd"
)

// Local copies of the gateway's interfaces: Basic must satisfy them without importing it.
type authenticator interface {
	Authenticate(ctx context.Context, r *http.Request) (access.Principal, error)
}

type challenger interface {
	Challenge(r *http.Request) string
}

var (
	_ authenticator = (*Basic)(nil)
	_ challenger    = (*Basic)(nil)
)

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

func TestParseBasic(t *testing.T) {
	tests := []struct {
		name       string
		header     string
		user, pass string
		wantErr    error
	}{
		{"plain", "Basic " + b64("alice:secret"), "alice", "secret", nil},
		{"scheme lower case", "basic " + b64("alice:secret"), "alice", "secret", nil},
		{"scheme upper case", "BASIC " + b64("alice:secret"), "alice", "secret", nil},
		{"several spaces", "Basic   " + b64("alice:secret"), "alice", "secret", nil},
		{"colon in password", "Basic " + b64("alice:a:b:c"), "alice", "a:b:c", nil},
		{"empty password", "Basic " + b64("alice:"), "alice", "", nil},
		{"utf-8 user", "Basic " + b64("zoë:pässword"), "zoë", "pässword", nil},
		{"empty header", "", "", "", errEmptyValue},
		{"scheme only", "Basic", "", "", errMalformed},
		{"scheme and space", "Basic ", "", "", errMalformed},
		{"bearer", "Bearer abc.def.ghi", "", "", errNotBasic},
		{"digest", `Digest username="alice"`, "", "", errNotBasic},
		{"scheme prefix", "Basicx " + b64("alice:secret"), "", "", errNotBasic},
		{"tab separator", "Basic\t" + b64("alice:secret"), "", "", errNotBasic},
		{"leading space", " Basic " + b64("alice:secret"), "", "", errNotBasic},
		{"no colon", "Basic " + b64("alice"), "", "", errNoColon},
		{"empty user", "Basic " + b64(":secret"), "", "", errEmptyUser},
		{"only colon", "Basic " + b64(":"), "", "", errEmptyUser},
		{"nul in user", "Basic " + b64("al\x00ice:secret"), "", "", errUserNotOK},
		{"newline in user", "Basic " + b64("al\nice:secret"), "", "", errUserNotOK},
		{"not base64", "Basic !!!!", "", "", errMalformed},
		{"url encoding", "Basic " + base64.URLEncoding.EncodeToString([]byte("a?>:~~~")), "", "", errMalformed},
		{"missing padding", "Basic " + base64.RawStdEncoding.EncodeToString([]byte("alice:s")), "", "", errMalformed},
		{"trailing garbage", "Basic " + b64("alice:secret") + "x", "", "", errMalformed},
		{"trailing space", "Basic " + b64("alice:secret") + " ", "", "", errMalformed},
		{"two tokens", "Basic " + b64("alice:secret") + " " + b64("bob:x"), "", "", errMalformed},
		{"embedded newline", "Basic YWxp\nY2U6c2VjcmV0", "", "", errMalformed},
		{"embedded CR", "Basic YWxp\rY2U6c2VjcmV0", "", "", errMalformed},
		{"padded", "Basic YWxpY2U6cw==", "alice", "s", nil},
		{"stray bits", "Basic YWxpY2U6cx==", "", "", errMalformed},
		{"quoted", `Basic "` + b64("alice:secret") + `"`, "", "", errMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			user, pass, err := parseBasic(tt.header)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("parseBasic(%q) error = %v, want %v", tt.header, err, tt.wantErr)
			}
			if user != tt.user || pass != tt.pass {
				t.Errorf("parseBasic(%q) = %q, %q; want %q, %q", tt.header, user, pass, tt.user, tt.pass)
			}
		})
	}
}

func TestBasicAuthenticate(t *testing.T) {
	dir := t.TempDir()
	users, err := NewHtpasswd(writeFile(t, dir, "htpasswd",
		bcryptLine(t, "alice", "wonderland", 4)+bcryptLine(t, "bob", "builder", 4)), HtpasswdOptions{})
	if err != nil {
		t.Fatal(err)
	}
	groups, err := NewGroups(writeFile(t, dir, "groups", "team-a: alice\nadmins: alice\n"), nil)
	if err != nil {
		t.Fatal(err)
	}
	b := &Basic{Users: users, Groups: groups}

	tests := []struct {
		name    string
		headers []string
		want    access.Principal
		wantErr error
		account string // the account a refusal names
	}{
		{"no header", nil, access.Anonymous(), nil, ""},
		{"alice", []string{"Basic " + b64("alice:wonderland")},
			access.Principal{Name: "alice", Method: access.MethodBasic, Groups: []string{"admins", "team-a"}}, nil, ""},
		{"bob without groups", []string{"basic " + b64("bob:builder")},
			access.Principal{Name: "bob", Method: access.MethodBasic, Groups: []string{}}, nil, ""},
		{"wrong password", []string{"Basic " + b64("alice:nope")}, access.Principal{}, access.ErrBadCredentials, "alice"},
		{"unknown user", []string{"Basic " + b64("mallory:wonderland")}, access.Principal{}, access.ErrBadCredentials, "mallory"},
		{"malformed", []string{"Basic %%%"}, access.Principal{}, access.ErrBadCredentials, ""},
		{"empty value", []string{""}, access.Principal{}, access.ErrBadCredentials, ""},
		{"bearer", []string{"Bearer token"}, access.Principal{}, access.ErrBadCredentials, ""},
		{"two headers", []string{"Basic " + b64("alice:wonderland"), "Basic " + b64("alice:wonderland")},
			access.Principal{}, access.ErrBadCredentials, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequestWithContext(t.Context(), http.MethodGet, "/v2/", nil)
			for _, h := range tt.headers {
				r.Header.Add("Authorization", h)
			}
			got, err := b.Authenticate(t.Context(), r)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("Authenticate error = %v, want %v", err, tt.wantErr)
			}
			if got := access.ClaimedAccount(err); got != tt.account {
				t.Errorf("claimed account %q, want %q", got, tt.account)
			}
			if err != nil && (strings.Contains(err.Error(), "mallory") || strings.Contains(err.Error(), "nope")) {
				t.Errorf("error text names the account or password: %v", err)
			}
			if got.Name != tt.want.Name || got.Method != tt.want.Method || !slices.Equal(got.Groups, tt.want.Groups) {
				t.Errorf("Authenticate = %+v, want %+v", got, tt.want)
			}
		})
	}

	t.Run("nil groups", func(t *testing.T) {
		r := httptest.NewRequestWithContext(t.Context(), http.MethodGet, "/v2/", nil)
		r.SetBasicAuth("alice", "wonderland")
		got, err := (&Basic{Users: users}).Authenticate(t.Context(), r)
		if err != nil || got.Name != "alice" || got.Groups == nil || len(got.Groups) != 0 {
			t.Fatalf("Authenticate = %+v, %v; want alice with no groups", got, err)
		}
	})

	t.Run("no users fails closed", func(t *testing.T) {
		r := httptest.NewRequestWithContext(t.Context(), http.MethodGet, "/v2/", nil)
		r.SetBasicAuth("alice", "wonderland")
		_, err := (&Basic{}).Authenticate(t.Context(), r)
		if err == nil || errors.Is(err, access.ErrBadCredentials) {
			t.Fatalf("Authenticate without users = %v; want a technical error", err)
		}
	})

	t.Run("cancelled is not bad credentials", func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		unc, _ := newTestHtpasswd(t, bcryptLine(t, "carol", "x", 4), HtpasswdOptions{})
		block := make(chan struct{})
		defer close(block)
		orig := unc.match
		unc.match = func(m htpasswd.EncodedPasswd, p, k string, d bool) bool { <-block; return orig(m, p, k, d) }
		r := httptest.NewRequestWithContext(ctx, http.MethodGet, "/v2/", nil)
		r.SetBasicAuth("carol", "x")
		_, err := (&Basic{Users: unc}).Authenticate(ctx, r)
		if err == nil || errors.Is(err, access.ErrBadCredentials) || !errors.Is(err, context.Canceled) {
			t.Fatalf("Authenticate with cancelled ctx = %v; want a context.Canceled technical error", err)
		}
	})
}

func TestChallenge(t *testing.T) {
	tests := []struct{ realm, want string }{
		{"", `Basic realm="portcullis"`},
		{"My Registry", `Basic realm="My Registry"`},
		{`say "hi"`, `Basic realm="say \"hi\""`},
		{`back\slash`, `Basic realm="back\\slash"`},
		{"split\r\nSet-Cookie: x=1", `Basic realm="splitSet-Cookie: x=1"`},
	}
	for _, tt := range tests {
		t.Run(tt.realm, func(t *testing.T) {
			got := (&Basic{Realm: tt.realm}).Challenge(nil)
			if got != tt.want {
				t.Errorf("Challenge() = %s, want %s", got, tt.want)
			}
		})
	}
}

// TestBasicOverHTTP: a real client against a real server guarded by Basic, the way a
// registry client meets it: a 401 with the challenge, then the retry with credentials.
func TestBasicOverHTTP(t *testing.T) {
	users, _ := newTestHtpasswd(t, bcryptLine(t, "alice", "wonderland", 4), HtpasswdOptions{})
	b := &Basic{Users: users, Realm: "test registry"}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, err := b.Authenticate(r.Context(), r)
		switch {
		case errors.Is(err, access.ErrBadCredentials) || err == nil && p.IsAnonymous():
			w.Header().Set("WWW-Authenticate", b.Challenge(r))
			w.WriteHeader(http.StatusUnauthorized)
		case err != nil:
			w.WriteHeader(http.StatusInternalServerError)
		default:
			w.Write([]byte(p.Name))
		}
	}))
	defer srv.Close()

	tests := []struct {
		name       string
		user, pass string
		wantCode   int
	}{
		{"anonymous", "", "", http.StatusUnauthorized},
		{"right password", "alice", "wonderland", http.StatusOK},
		{"wrong password", "alice", "x", http.StatusUnauthorized},
		{"unknown user", "bob", "wonderland", http.StatusUnauthorized},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, srv.URL+"/v2/", nil)
			if err != nil {
				t.Fatal(err)
			}
			if tt.user != "" {
				req.SetBasicAuth(tt.user, tt.pass)
			}
			resp, err := srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tt.wantCode {
				t.Fatalf("status %d, want %d", resp.StatusCode, tt.wantCode)
			}
			if tt.wantCode == http.StatusUnauthorized {
				if got := resp.Header.Get("WWW-Authenticate"); got != `Basic realm="test registry"` {
					t.Errorf("WWW-Authenticate = %q", got)
				}
			}
		})
	}
}
