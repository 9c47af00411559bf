package auth

import (
	"errors"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	htpasswd "github.com/tg123/go-htpasswd"
)

func TestParseHtpasswd(t *testing.T) {
	good := bcryptLine(t, "alice", "pw", 4)
	tests := []struct {
		name      string
		content   string
		wantUsers int
		wantErr   string // substring; "" means success
	}{
		{"empty", "", 0, ""},
		{"comments and blanks", "# users\n\n   \n" + good, 1, ""},
		{"crlf", strings.ReplaceAll(good, "\n", "\r\n"), 1, ""},
		{"no trailing newline", strings.TrimSuffix(good, "\n"), 1, ""},
		{"sha", "bob:{SHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g=\n", 1, ""},
		{"apr1", "carol:$apr1$NqSFbSJQ$oxBPIYyvpaLvepe9pQu7y1\n", 1, ""},
		{"no colon", good + "bogus\n", 0, "line 2: no colon"},
		{"empty user", ":{SHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g=\n", 0, "empty user name"},
		{"duplicate", good + good, 0, `user "alice" appears more than once`},
		{"plain text refused", "dave:hunter2\n", 0, "unrecognised password hash"},
		{"des crypt refused", "erin:rl0uE4sGvkH2w\n", 0, "unrecognised password hash"},
		{"bad sha", "bob:{SHA}notbase64!\n", 0, "malformed password hash"},
		{"bad bcrypt", "bob:$2y$10$short\n", 0, "malformed bcrypt hash"},
		{"several bad lines all reported", "x\n" + good + "y\n", 0, "line 3"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			users, _, err := parseHtpasswd([]byte(tt.content))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("parseHtpasswd error = %v, want it to contain %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("parseHtpasswd: %v", err)
			}
			if len(users) != tt.wantUsers {
				t.Errorf("got %d users, want %d", len(users), tt.wantUsers)
			}
		})
	}
}

func TestParseHtpasswdErrorsHideHashes(t *testing.T) {
	const hash = "{SHA}notbase64!"
	_, _, err := parseHtpasswd([]byte("bob:" + hash + "\n"))
	if err == nil || strings.Contains(err.Error(), hash) {
		t.Fatalf("error %v must not quote the hash", err)
	}
}

func TestNewHtpasswdMissing(t *testing.T) {
	_, err := NewHtpasswd(filepath.Join(t.TempDir(), "nope"), HtpasswdOptions{})
	if !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("NewHtpasswd(missing) = %v, want ErrNotExist", err)
	}
}

func TestHtpasswdReload(t *testing.T) {
	h, path := newTestHtpasswd(t, bcryptLine(t, "alice", "one", 4), HtpasswdOptions{})
	ctx := t.Context()
	if !h.Verify(ctx, "alice", "one") {
		t.Fatal("alice/one does not verify")
	}

	t.Run("good file replaces users", func(t *testing.T) {
		writeFile(t, filepath.Dir(path), "htpasswd", bcryptLine(t, "alice", "two", 4)+bcryptLine(t, "bob", "b", 4))
		if err := h.Reload(t.Context()); err != nil {
			t.Fatal(err)
		}
		if h.Verify(ctx, "alice", "one") || !h.Verify(ctx, "alice", "two") || !h.Verify(ctx, "bob", "b") {
			t.Fatal("reload did not replace the users")
		}
	})

	t.Run("broken file keeps last good", func(t *testing.T) {
		writeFile(t, filepath.Dir(path), "htpasswd", bcryptLine(t, "alice", "three", 4)+"garbage line\n")
		if err := h.Reload(t.Context()); err == nil || !strings.Contains(err.Error(), "line 2") {
			t.Fatalf("Reload(broken) = %v, want an error naming line 2", err)
		}
		if !h.Verify(ctx, "alice", "two") || !h.Verify(ctx, "bob", "b") || h.Verify(ctx, "alice", "three") {
			t.Fatal("a broken file changed the users")
		}
	})

	t.Run("missing file keeps last good", func(t *testing.T) {
		if err := os.Remove(path); err != nil {
			t.Fatal(err)
		}
		if err := h.Reload(t.Context()); !errors.Is(err, fs.ErrNotExist) {
			t.Fatalf("Reload(missing) = %v, want ErrNotExist", err)
		}
		if !h.Verify(ctx, "alice", "two") {
			t.Fatal("a missing file dropped the users")
		}
	})
}

// TestEqualWorkEveryKind: a verification that is not answered from the cache compares the
// password once against every kind of hash in the file, whoever is named: a known user of
// each kind, with a wrong password or the right one, and an unknown user. So an attacker
// timing answers learns nothing of who exists or what kind their hash is (issue 12: a
// wrong password for a known {SHA} user answered in 0.2 ms, an unknown user in 59 ms).
// Comparisons are counted per kind, not timed.
func TestEqualWorkEveryKind(t *testing.T) {
	const sha = "{SHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g=" // "password"
	const apr1 = "$apr1$NqSFbSJQ$oxBPIYyvpaLvepe9pQu7y1"
	files := map[string]string{
		"empty file":          "",
		"bcrypt only":         bcryptLine(t, "a", "x", 4) + bcryptLine(t, "b", "y", 4),
		"bcrypt costs":        bcryptLine(t, "a", "x", 4) + bcryptLine(t, "b", "y", 5) + bcryptLine(t, "c", "z", 5),
		"bcrypt and {SHA}":    bcryptLine(t, "a", "x", 4) + "s1:" + sha + "\n" + "s2:" + sha + "\n",
		"{SHA}, apr1, bcrypt": "s1:" + sha + "\nm:" + apr1 + "\n" + bcryptLine(t, "a", "x", 4),
	}
	for name, content := range files {
		t.Run(name, func(t *testing.T) {
			h, _ := newTestHtpasswd(t, content, HtpasswdOptions{AllowEmpty: true, CacheSize: -1})
			tab := h.file.Load()
			var mu sync.Mutex
			perKind := map[string]int{}
			orig := h.match
			h.match = func(m htpasswd.EncodedPasswd, pass, kind string, dummy bool) bool {
				mu.Lock()
				perKind[kind]++
				mu.Unlock()
				return orig(m, pass, kind, dummy)
			}
			want := map[string]int{}
			for _, k := range tab.kinds {
				want[k.name] = 1
			}
			attempts := map[string]string{"nobody": "x", "nobody else": "password"}
			for user := range tab.users {
				attempts[user] = "wrong"
			}
			attempts["s1"] = "password" // right, for the files that have s1
			for user, pass := range attempts {
				clear(perKind)
				h.Verify(t.Context(), user, pass)
				if !maps.Equal(perKind, want) {
					t.Errorf("%s/%s: comparisons per kind %v, want %v", user, pass, perKind, want)
				}
			}
			if h.Verify(t.Context(), "nobody", "x") || h.Verify(t.Context(), "nobody", "password") {
				t.Fatal("an unknown user verified")
			}
		})
	}
}

func TestHashKind(t *testing.T) {
	tests := []struct{ hash, want string }{
		{"{SHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g=", "{SHA}"},
		{"{SSHA}abc", "{SSHA}"},
		{"$apr1$NqSFbSJQ$oxBPIYyvpaLvepe9pQu7y1", "$apr1$"},
		{"$1$salt$hash", "$1$"},
		{"$5$salt$hash", "$5$"},
		{"$6$rounds=9999$salt$hash", "$6$rounds=9999$"},
	}
	for _, tt := range tests {
		if got := hashKind(tt.hash); got != tt.want {
			t.Errorf("hashKind(%q) = %q, want %q", tt.hash, got, tt.want)
		}
	}
}
