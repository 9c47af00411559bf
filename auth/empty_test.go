package auth

import (
	"errors"
	"testing"
)

// TestEmptyHtpasswd: a users file without users (0 bytes, blank lines, comments only) is
// refused like a malformed one, at load and at reload (the last good users stay), unless
// AllowEmpty (issue 12 fault 5).
func TestEmptyHtpasswd(t *testing.T) {
	good := bcryptLine(t, "alice", "a", 4)
	for name, content := range map[string]string{
		"zero bytes":    "",
		"blank lines":   "\n  \n\r\n",
		"comments only": "# users go here\n#alice:x\n",
	} {
		t.Run(name, func(t *testing.T) {
			path := writeFile(t, t.TempDir(), "htpasswd", content)
			if _, err := NewHtpasswd(path, HtpasswdOptions{}); !errors.Is(err, ErrNoUsers) {
				t.Errorf("NewHtpasswd = %v, want ErrNoUsers", err)
			}
			h, err := NewHtpasswd(path, HtpasswdOptions{AllowEmpty: true})
			if err != nil || h.users() != 0 {
				t.Errorf("allowed: NewHtpasswd = %v with %d users", err, h.users())
			}

			h, path = newTestHtpasswd(t, good, HtpasswdOptions{})
			replaceFile(t, path, content)
			if err := h.Reload(t.Context()); !errors.Is(err, ErrNoUsers) {
				t.Errorf("Reload = %v, want ErrNoUsers", err)
			}
			if !h.Verify(t.Context(), "alice", "a") {
				t.Error("an empty file dropped the last good users")
			}
			h, path = newTestHtpasswd(t, good, HtpasswdOptions{AllowEmpty: true})
			replaceFile(t, path, content)
			if err := h.Reload(t.Context()); err != nil || h.users() != 0 {
				t.Errorf("allowed: Reload = %v with %d users, want none", err, h.users())
			}
		})
	}
}
