package e2e

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestEmptyUsersFile truncates the running binary's htpasswd to 0 bytes, as an editor or a
// failed copy does (issue 12 fault 5): the gateway keeps the last good users and says so
// (internal/reload logs it at ERROR), then takes a good rewrite; SIGHUP on an empty file keeps them too. A gateway
// does not start on an empty file, `gateway check` reports one, and empty_htpasswd: allow
// accepts one.
func TestEmptyUsersFile(t *testing.T) {
	t.Parallel()
	flags := authFlags(t)
	htpasswd := flags[1] // authFlags: --htpasswd FILE --groups FILE
	good, err := os.ReadFile(htpasswd)
	if err != nil {
		t.Fatal(err)
	}
	g := startGateway(t, t.TempDir(), flags...)
	base := g.URL + "/v2/"

	from := len(g.Log())
	if err := os.Truncate(htpasswd, 0); err != nil { // in place, as an editor truncates
		t.Fatal(err)
	}
	line, _ := reloadWaitLog(t, g, from, logKeptLastGood, "component=htpasswd")
	if !(strings.Contains(line, "level=WARN") || strings.Contains(line, "level=ERROR")) || !strings.Contains(line, "no users") {
		t.Errorf("empty file logged as %s; want a warning (or worse) saying it has no users", line)
	}
	for _, u := range [][2]string{{adminUser, adminPass}, {plainUser, plainPass}} {
		if got := status(t, g.Client, base, u[0], u[1]); got != http.StatusOK {
			t.Errorf("GET /v2/ as %s after the file was emptied: %d, want 200 (last good users)", u[0], got)
		}
	}
	from = len(g.Log())
	reloadHangup(t, g)
	reloadWaitLog(t, g, from, logKeptLastGood, "what=htpasswd")
	if got := status(t, g.Client, base, adminUser, adminPass); got != http.StatusOK {
		t.Errorf("GET /v2/ after SIGHUP on an empty file: %d, want 200", got)
	}
	// The good content written back (twice within the debounce: the second wins).
	if err := os.WriteFile(htpasswd, []byte("# being edited\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	reloadReplace(t, htpasswd, good[:strings.IndexByte(string(good), '\n')+1]) // alice only
	reloadWaitStatus(t, g, base, plainUser, plainPass, http.StatusUnauthorized)
	if got := status(t, g.Client, base, adminUser, adminPass); got != http.StatusOK {
		t.Errorf("GET /v2/ as %s after the rewrite: %d, want 200", adminUser, got)
	}

	// At start and in check: refused unless allowed.
	empty := filepath.Join(t.TempDir(), "htpasswd")
	if err := os.WriteFile(empty, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	stdout, stderr, err := tryCmd(t, "", gatewayBin, "check", "--htpasswd", empty, "--data", t.TempDir())
	if err == nil || !strings.Contains(stderr, "no users") {
		t.Errorf("gateway check on an empty htpasswd: err %v, stdout %q, stderr %q; want exit 1 naming it", err, stdout, stderr)
	}
	runCmd(t, "", gatewayBin, "check", "--htpasswd", empty, "--empty-htpasswd", "allow", "--data", t.TempDir())
	_, stderr, err = tryCmd(t, "", gatewayBin, "serve", "--listen", freeAddr(t), "--htpasswd", empty, "--data", t.TempDir())
	if err == nil || !strings.Contains(stderr, "no users") {
		t.Errorf("serve on an empty htpasswd: err %v, stderr %q; want a refusal to start", err, tail(stderr, 5))
	}
}
