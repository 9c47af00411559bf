package audit

import (
	"encoding/json"
	"net/netip"
	"testing"
	"time"

	"github.com/portcullis/portcullis/access"
	"github.com/portcullis/portcullis/gateway"
)

// TestObserveToken: the token endpoint's events become token_issued (with the scopes
// asked and granted) and login_failed (naming the account claimed, refused or throttled);
// the others are not recorded.
func TestObserveToken(t *testing.T) {
	tr, cfg := newTrail(t)
	at := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	ip := netip.MustParseAddr("192.0.2.7")
	asked := []access.Resource{{Type: "repository", Name: "team/app", Actions: []string{"pull", "push"}}}
	granted := []access.Resource{{Type: "repository", Name: "team/app", Actions: []string{"pull"}}}
	for _, ev := range []gateway.TokenEvent{
		{ID: "r1", Time: at, ClientIP: ip, Grant: "password", Account: "alice", Asked: asked, Granted: granted,
			Principal: access.Principal{Name: "alice", Method: access.MethodBasic}, Outcome: gateway.TokenIssued, Status: 200},
		{ID: "r2", Time: at, ClientIP: ip, Grant: "basic", Account: "mallory", Outcome: gateway.TokenRefused, Status: 401, Reason: "wrong user or password"},
		{ID: "r3", Time: at, ClientIP: ip, Grant: "password", Account: "bob", Outcome: gateway.TokenThrottled, Status: 429},
		{ID: "r4", Time: at, ClientIP: ip, Outcome: gateway.TokenInvalid, Status: 400},
		{ID: "r5", Time: at, ClientIP: ip, Grant: "basic", Outcome: gateway.TokenRefused, Status: 401},
	} {
		tr.ObserveToken(t.Context(), ev)
	}
	if err := tr.Close(t.Context()); err != nil {
		t.Fatal(err)
	}
	var got []map[string]any
	for _, l := range readLines(t, cfg.File) {
		var m map[string]any
		if err := json.Unmarshal(l, &m); err != nil {
			t.Fatal(err)
		}
		if m["kind"] == "checkpoint" {
			continue
		}
		got = append(got, m)
	}
	if len(got) != 3 {
		t.Fatalf("%d records, want 3: %v", len(got), got)
	}
	want := []struct{ kind, user, account, id string }{
		{"token_issued", "alice", "", "r1"}, {"login_failed", "", "mallory", "r2"}, {"login_failed", "", "bob", "r3"},
	}
	for i, w := range want {
		g := got[i]
		if g["kind"] != w.kind || g["request_id"] != w.id || (w.user != "" && g["user"] != w.user) ||
			(w.account != "" && g["account"] != w.account) || g["client_ip"] != "192.0.2.7" {
			t.Errorf("record %d = %v, want %+v", i, g, w)
		}
	}
	if g := got[0]; g["granted"] == nil || g["asked"] == nil {
		t.Errorf("token_issued lacks its scopes: %v", g)
	}
}
