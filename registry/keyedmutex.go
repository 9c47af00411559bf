package registry

import "sync"

// keyedMutex serialises work per key (an upload session) without making unrelated keys
// wait: a long PATCH of one session must not hold up another. Entries live only while
// someone holds or waits for them.
type keyedMutex struct {
	mu sync.Mutex
	m  map[string]*keyedEntry
}

type keyedEntry struct {
	mu      sync.Mutex
	holders int
}

// lock locks key and returns its unlock function.
func (k *keyedMutex) lock(key string) (unlock func()) {
	k.mu.Lock()
	if k.m == nil {
		k.m = map[string]*keyedEntry{}
	}
	e := k.m[key]
	if e == nil {
		e = &keyedEntry{}
		k.m[key] = e
	}
	e.holders++
	k.mu.Unlock()
	e.mu.Lock()
	return func() {
		e.mu.Unlock()
		k.mu.Lock()
		if e.holders--; e.holders == 0 {
			delete(k.m, key)
		}
		k.mu.Unlock()
	}
}
