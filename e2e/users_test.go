package e2e

import (
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"
)

// Test users. alice is in group admins, which the default policy lets do everything; bob
// is an ordinary user, who may pull everything and push only under bob/.
const (
	adminUser = "alice"
	adminPass = "alice-secret-1"
	plainUser = "bob"
	plainPass = "bob-secret-2"
)

// authFlags writes an htpasswd file with alice and bob and a groups file making alice an
// admin, and returns the gateway flags that use them.
func authFlags(t *testing.T) []string {
	t.Helper()
	dir := t.TempDir()
	htpasswd := filepath.Join(dir, "htpasswd")
	groups := filepath.Join(dir, "groups.yaml")
	writeHtpasswd(t, htpasswd, map[string]string{adminUser: adminPass, plainUser: plainPass})
	if err := os.WriteFile(groups, fmt.Appendf(nil, "admins: [%s]\n", adminUser), 0o600); err != nil {
		t.Fatal(err)
	}
	return []string{"--htpasswd", htpasswd, "--groups", groups}
}

// writeHtpasswd writes bcrypt entries (cost 5, as `htpasswd -B` makes them).
func writeHtpasswd(t *testing.T, file string, users map[string]string) {
	t.Helper()
	var b strings.Builder
	for _, u := range slices.Sorted(maps.Keys(users)) {
		h, err := bcrypt.GenerateFromPassword([]byte(users[u]), 5)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&b, "%s:%s\n", u, h)
	}
	if err := os.WriteFile(file, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
}
