package auth

import (
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/portcullis/portcullis/internal/testenv"
)

// TestVerifyApacheHtpasswd verifies entries written by the real htpasswd from apache2-utils,
// in every encoding it offers that go-htpasswd reads.
func TestVerifyApacheHtpasswd(t *testing.T) {
	bin := testenv.NeedTool(t, "htpasswd")
	tests := []struct {
		name string
		flag string
	}{
		{"bcrypt", "-B"},
		{"bcrypt cost 5", "-BC5"},
		{"md5-crypt apr1", "-m"},
		{"sha1", "-s"},
		{"sha256-crypt", "-2"},
		{"sha512-crypt", "-5"},
	}
	var file strings.Builder
	for i, tt := range tests {
		out, err := exec.CommandContext(t.Context(), bin, "-nb"+strings.TrimPrefix(tt.flag, "-"),
			userN(i), "pass word:"+tt.name).Output()
		if err != nil {
			if strings.Contains(tt.flag, "2") || strings.Contains(tt.flag, "5") {
				t.Logf("htpasswd %s unsupported here: %v", tt.flag, err)
				continue
			}
			t.Fatalf("htpasswd %s: %v", tt.flag, err)
		}
		file.WriteString(strings.TrimSpace(string(out)) + "\n")
	}
	h, _ := newTestHtpasswd(t, file.String(), HtpasswdOptions{})
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, ok := h.file.Load().users[userN(i)]; !ok {
				t.Skip("not generated")
			}
			if !h.Verify(t.Context(), userN(i), "pass word:"+tt.name) {
				t.Error("right password rejected")
			}
			if h.Verify(t.Context(), userN(i), "pass word:"+tt.name+"x") {
				t.Error("wrong password accepted")
			}
		})
	}
}

// TestSetPasswordApacheVerifies: `htpasswd -vb` accepts what SetPassword wrote.
func TestSetPasswordApacheVerifies(t *testing.T) {
	bin := testenv.NeedTool(t, "htpasswd")
	path := filepath.Join(t.TempDir(), "htpasswd")
	users := map[string]string{"alice": "wonder land", "bob": "p:a:s:s", "carol": "ünïcödé"}
	for u, p := range users {
		if err := SetPassword(path, u, []byte(p), 5); err != nil {
			t.Fatal(err)
		}
	}
	for u, p := range users {
		t.Run(u, func(t *testing.T) {
			if out, err := exec.CommandContext(t.Context(), bin, "-vb", path, u, p).CombinedOutput(); err != nil {
				t.Fatalf("htpasswd -vb rejected the entry: %v\n%s", err, out)
			}
			if err := exec.CommandContext(t.Context(), bin, "-vb", path, u, p+"x").Run(); err == nil {
				t.Fatal("htpasswd -vb accepted a wrong password")
			}
		})
	}
	// And the reverse: htpasswd edits a file SetPassword wrote, and we still read it.
	if out, err := exec.CommandContext(t.Context(), bin, "-bB", path, "dave", "d").CombinedOutput(); err != nil {
		t.Fatalf("htpasswd -bB: %v\n%s", err, out)
	}
	h, err := NewHtpasswd(path, HtpasswdOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !h.Verify(t.Context(), "dave", "d") || !h.Verify(t.Context(), "alice", "wonder land") {
		t.Fatal("file edited by both tools does not verify")
	}
}

func userN(i int) string { return "user" + string(rune('a'+i)) }
