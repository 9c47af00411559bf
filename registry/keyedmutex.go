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

// tryLock locks key only if nobody holds or waits for it.
func (k *keyedMutex) tryLock(key string) (unlock func(), ok bool) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if _, busy := k.m[key]; busy {
		return nil, false
	}
	if k.m == nil {
		k.m = map[string]*keyedEntry{}
	}
	e := &keyedEntry{holders: 1}
	e.mu.Lock() // a new entry: never blocks
	k.m[key] = e
	return func() { k.unlock(key, e) }, true
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
	return func() { k.unlock(key, e) }
}

// unlock releases e, the entry of key, and forgets it when nobody else holds or waits.
func (k *keyedMutex) unlock(key string, e *keyedEntry) {
	e.mu.Unlock()
	k.mu.Lock()
	if e.holders--; e.holders == 0 {
		delete(k.m, key)
	}
	k.mu.Unlock()
}
