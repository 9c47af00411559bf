package main

import (
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"

	"github.com/portcullis/portcullis/registry"
)

// The data lock keeps `gateway gc` and a serving gateway apart (issue 12): every gateway
// serving the bundled registry holds a shared lock on REGISTRY/.portcullis.lock for as long
// as it runs (several may share a directory); gc takes it exclusively or refuses to run.
// So no gateway of ours writes while gc sweeps, and removes what a crash left at
// any age. registry:2 takes no such lock: stop it too, as its own garbage-collect asks.
const dataLockName = ".portcullis.lock"

// errDataLocked is lockData's answer when the other side holds the lock.
var errDataLocked = errors.New("data directory is locked")

// lockData takes the lock of the registry root dir, shared or exclusive, without waiting.
// Closing the returned file releases it.
func lockData(dir string, exclusive bool) (*os.File, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("creating %s: %w", dir, err)
	}
	path := filepath.Join(dir, dataLockName)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("opening %s: %w", path, err)
	}
	if err := flock(f, exclusive); err != nil {
		f.Close()
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return f, nil
}

// bundledBackend is the bundled registry's handler, with the registry (for the upload
// purge) and the data lock, which lives as long as the server that serves the handler (a
// lock file nobody references would be closed by its finalizer, releasing the lock).
type bundledBackend struct {
	http.Handler
	reg  *registry.Registry
	lock *os.File
}
