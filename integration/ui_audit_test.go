package integration

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/portcullis/portcullis/audit"
	"github.com/portcullis/portcullis/ui"
)

// TestUIAudit reads an audit trail through the audit view: only for admins (the scoped
// policy grants them everything, ui:audit:read included), newest first, filtered, with the
// chain's verification, which notices an edited line.
func TestUIAudit(t *testing.T) {
	s := newStack(t, mustLoad(t, scopedPolicy), nil)
	dir := t.TempDir()
	log := filepath.Join(dir, "audit.log")
	tr, err := audit.New(audit.Config{File: log, Dir: filepath.Join(dir, "audit"), Logger: testLogger()})
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	events := []audit.Event{
		{Time: t0, Kind: audit.KindPush, User: "alice", Auth: "basic", Repository: "alice/app", Reference: "v1", Status: 201, Decision: audit.DecisionAllowed},
		{Time: t0.Add(time.Minute), Kind: audit.KindDenied, User: "bob", Auth: "basic", Repository: "zeta/hidden", Status: 403, Decision: audit.DecisionDenied},
		{Time: t0.Add(2 * time.Minute), Kind: audit.KindPull, User: "alice", Auth: "basic", Repository: "<script>alert(1)</script>", Status: 200, Decision: audit.DecisionAllowed},
	}
	for _, ev := range events {
		if err := tr.Emit(t.Context(), ev); err != nil {
			t.Fatal(err)
		}
	}
	if err := tr.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	u := newUI(t, s, func(c *ui.Config) {
		c.Audit = &ui.AuditSource{Files: func() []string { return []string{log} }, PublicKeyFile: filepath.Join(dir, "audit", audit.PublicKeyFile)}
	})

	a := u.browser(t)
	a.login(reader) // alice: no audit
	if p := a.get("/ui/repos"); byID(p.Doc, "nav-audit") != nil {
		t.Error("alice sees the audit link")
	}
	if p := a.get("/ui/audit"); p.Status != http.StatusNotFound {
		t.Errorf("alice: /ui/audit %d, want 404", p.Status)
	}

	b := u.browser(t)
	b.login(admin)
	if p := b.get("/ui/repos"); byID(p.Doc, "nav-audit") == nil {
		t.Error("no audit link for an admin")
	}
	p := b.get("/ui/audit")
	if p.Status != http.StatusOK {
		t.Fatalf("admin: /ui/audit %d", p.Status)
	}
	var users []string
	rows := byClass(byID(p.Doc, "audit"), "tr", "record")
	for _, r := range rows {
		users = append(users, cell(r, "user")+" "+cell(r, "action")+" "+cell(r, "repository"))
	}
	want := []string{"alice pull <script>alert(1)</script>", "bob denied zeta/hidden", "alice push alice/app"}
	if strings.Join(users, "|") != strings.Join(want, "|") {
		t.Errorf("records %q, want %q", users, want)
	}
	if strings.Contains(p.Body, "<script>alert") {
		t.Error("a recorded name reached the page as markup")
	}
	if got := text(byID(p.Doc, "chain-status")); !strings.HasPrefix(got, "chain verified: ") {
		t.Errorf("chain status %q", got)
	}
	for q, n := range map[string]int{"?user=alice": 2, "?denied=1": 1, "?repository=alice/": 1, "?action=push": 1,
		"?since=2026-11-30T12:01": 2, "?until=2026-11-30T12:00:30Z": 1} {
		if got := len(byClass(byID(b.get("/ui/audit"+q).Doc, "audit"), "tr", "record")); got != n {
			t.Errorf("%s: %d records, want %d", q, got, n)
		}
	}

	// An edited line breaks the chain, and the page says so.
	raw, err := os.ReadFile(log)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(log, []byte(strings.Replace(string(raw), `"bob"`, `"eve"`, 1)), 0o600); err != nil {
		t.Fatal(err)
	}
	if got := text(byID(b.get("/ui/audit").Doc, "chain-status")); !strings.HasPrefix(got, "chain broken") {
		t.Errorf("after an edit: %q", got)
	}
}
