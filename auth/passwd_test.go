package auth

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestSetPassword(t *testing.T) {
	t.Run("creates the file 0600", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "htpasswd")
		if err := SetPassword(path, "alice", []byte("s3cret"), 4); err != nil {
			t.Fatal(err)
		}
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != 0o600 {
			t.Errorf("mode = %v, want 0600", fi.Mode().Perm())
		}
		h, err := NewHtpasswd(path, HtpasswdOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if !h.Verify(t.Context(), "alice", "s3cret") || h.Verify(t.Context(), "alice", "wrong") {
			t.Fatal("the written entry does not verify as it should")
		}
	})

	t.Run("replaces, keeps other lines, comments and mode", func(t *testing.T) {
		bob := strings.TrimSuffix(bcryptLine(t, "bob", "b", 4), "\n")
		before := "# managed by hand\n" + bob + "\n\n" + bcryptLine(t, "alice", "old", 4) + "# trailing comment\n"
		path := writeFile(t, t.TempDir(), "htpasswd", before)
		if err := os.Chmod(path, 0o640); err != nil {
			t.Fatal(err)
		}
		if err := SetPassword(path, "alice", []byte("new"), 0); err != nil {
			t.Fatal(err)
		}
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(string(data), "\n")
		if len(lines) != 6 || lines[0] != "# managed by hand" || lines[1] != bob || lines[2] != "" ||
			!strings.HasPrefix(lines[3], "alice:$2a$10$") || lines[4] != "# trailing comment" {
			t.Fatalf("file after SetPassword:\n%s", data)
		}
		if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o640 {
			t.Errorf("mode = %v, want 0640 kept", fi.Mode().Perm())
		}
		h, err := NewHtpasswd(path, HtpasswdOptions{})
		if err != nil {
			t.Fatal(err)
		}
		ctx := t.Context()
		if !h.Verify(ctx, "alice", "new") || h.Verify(ctx, "alice", "old") || !h.Verify(ctx, "bob", "b") {
			t.Fatal("wrong users after SetPassword")
		}
	})

	t.Run("appends to a file without final newline", func(t *testing.T) {
		path := writeFile(t, t.TempDir(), "htpasswd", strings.TrimSuffix(bcryptLine(t, "bob", "b", 4), "\n"))
		if err := SetPassword(path, "alice", []byte("a"), 4); err != nil {
			t.Fatal(err)
		}
		h, err := NewHtpasswd(path, HtpasswdOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if h.users() != 2 {
			t.Fatalf("%d users, want 2", h.users())
		}
	})

	t.Run("writes through a symlink", func(t *testing.T) {
		dir := t.TempDir()
		real := writeFile(t, dir, "real", "")
		link := filepath.Join(dir, "link")
		mustSymlink(t, "real", link)
		if err := SetPassword(link, "alice", []byte("a"), 4); err != nil {
			t.Fatal(err)
		}
		if fi, err := os.Lstat(link); err != nil || fi.Mode()&os.ModeSymlink == 0 {
			t.Fatalf("the symlink was replaced: %v", err)
		}
		if data, _ := os.ReadFile(real); !strings.HasPrefix(string(data), "alice:") {
			t.Fatalf("target not updated: %q", data)
		}
	})

	t.Run("leaves no temporary files", func(t *testing.T) {
		dir := t.TempDir()
		path := filepath.Join(dir, "htpasswd")
		for _, u := range []string{"a", "b", "a"} {
			if err := SetPassword(path, u, []byte("x"), 4); err != nil {
				t.Fatal(err)
			}
		}
		entries, _ := os.ReadDir(dir)
		if len(entries) != 1 {
			t.Fatalf("directory holds %d entries, want only htpasswd", len(entries))
		}
	})
}

func TestSetPasswordRejects(t *testing.T) {
	dir := t.TempDir()
	broken := writeFile(t, dir, "broken", "not an htpasswd line\n")
	tests := []struct {
		name, file, user, pass string
		cost                   int
		want                   string
	}{
		{"empty user", "f", "", "x", 4, "empty user name"},
		{"colon in user", "f", "a:b", "x", 4, "colon"},
		{"newline in user", "f", "a\nb", "x", 4, "control character"},
		{"empty password", "f", "alice", "", 4, "empty password"},
		{"cost too low", "f", "alice", "x", 2, "cost"},
		{"cost too high", "f", "alice", "x", 40, "cost"},
		{"password over 72 bytes", "f", "alice", strings.Repeat("x", 73), 4, "72"},
		{"broken existing file", filepath.Base(broken), "alice", "x", 4, "fix it first"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(dir, tt.file)
			err := SetPassword(path, tt.user, []byte(tt.pass), tt.cost)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("SetPassword = %v, want an error containing %q", err, tt.want)
			}
		})
	}
	if _, err := os.Stat(filepath.Join(dir, "f")); !os.IsNotExist(err) {
		t.Error("a rejected SetPassword created the file")
	}
	if data, _ := os.ReadFile(broken); string(data) != "not an htpasswd line\n" {
		t.Error("a rejected SetPassword changed the file")
	}
}
