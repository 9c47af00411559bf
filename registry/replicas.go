package registry

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"

	"github.com/portcullis/portcullis/errcode"
)

// Several registries (gateway replicas) may serve one directory: a shared volume, NFS,
// CephFS or EFS. Everything a request depends on is on disk; what a Registry keeps in
// memory is either revalidated per use (readCache: one stat per link, so a tag moved or
// a manifest deleted by another replica is seen at once; manifest bodies are cached by
// digest, immutable, and served only after the revision link was checked) or only a
// shortcut for the same process (keyedMutex). Two things need the other replicas' help,
// and get it from advisory file locks, which the kernel releases when a process dies:
//
//   - An upload session takes a request at a time. keyedMutex queues the requests of
//     one process; a lock on the session's startedat file turns away a request that
//     another replica is serving at that moment (409 BLOB_UPLOAD_INVALID, "busy"), so
//     two PATCHes never append to one data file at once. Sessions carry no in-memory
//     state: size and hash states are read from disk per request, so any replica
//     continues a session any other began.
//   - GC must not sweep while anyone writes: Attach holds a shared lock on the root's
//     lock file for as long as a process serves it, and GC with deletion takes it
//     exclusively or refuses with ErrInUse.

// errLockBusy is tryLock's answer when someone else holds the lock.
var errLockBusy = errors.New("lock held by another process")

// ErrInUse is GC's refusal to delete while a process serves the directory (Attach), and
// Attach's refusal while GC runs.
var ErrInUse = errors.New("registry directory in use")

// errUploadBusy answers a request on a session another request (on another replica) is
// serving: the client retries once that one finished, or starts a new upload.
var errUploadBusy = errcode.New(errcode.BlobUploadInvalid,
	"upload session is busy with another request; retry when it has finished").WithStatus(http.StatusConflict)

// lockFile is the file Attach and GC lock, beside docker/ in the root. registry:2 reads
// only docker/registry/v2 and never sees it.
const lockFile = ".portcullis-registry.lock"

// Attach declares that this process serves root until the returned Closer is closed (or
// the process exits): GC with deletion refuses to run meanwhile. It fails with ErrInUse
// while a GC with deletion holds root. The gateway attaches before serving.
func Attach(root string) (io.Closer, error) {
	f, err := openRootLock(root)
	if err != nil {
		return nil, err
	}
	if err := tryLock(f, true); err != nil {
		f.Close()
		if errors.Is(err, errLockBusy) {
			return nil, fmt.Errorf("registry: %s: a garbage collection is running; start when it has finished: %w", root, ErrInUse)
		}
		return nil, fmt.Errorf("registry: locking %s: %w", f.Name(), err)
	}
	return f, nil
}

// gcLock takes root exclusively for a GC with deletion.
func gcLock(root string) (io.Closer, error) {
	f, err := openRootLock(root)
	if err != nil {
		return nil, err
	}
	if err := tryLock(f, false); err != nil {
		f.Close()
		if errors.Is(err, errLockBusy) {
			return nil, fmt.Errorf("gc: %s is served by a running gateway (or another gc runs): stop every replica, then collect: %w", root, ErrInUse)
		}
		return nil, fmt.Errorf("gc: locking %s: %w", f.Name(), err)
	}
	return f, nil
}

// openRootLock opens (creating) the root's lock file for writing: NFS emulates flock
// with byte-range locks, and an exclusive one needs a descriptor open for writing.
func openRootLock(root string) (*os.File, error) {
	if err := os.MkdirAll(root, 0o755); err != nil {
		return nil, fmt.Errorf("registry: creating %s: %w", root, err)
	}
	f, err := os.OpenFile(filepath.Join(root, lockFile), os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("registry: opening lock file: %w", err)
	}
	return f, nil
}

// lockSession locks upload session dir for one request, across processes, and returns
// the unlock. A session without startedat (gone, or never ours) is errUploadUnknown. It
// locks startedat, which no request path opens otherwise: with NFS's byte-range
// emulation, closing any other descriptor of the locked file in this process would drop
// the lock (data is opened and closed per chunk).
func lockSession(dir string) (unlock func(), err error) {
	f, err := os.OpenFile(filepath.Join(dir, "startedat"), os.O_RDWR, 0)
	if isNotExist(err) {
		return nil, errUploadUnknown
	}
	if err != nil {
		return nil, fmt.Errorf("opening upload session: %w", err)
	}
	if err := tryLock(f, false); err != nil {
		f.Close()
		if errors.Is(err, errLockBusy) {
			return nil, errUploadBusy
		}
		return nil, err
	}
	return func() { f.Close() }, nil
}
