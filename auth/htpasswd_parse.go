package auth

import (
	"bytes"
	"errors"
	"fmt"
	"strings"

	htpasswd "github.com/tg123/go-htpasswd"
	"golang.org/x/crypto/bcrypt"
)

// hashSystems are the htpasswd encodings accepted, as apache2-utils writes them: bcrypt (-B),
// SHA-1 (-s), MD5-crypt (-m, the default), SHA-256/512-crypt (-2/-5) and SSHA. Plain text is
// deliberately left out: go-htpasswd's AcceptPlain claims every line, so a typo in a hash, or
// a DES crypt() hash it cannot read, would silently become a plain-text password equal to
// the hash string.
var hashSystems = []htpasswd.PasswdParser{
	htpasswd.AcceptBcrypt,
	htpasswd.AcceptSha,
	htpasswd.AcceptMd5,
	htpasswd.AcceptSsha,
	htpasswd.AcceptCryptSha,
}

// dummyHash is a bcrypt (cost 10) hash of a random password nobody knows, compared when a
// file has no users to borrow a dummy from (see userTable.kinds). Its result is ignored.
const dummyHash = "$2y$10$kforwy3VjVlUgcKVkA40jOpOKyHVO.d3qMzQFneycuNjVLoXnIXlu"

// userEntry is one user's encoded password and the index of its kind in userTable.kinds.
type userEntry struct {
	m    htpasswd.EncodedPasswd
	kind int
}

// hashKindEntry is one kind of hash the file holds (kind: bcrypt at a given cost, SHA-1,
// apr1, SHA-crypt with its rounds...), with the entry of its first user as the kind's
// representative.
type hashKindEntry struct {
	name string
	user string
	m    htpasswd.EncodedPasswd
}

// userTable is one complete, parsed generation of the htpasswd file; it is never mutated
// after it is published.
type userTable struct {
	gen   uint64
	users map[string]userEntry
	// kinds holds one representative per kind of hash in the file, in order of first
	// appearance (the constant dummyHash when the file has no users). Every password
	// verification compares once against each kind, the user's own entry standing for its
	// kind and the representatives (results ignored) for the others; an unknown user
	// compares against every representative. So a verification costs the same whoever is
	// named, known or not, on every kind of hash (issue 12: with a bcrypt dummy, a wrong
	// password for a {SHA} user answered in 0.2 ms and an unknown user in 59 ms;
	// distribution compares a dummy bcrypt hash for the same reason, on bcrypt-only files).
	kinds []hashKindEntry
}

// parseHtpasswd reads an htpasswd file: "user:hash" lines, blank lines and "#" comments.
// Every bad line is an error (all are reported, by line number and user, never with the
// hash), as is a user named twice. It returns the users and one representative per kind.
func parseHtpasswd(data []byte) (users map[string]userEntry, kinds []hashKindEntry, err error) {
	users = make(map[string]userEntry)
	index := make(map[string]int) // kind -> position in kinds
	var errs []error
	for i, raw := range bytes.Split(data, []byte{'\n'}) {
		n := i + 1
		line := strings.TrimSpace(string(raw))
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		user, hash, ok := strings.Cut(line, ":")
		if !ok {
			errs = append(errs, fmt.Errorf("line %d: no colon between user and hash", n))
			continue
		}
		if err := validUser(user); err != nil {
			errs = append(errs, fmt.Errorf("line %d: %w", n, err))
			continue
		}
		if _, dup := users[user]; dup {
			errs = append(errs, fmt.Errorf("line %d: user %q appears more than once", n, user))
			continue
		}
		m, kind, err := parseHash(hash)
		if err != nil {
			errs = append(errs, fmt.Errorf("line %d (user %q): %w", n, user, err))
			continue
		}
		k, seen := index[kind]
		if !seen {
			k = len(kinds)
			index[kind] = k
			kinds = append(kinds, hashKindEntry{name: kind, user: user, m: m})
		}
		users[user] = userEntry{m: m, kind: k}
	}
	if len(errs) > 0 {
		return nil, nil, errors.Join(errs...)
	}
	if len(kinds) == 0 {
		kinds = []hashKindEntry{{name: "bcrypt cost 10", m: fallbackDummy}}
	}
	return users, kinds, nil
}

// parseHash recognises one encoded password and names its kind: what its verification
// costs (bcrypt and its cost, or the scheme and its rounds). Errors never quote the hash:
// go-htpasswd's own messages do, so they are not passed on.
func parseHash(hash string) (htpasswd.EncodedPasswd, string, error) {
	for _, p := range hashSystems {
		m, err := p(hash)
		if err != nil {
			return nil, "", errors.New("malformed password hash")
		}
		if m == nil {
			continue
		}
		if !strings.HasPrefix(hash, "$2") {
			return m, hashKind(hash), nil
		}
		// go-htpasswd accepts any "$2y$" string; a malformed one would never match, so
		// say so at load time instead.
		cost, err := bcrypt.Cost([]byte(hash))
		if err != nil {
			return nil, "", errors.New("malformed bcrypt hash")
		}
		return m, fmt.Sprintf("bcrypt cost %d", cost), nil
	}
	return nil, "", errors.New("unrecognised password hash (use bcrypt: htpasswd -B)")
}

// hashKind is the scheme prefix of a non-bcrypt hash ("{SHA}", "$apr1$"), with the
// rounds parameter of SHA-crypt ("$5$rounds=N$"), which sets its cost.
func hashKind(hash string) string {
	if strings.HasPrefix(hash, "{") {
		kind, _, _ := strings.Cut(hash, "}")
		return kind + "}"
	}
	parts := strings.SplitN(hash, "$", 4) // "", scheme, rounds or salt, rest
	if len(parts) < 3 {
		return hash
	}
	kind := "$" + parts[1] + "$"
	if strings.HasPrefix(parts[2], "rounds=") {
		kind += parts[2] + "$"
	}
	return kind
}

// validUser rejects names an htpasswd line cannot hold or that would make the cache key
// ambiguous (NUL separates user from password there).
func validUser(user string) error {
	if user == "" {
		return errors.New("empty user name")
	}
	for _, c := range user {
		if c < 0x20 || c == 0x7f {
			return fmt.Errorf("user name %q contains a control character", user)
		}
	}
	return nil
}

// fallbackDummy is the matcher for dummyHash.
var fallbackDummy = func() htpasswd.EncodedPasswd {
	m, err := htpasswd.AcceptBcrypt(dummyHash)
	if err != nil || m == nil {
		panic("auth: dummyHash is not accepted as bcrypt") // a constant: caught by any test
	}
	return m
}()
