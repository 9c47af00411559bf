package auth

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/crypto/bcrypt"

	"github.com/portcullis/portcullis/internal/atomicfile"
)

// DefaultCost is the bcrypt cost SetPassword uses when given 0, as `htpasswd -B` does.
const DefaultCost = bcrypt.DefaultCost

// SetPassword adds user to the htpasswd file, or replaces its password, with a bcrypt hash
// of password; it backs `gateway passwd`. Other lines, comments included, are kept as they
// are. The file is created with mode 0600 when missing; an existing file keeps its mode.
// The new content is written to a temporary file in the same directory and renamed over
// the old one, so a reader (or the watcher) sees the old file or the new one, never half;
// when the path is a symlink, its target is replaced. Nothing is written unless the result
// loads as an htpasswd file and verifies the new password.
func SetPassword(file, user string, password []byte, cost int) error {
	if err := validUser(user); err != nil {
		return fmt.Errorf("setting password: %w", err)
	}
	if strings.Contains(user, ":") {
		return fmt.Errorf("setting password: user name %q contains a colon", user)
	}
	if len(password) == 0 {
		return errors.New("setting password: empty password")
	}
	if cost == 0 {
		cost = DefaultCost
	}
	if cost < bcrypt.MinCost || cost > bcrypt.MaxCost {
		return fmt.Errorf("setting password: bcrypt cost %d outside %d..%d", cost, bcrypt.MinCost, bcrypt.MaxCost)
	}
	hash, err := bcrypt.GenerateFromPassword(password, cost)
	if err != nil {
		return fmt.Errorf("setting password for %q: %w", user, err)
	}

	path, err := resolve(file)
	if err != nil {
		return err
	}
	old, mode, err := readExisting(path)
	if err != nil {
		return err
	}
	content := withEntry(old, user, string(hash))

	users, _, err := parseHtpasswd(content)
	if err != nil {
		return fmt.Errorf("htpasswd %q would not load after the change; fix it first: %w", path, err)
	}
	if e, ok := users[user]; !ok || !e.m.MatchesPassword(string(password)) {
		return fmt.Errorf("htpasswd %q: new entry for %q does not verify", path, user)
	}
	return atomicfile.WriteFile(path, content, mode)
}

// resolve follows a symlink so that the rename replaces the target, not the link.
func resolve(file string) (string, error) {
	real, err := filepath.EvalSymlinks(file)
	switch {
	case err == nil:
		return real, nil
	case errors.Is(err, fs.ErrNotExist):
		return file, nil
	default:
		return "", fmt.Errorf("resolving %q: %w", file, err)
	}
}

// readExisting returns the file's content and mode, or nothing and 0600 if it is missing.
func readExisting(path string) ([]byte, fs.FileMode, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, 0o600, nil
	}
	if err != nil {
		return nil, 0, fmt.Errorf("reading htpasswd %q: %w", path, err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		return nil, 0, fmt.Errorf("reading htpasswd %q: %w", path, err)
	}
	return data, fi.Mode().Perm(), nil
}

// withEntry replaces user's line in content (the first; later duplicates are dropped), or
// appends one, leaving every other line byte for byte as it was.
func withEntry(content []byte, user, hash string) []byte {
	entry := user + ":" + hash
	var out bytes.Buffer
	found := false
	for line := range bytes.Lines(content) {
		if lineUser(line) == user {
			if !found {
				out.WriteString(entry + "\n")
				found = true
			}
			continue
		}
		out.Write(line)
	}
	if !found {
		if out.Len() > 0 && !bytes.HasSuffix(out.Bytes(), []byte{'\n'}) {
			out.WriteByte('\n')
		}
		out.WriteString(entry + "\n")
	}
	return out.Bytes()
}

// lineUser is the user an htpasswd line names, read as parseHtpasswd reads it; "" for
// blank lines and comments.
func lineUser(line []byte) string {
	s := strings.TrimSpace(string(line))
	if s == "" || strings.HasPrefix(s, "#") {
		return ""
	}
	u, _, _ := strings.Cut(s, ":")
	return u
}
