//go:build unix

package registry

import (
	"errors"
	"syscall"
)

// isNoSpace reports whether err is the file system running out of space (or of the
// writer's quota).
func isNoSpace(err error) bool {
	return errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT)
}

// freeBytes is the space left to unprivileged writers on path's file system.
func freeBytes(path string) (uint64, bool) {
	var st syscall.Statfs_t
	if syscall.Statfs(path, &st) != nil {
		return 0, false
	}
	return uint64(st.Bavail) * uint64(st.Bsize), true
}
