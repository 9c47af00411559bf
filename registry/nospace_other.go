//go:build !unix

package registry

import (
	"errors"
	"syscall"
)

func isNoSpace(err error) bool { return errors.Is(err, syscall.ENOSPC) }

func freeBytes(string) (uint64, bool) { return 0, false }
