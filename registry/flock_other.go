//go:build !unix

package registry

import "os"

// tryLock is a no-op where the platform has no flock: one process per data directory.
func tryLock(*os.File, bool) error { return nil }
