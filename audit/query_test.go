package audit

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

func TestQuery(t *testing.T) {
	tr, cfg := newTrail(t)
	at := func(h int) time.Time { return time.Date(2026, 11, 30, h, 0, 0, 0, time.UTC) }
	events := []Event{
		{Time: at(1), Kind: KindPull, User: "alice", Repository: "prod/api", Actions: []string{"pull"}, Reference: "v1", Status: 200},
		{Time: at(2), Kind: KindPush, User: "bob", Repository: "prod/api", Actions: []string{"pull", "push"}, Reference: "v2", Digest: "sha256:aa", Status: 201},
		{Time: at(3), Kind: KindDenied, User: "carol", Repository: "prod/db", Actions: []string{"pull"}, Decision: DecisionDenied, Status: 403, Reason: "denied: repository:prod/db:pull"},
		{Time: at(4), Kind: KindLoginFailed, Account: "mallory\x1b[2J", Auth: "basic", Status: 401},
		{Time: at(5), Kind: KindPull, User: "alice", Repository: "dev/api", Actions: []string{"pull"}, Status: 200},
	}
	for _, ev := range events {
		if err := tr.Emit(t.Context(), ev); err != nil {
			t.Fatal(err)
		}
	}
	tr.Close(t.Context())
	tests := []struct {
		name string
		f    Filter
		want []Kind
	}{
		{"all", Filter{}, []Kind{KindPull, KindPush, KindDenied, KindLoginFailed, KindPull}},
		{"user", Filter{User: "alice"}, []Kind{KindPull, KindPull}},
		{"claimed account", Filter{User: "mallory\x1b[2J"}, []Kind{KindLoginFailed}},
		{"repo exact", Filter{Repo: "prod/api"}, []Kind{KindPull, KindPush}},
		{"repo glob", Filter{Repo: "prod/*"}, []Kind{KindPull, KindPush, KindDenied}},
		{"namespace", Filter{Repo: "prod/"}, []Kind{KindPull, KindPush, KindDenied}},
		{"action kind", Filter{Action: "push"}, []Kind{KindPush}},
		{"action needed", Filter{Action: "pull"}, []Kind{KindPull, KindPush, KindDenied, KindPull}},
		{"since", Filter{Since: at(3)}, []Kind{KindDenied, KindLoginFailed, KindPull}},
		{"denied", Filter{Denied: true}, []Kind{KindDenied}},
		{"who pulled prod/api", Filter{Repo: "prod/api", Action: "pull", User: "alice"}, []Kind{KindPull}},
		{"checkpoints", Filter{Action: "checkpoint"}, []Kind{KindCheckpoint, KindCheckpoint}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []Kind
			err := Query([]string{cfg.File}, tt.f, func(l Line, _ []byte) error { got = append(got, l.Kind); return nil })
			if err != nil {
				t.Fatal(err)
			}
			if strings.Join(kinds(got), ",") != strings.Join(kinds(tt.want), ",") {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
	var out bytes.Buffer
	tab := NewTable(&out)
	_ = Query([]string{cfg.File}, Filter{}, func(l Line, _ []byte) error { tab.Add(l); return nil })
	tab.Close()
	t.Logf("\n%s", out.String())
	if strings.ContainsRune(out.String(), 0x1b) {
		t.Error("the table passes an escape character through")
	}
	if lines := strings.Count(out.String(), "\n"); lines != 6 {
		t.Errorf("table has %d lines, want a header and 5 rows", lines)
	}
	if !strings.Contains(out.String(), "v2 -> sha256:aa") {
		t.Error("the push row does not show the tag and the digest it points to")
	}
}

func kinds(ks []Kind) []string {
	out := make([]string, len(ks))
	for i, k := range ks {
		out[i] = string(k)
	}
	return out
}
