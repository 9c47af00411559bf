package auth

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"hash"
	"sync"

	lru "github.com/hashicorp/golang-lru/v2"
)

// credKey identifies one user and password without holding either: an HMAC-SHA256 under a
// key that lives only in this process, so a memory dump of the cache is no password list.
type credKey [sha256.Size]byte

// credCache is a bounded LRU of credentials that verified, each tagged with the htpasswd
// generation it verified against (caddy's basic-auth HashCache does the same job).
type credCache struct {
	lru  *lru.Cache[credKey, uint64]
	macs sync.Pool // of *macState
}

type macState struct {
	mac hash.Hash
	buf []byte
	sum credKey
}

func newCredCache(size int) (*credCache, error) {
	l, err := lru.New[credKey, uint64](size)
	if err != nil {
		return nil, fmt.Errorf("creating credential cache: %w", err)
	}
	secret := make([]byte, 32)
	if _, err := rand.Read(secret); err != nil {
		return nil, fmt.Errorf("generating credential cache key: %w", err)
	}
	c := &credCache{lru: l}
	c.macs.New = func() any { return &macState{mac: hmac.New(sha256.New, secret)} }
	return c, nil
}

// key is HMAC(secret, user NUL pass). User names cannot contain NUL (validUser), so the
// encoding is unambiguous.
func (c *credCache) key(user, pass string) credKey {
	s := c.macs.Get().(*macState)
	s.buf = append(append(append(s.buf[:0], user...), 0), pass...)
	s.mac.Reset()
	s.mac.Write(s.buf)
	s.mac.Sum(s.sum[:0]) // into the pooled state: a local array would escape to the heap
	k := s.sum
	clear(s.buf) // do not leave the password lying in a pooled buffer
	c.macs.Put(s)
	return k
}

// has reports whether k verified against generation gen.
func (c *credCache) has(k credKey, gen uint64) bool {
	g, ok := c.lru.Get(k)
	return ok && g == gen
}

func (c *credCache) add(k credKey, gen uint64) { c.lru.Add(k, gen) }

func (c *credCache) purge() { c.lru.Purge() }

func (c *credCache) len() int { return c.lru.Len() }

// flightKey names one verification in the singleflight group: the credential and the
// generation, so a request after a reload never joins a comparison against the old file.
func flightKey(k credKey, gen uint64) string {
	var b [len(credKey{}) + 8]byte
	copy(b[:], k[:])
	binary.BigEndian.PutUint64(b[len(k):], gen)
	return string(b[:])
}
