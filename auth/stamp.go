package auth

import (
	"crypto/sha256"
)

// stampOf fingerprints a user's entry: it changes whenever the password (or only its
// salt, or its hashing scheme) changes.
func stampOf(user, hash string) [sha256.Size]byte {
	return sha256.Sum256([]byte("portcullis htpasswd stamp\x00" + user + "\x00" + hash))
}

// Stamp returns a fingerprint of user's entry in the users file now, and false when the
// user is not in it. The token service binds refresh tokens to it, so that they stop
// working when the user is removed or given a new password (issue 10, item 7). It never
// leaves the process as it is: a refresh token carries only a keyed MAC of it.
func (h *Htpasswd) Stamp(user string) ([sha256.Size]byte, bool) {
	e, ok := h.file.Load().users[user]
	return e.stamp, ok
}
