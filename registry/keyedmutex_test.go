package registry

import (
	"sync"
	"testing"
)

func TestKeyedMutex(t *testing.T) {
	var k keyedMutex
	// Holding one key does not block another.
	unlockA := k.lock("a")
	unlockB := k.lock("b")
	unlockB()
	// The same key is exclusive: a counter incremented under it never races.
	var wg sync.WaitGroup
	n := 0
	for range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer k.lock("c")()
			n++
		}()
	}
	wg.Wait()
	unlockA()
	if n != 50 {
		t.Fatalf("n = %d", n)
	}
	if len(k.m) != 0 {
		t.Fatalf("%d entries left after all unlocked", len(k.m))
	}
}
