package certs

import (
	"context"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/acme/autocert"
)

// watchedCache wraps autocert's cache to learn when certificates are obtained, renewed or
// loaded, which autocert does not otherwise report: it keeps NotAfter current and logs.
type watchedCache struct {
	autocert.Cache
	acme *ACME

	mu       sync.Mutex
	notAfter map[string]time.Time // by cache key
}

var _ autocert.Cache = (*watchedCache)(nil)

func (c *watchedCache) Get(ctx context.Context, key string) ([]byte, error) {
	data, err := c.Cache.Get(ctx, key)
	if err == nil && isCertKey(key) {
		c.saw(key, data, false)
	}
	return data, err
}

func (c *watchedCache) Put(ctx context.Context, key string, data []byte) error {
	err := c.Cache.Put(ctx, key, data)
	if isCertKey(key) {
		if err != nil {
			c.acme.logger.Error("caching ACME certificate", "name", key, "err", err)
		}
		c.saw(key, data, true)
	}
	return err
}

// isCertKey tells certificate entries from the account key and challenge tokens (see
// autocert's certKey.String and httpTokenCacheKey).
func isCertKey(key string) bool {
	return !strings.HasPrefix(key, "acme_account") &&
		!strings.HasSuffix(key, "+token") && !strings.HasSuffix(key, "+http-01")
}

func (c *watchedCache) saw(key string, data []byte, stored bool) {
	leaf, err := parseCert(data)
	if err != nil {
		return // autocert will reject it too
	}
	c.mu.Lock()
	if c.notAfter == nil {
		c.notAfter = map[string]time.Time{}
	}
	c.notAfter[key] = leaf.NotAfter
	earliest := leaf.NotAfter
	for _, t := range c.notAfter {
		if t.Before(earliest) {
			earliest = t
		}
	}
	c.mu.Unlock()
	c.acme.notAfter.Store(&earliest)
	if !stored {
		c.acme.logger.Info("loaded ACME certificate from cache", "name", key, "issuer", leaf.Issuer.CommonName, "not_after", leaf.NotAfter)
		return
	}
	c.acme.logger.Info("obtained ACME certificate", "name", key, "issuer", leaf.Issuer.CommonName, "not_after", leaf.NotAfter)
	if f := c.acme.onStored; f != nil {
		f(key, leaf.NotAfter)
	}
}
