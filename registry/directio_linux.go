//go:build linux

package registry

import (
	"os"
	"syscall"
)

// openDirect opens path for appending with O_DIRECT: writes go from the caller's buffer
// to the device, skipping the page cache. Filesystems without O_DIRECT (tmpfs, some
// FUSE and network filesystems) refuse the open, and the caller writes through the
// cache instead.
func openDirect(path string) (*os.File, error) {
	return os.OpenFile(path, os.O_WRONLY|os.O_APPEND|syscall.O_DIRECT, 0)
}

// isDirectRefusal reports whether err is a filesystem declining a direct write
// (alignment or no support), as opposed to a real I/O failure.
func isDirectRefusal(err error) bool {
	pe, ok := err.(*os.PathError)
	return ok && (pe.Err == syscall.EINVAL || pe.Err == syscall.EOPNOTSUPP)
}
