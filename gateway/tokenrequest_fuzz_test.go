package gateway

import (
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/portcullis/portcullis/access"
)

// FuzzTokenRequest reads arbitrary GET queries and POST forms as the token endpoint does.
// Whatever it accepts is consistent: a known grant, the POST flow with a client_id and
// the credentials its grant needs, at most maxTokenScopes resources, one entry per
// resource, and each scope reading back to itself (names with host:port included).
func FuzzTokenRequest(f *testing.F) {
	for _, s := range []struct {
		post bool
		data string
	}{
		{false, "service=registry&scope=repository:team/app:pull,push&offline_token=true&client_id=docker&account=alice"},
		{false, "scope=repository:localhost:5000/app:pull&scope=registry:catalog:*"},
		{false, "scope=repository(plugin):x:pull+repository:y:push"},
		{true, "grant_type=password&username=a&password=b&client_id=c&scope=repository:x:pull%20repository:x:push"},
		{true, "grant_type=refresh_token&refresh_token=eyJ.a.b&client_id=docker&access_type=offline"},
		{true, "grant_type=password&grant_type=refresh_token&client_id=x"},
		{false, "scope=repository::pull"},
	} {
		f.Add(s.post, s.data)
	}
	f.Fuzz(func(t *testing.T, post bool, data string) {
		var r = httptest.NewRequest("GET", "/token", nil)
		if post {
			r = httptest.NewRequest("POST", "/token", strings.NewReader(data))
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		} else {
			r.URL.RawQuery = data
		}
		req, terr := parseTokenRequest(r)
		if terr != nil {
			if terr.status != 400 || terr.code == "" || terr.message == "" {
				t.Fatalf("refusal %+v", terr)
			}
			return
		}
		switch {
		case !post && req.grant != grantBasic:
			t.Fatalf("GET read as grant %q", req.grant)
		case post && req.grant != grantPassword && req.grant != grantRefresh:
			t.Fatalf("POST read as grant %q", req.grant)
		case post && req.clientID == "":
			t.Fatal("POST accepted without client_id")
		case req.grant == grantPassword && req.username == "":
			t.Fatal("password grant without a user name")
		case req.grant == grantRefresh && req.refresh == "":
			t.Fatal("refresh grant without a token")
		case len(req.scopes) > maxTokenScopes:
			t.Fatalf("%d scopes", len(req.scopes))
		}
		seen := map[string]bool{}
		for _, s := range req.scopes {
			if seen[s.Type+" "+s.Name] {
				t.Fatalf("resource %s:%s twice", s.Type, s.Name)
			}
			seen[s.Type+" "+s.Name] = true
			back, err := access.ParseScope(s.Scope())
			if err != nil || back.Scope() != s.Scope() {
				t.Fatalf("scope %q does not read back: %v", s.Scope(), err)
			}
		}
	})
}
