//go:build unix

package registry

import (
	"errors"
	"os"
	"syscall"
)

// tryLock takes an advisory lock on f without waiting: exclusive, or shared when
// shared is set. It reports errLockBusy when another open file (in this process or any
// other, on this machine or, over NFSv4 and CephFS, on another) holds a conflicting one.
// The kernel drops the lock when f is closed or its process dies, so a killed replica
// never leaves a stale lock behind.
func tryLock(f *os.File, shared bool) error {
	how := syscall.LOCK_EX
	if shared {
		how = syscall.LOCK_SH
	}
	for {
		err := syscall.Flock(int(f.Fd()), how|syscall.LOCK_NB)
		switch {
		case err == nil:
			return nil
		case errors.Is(err, syscall.EINTR):
			continue
		case errors.Is(err, syscall.EWOULDBLOCK):
			return errLockBusy
		case errors.Is(err, syscall.ENOLCK), errors.Is(err, syscall.EOPNOTSUPP), errors.Is(err, syscall.ENOSYS):
			// A filesystem without locks (old NFS without lockd): nothing to hold. The
			// README's scale-out section says such a volume is not fit for replicas.
			return nil
		default:
			return &os.PathError{Op: "flock", Path: f.Name(), Err: err}
		}
	}
}
