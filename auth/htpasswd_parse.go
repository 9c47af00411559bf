package auth

import (
	"bytes"
	"crypto/rand"
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

// dummyHash is a bcrypt (cost 10) hash of a random password nobody knows. Unknown users are
// compared against it so they cost the same time as known ones (distribution does the same).
// Its result is always ignored.
const dummyHash = "$2y$10$kforwy3VjVlUgcKVkA40jOpOKyHVO.d3qMzQFneycuNjVLoXnIXlu"

// dummyCost is the cost of dummyHash.
const dummyCost = 10

// userTable is one complete, parsed generation of the htpasswd file; it is never mutated
// after it is published.
type userTable struct {
	gen   uint64
	users map[string]htpasswd.EncodedPasswd
	// dummy is compared when the user is unknown; its bcrypt cost is the one most users have.
	dummy     htpasswd.EncodedPasswd
	dummyHash []byte
}

// parseHtpasswd reads an htpasswd file: "user:hash" lines, blank lines and "#" comments.
// Every bad line is an error (all are reported, by line number and user, never with the
// hash), as is a user named twice. It returns the users and the most common bcrypt cost.
func parseHtpasswd(data []byte) (map[string]htpasswd.EncodedPasswd, int, error) {
	users := make(map[string]htpasswd.EncodedPasswd)
	costs := make(map[int]int)
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
		m, cost, err := parseHash(hash)
		if err != nil {
			errs = append(errs, fmt.Errorf("line %d (user %q): %w", n, user, err))
			continue
		}
		if cost > 0 {
			costs[cost]++
		}
		users[user] = m
	}
	if len(errs) > 0 {
		return nil, 0, errors.Join(errs...)
	}
	return users, commonCost(costs), nil
}

// parseHash recognises one encoded password; cost is its bcrypt cost, or 0 for other kinds.
// Errors never quote the hash: go-htpasswd's own messages do, so they are not passed on.
func parseHash(hash string) (htpasswd.EncodedPasswd, int, error) {
	for _, p := range hashSystems {
		m, err := p(hash)
		if err != nil {
			return nil, 0, errors.New("malformed password hash")
		}
		if m == nil {
			continue
		}
		if !strings.HasPrefix(hash, "$2") {
			return m, 0, nil
		}
		// go-htpasswd accepts any "$2y$" string; a malformed one would never match, so
		// say so at load time instead.
		cost, err := bcrypt.Cost([]byte(hash))
		if err != nil {
			return nil, 0, errors.New("malformed bcrypt hash")
		}
		return m, cost, nil
	}
	return nil, 0, errors.New("unrecognised password hash (use bcrypt: htpasswd -B)")
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

// commonCost is the most common bcrypt cost (the higher one on a tie), or dummyCost when
// there is no bcrypt entry.
func commonCost(costs map[int]int) int {
	best, bestN := dummyCost, 0
	for c, n := range costs {
		if n > bestN || (n == bestN && c > best) {
			best, bestN = c, n
		}
	}
	return best
}

// newDummy returns a bcrypt hash of a random password at the given cost, reusing dummyHash
// when the cost is its own, and its matcher.
func newDummy(cost int) (htpasswd.EncodedPasswd, []byte, error) {
	hash := []byte(dummyHash)
	if cost != dummyCost {
		var err error
		hash, err = bcrypt.GenerateFromPassword([]byte(rand.Text()), cost)
		if err != nil {
			return nil, nil, fmt.Errorf("generating dummy bcrypt hash at cost %d: %w", cost, err)
		}
	}
	m, err := htpasswd.AcceptBcrypt(string(hash))
	if err != nil || m == nil {
		return nil, nil, fmt.Errorf("dummy bcrypt hash not accepted: %w", err)
	}
	return m, hash, nil
}
