//go:build !linux

package audit

import "os"

// datasync makes what was appended to f durable.
func datasync(f *os.File) error { return f.Sync() }
