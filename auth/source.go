package auth

import (
	"crypto/sha256"
	"fmt"
	"os"
	"sync"
)

// fileSource reads one configuration file and hands its content to load, remembering a
// fingerprint of what it last saw so a watcher reloads only on a real change (a touch, or an
// event for another file in the directory, must not invalidate the password cache).
type fileSource struct {
	path string
	// load parses data completely and publishes it, or returns an error and publishes
	// nothing, so the last good value stays in force.
	load func(data []byte) error

	mu   sync.Mutex // serialises reloads so generations are published in order
	seen [sha256.Size]byte
}

// reload is reloadChanged for callers that only need the error.
func (s *fileSource) reload(force bool) error {
	_, err := s.reloadChanged(force)
	return err
}

// reloadChanged reads the file and loads it when force is set or what it reads (content,
// or the read error) differs from last time. It reports whether anything was attempted, so
// a watcher logs a broken file once rather than at every poll.
func (s *fileSource) reloadChanged(force bool) (attempted bool, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	data, readErr := os.ReadFile(s.path)
	var sum [sha256.Size]byte
	if readErr != nil {
		sum = sha256.Sum256([]byte("read error\x00" + readErr.Error()))
	} else {
		sum = sha256.Sum256(data)
	}
	if !force && sum == s.seen {
		return false, nil
	}
	s.seen = sum
	if readErr != nil {
		return true, fmt.Errorf("reading %q: %w", s.path, readErr)
	}
	return true, s.load(data)
}
