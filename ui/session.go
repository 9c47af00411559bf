package ui

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/portcullis/portcullis/access"
)

// Cookie names (the contract with the browser test, /work/notes/ui-contract.md).
const (
	sessionCookie = "portcullis_session"
	csrfCookie    = "portcullis_csrf" // the pre-session double-submit cookie of the login form
	cookiePath    = "/ui/"
)

// keySize is the length of the session key, in bytes.
const keySize = 32

// maxCookie bounds a session cookie's value: browsers keep 4096 bytes per cookie, name and
// attributes included.
const maxCookie = 3800

// session is what the session cookie carries, signed: who signed in and until when. It
// never holds a password or a token.
type session struct {
	V       int            `json:"v"`
	ID      string         `json:"sid"` // random, 128 bits, hex: what sign-out revokes
	User    string         `json:"user"`
	Groups  []string       `json:"groups"`
	Method  string         `json:"method"`
	Claims  map[string]any `json:"claims,omitempty"`
	Expires int64          `json:"exp"` // Unix seconds
}

const sessionVersion = 1

// session is a jwt.Claims, so that golang-jwt signs and reads it; open checks its expiry.
func (s session) GetExpirationTime() (*jwt.NumericDate, error) {
	return jwt.NewNumericDate(time.Unix(s.Expires, 0)), nil
}
func (s session) GetIssuedAt() (*jwt.NumericDate, error)  { return nil, nil }
func (s session) GetNotBefore() (*jwt.NumericDate, error) { return nil, nil }
func (s session) GetIssuer() (string, error)              { return "", nil }
func (s session) GetSubject() (string, error)             { return s.User, nil }
func (s session) GetAudience() (jwt.ClaimStrings, error)  { return nil, nil }

func (s session) principal() access.Principal {
	g := s.Groups
	if g == nil {
		g = []string{}
	}
	return access.Principal{Name: s.User, Groups: g, Method: s.Method, Claims: s.Claims}
}

// sealer signs and checks session cookies with one HMAC-SHA256 key, and remembers the
// sessions signed out before they expired.
type sealer struct {
	key     []byte
	revoked *revocations
}

// errSession is every reason a cookie is not a session; the user is simply signed out.
var errSession = errors.New("not a valid session")

var b64 = base64.RawURLEncoding.Strict()

// seal returns the cookie value of s: a JWT (HS256, golang-jwt) of its fields.
func (k *sealer) seal(s session) (string, error) {
	v, err := jwt.NewWithClaims(jwt.SigningMethodHS256, s).SignedString(k.key)
	if err != nil {
		return "", err
	}
	if len(v) > maxCookie {
		return "", errors.New("the identity is too large for a session cookie")
	}
	return v, nil
}

func (k *sealer) mac(purpose string, b []byte) []byte {
	m := hmac.New(sha256.New, k.key)
	m.Write([]byte(purpose))
	m.Write([]byte{0})
	m.Write(b)
	return m.Sum(nil)
}

// sessionParser checks what seal writes: HS256 only, segments in strict base64. The
// session's own fields (version, user, id, expiry) are checked by open.
var sessionParser = jwt.NewParser(jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}),
	jwt.WithStrictDecoding(), jwt.WithoutClaimsValidation())

// open checks a cookie value and returns its session: signed by this key, not expired at
// now, not revoked. Anything else is errSession.
func (k *sealer) open(v string, now time.Time) (session, error) {
	// Only the characters seal writes: encoding/base64 skips '\r' and '\n' even when
	// Strict, so without this check more than one value would open (found by
	// FuzzOpenSession).
	if len(v) > maxCookie || strings.IndexFunc(v, notCookieChar) >= 0 {
		return session{}, errSession
	}
	var s session
	if _, err := sessionParser.ParseWithClaims(v, &s, func(*jwt.Token) (any, error) { return k.key, nil }); err != nil {
		return session{}, errSession
	}
	if s.V != sessionVersion || s.User == "" || !validID(s.ID) || now.Unix() >= s.Expires {
		return session{}, errSession
	}
	if k.revoked.has(s.ID) {
		return session{}, errSession
	}
	return s, nil
}

// notCookieChar reports a character seal never writes: base64url and the dots only.
func notCookieChar(c rune) bool {
	return !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.')
}

// csrfToken is the form token bound to a session: HMAC of its id, so a token taken from
// one session is worth nothing in another, and sign-out ends it with the session.
func (k *sealer) csrfToken(s session) string {
	return b64.EncodeToString(k.mac("csrf", []byte(s.ID)))
}

func (k *sealer) checkCSRF(s session, token string) bool {
	got, err := b64.DecodeString(token)
	return err == nil && hmac.Equal(got, k.mac("csrf", []byte(s.ID)))
}

// newID returns 128 random bits in hex.
func newID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // never fails (crypto/rand)
	return hex.EncodeToString(b[:])
}

func validID(s string) bool {
	if len(s) != 32 {
		return false
	}
	_, err := hex.DecodeString(s)
	return err == nil && strings.ToLower(s) == s
}

// loadKey reads the session key from file, creating it (0600, in a 0700 directory) with
// a random key when it does not exist, so sessions survive a restart. Several replicas
// sharing the data directory share the key.
func loadKey(file string) ([]byte, error) {
	b, err := os.ReadFile(file)
	switch {
	case err == nil:
	case errors.Is(err, fs.ErrNotExist):
		return createKey(file)
	default:
		return nil, fmt.Errorf("reading the session key: %w", err)
	}
	key, err := hex.DecodeString(strings.TrimSpace(string(b)))
	if err != nil || len(key) < keySize {
		return nil, fmt.Errorf("session key %s: want %d random bytes in hex; remove the file to have a new one made (signs everyone out)", file, keySize)
	}
	return key, nil
}

func createKey(file string) ([]byte, error) {
	if err := os.MkdirAll(filepath.Dir(file), 0o700); err != nil {
		return nil, fmt.Errorf("creating the session key's directory: %w", err)
	}
	key := make([]byte, keySize)
	_, _ = rand.Read(key)
	f, err := os.OpenFile(file, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) { // another replica made it first
		return loadKey(file)
	}
	if err != nil {
		return nil, fmt.Errorf("creating the session key: %w", err)
	}
	_, err = f.WriteString(hex.EncodeToString(key) + "\n")
	if err = errors.Join(err, f.Sync(), f.Close()); err != nil {
		_ = os.Remove(file)
		return nil, fmt.Errorf("writing the session key: %w", err)
	}
	return key, nil
}

// revocations are the ids of sessions signed out before they expired, each kept until
// its session would have expired. The set is bounded (max): when it is full of live
// sessions, the one closest to expiring is forgotten first. It lives in memory: a
// restart forgets it, so a signed-out cookie copied before a restart works again until
// it expires (the session TTL bounds that).
type revocations struct {
	mu  sync.Mutex
	ids map[string]int64 // id -> expiry, Unix seconds
	max int
	now func() time.Time
}

func newRevocations(max int, now func() time.Time) *revocations {
	return &revocations{ids: map[string]int64{}, max: max, now: now}
}

func (r *revocations) add(id string, expires int64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.ids) >= r.max {
		now := r.now().Unix()
		for k, exp := range r.ids {
			if exp <= now {
				delete(r.ids, k)
			}
		}
	}
	if len(r.ids) >= r.max {
		var soonest string
		var at int64
		for k, exp := range r.ids {
			if soonest == "" || exp < at {
				soonest, at = k, exp
			}
		}
		delete(r.ids, soonest)
	}
	r.ids[id] = expires
}

func (r *revocations) has(id string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	_, ok := r.ids[id]
	return ok
}
