package registry

import (
	"crypto/rand"
	"encoding"
	"encoding/hex"
	"fmt"
	"hash"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"
)

// upload is one upload session on disk: _uploads/<id>/data holds the bytes received so
// far, startedat the start time (as registry:2 writes it), and hashstates/<alg>/<size>
// the marshalled state of each running hash after size bytes, so a chunk is hashed once,
// as it streams in, and never re-read. If a state is missing (a crash between the data
// write and the state write, or a session begun by registry:2) it is rebuilt from data.
type upload struct {
	dir    string
	size   int64
	algs   []algorithm
	hashes []hash.Hash
}

func (u *upload) dataPath() string { return filepath.Join(u.dir, "data") }

func (u *upload) statePath(alg algorithm, size int64) string {
	return filepath.Join(u.dir, "hashstates", string(alg), strconv.FormatInt(size, 10))
}

// newUploadID returns a random UUID v4, the id format registry:2 hands out.
func newUploadID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go 1.24+)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// createUpload starts an empty session hashing with algs.
func (reg *Registry) createUpload(name string, algs []algorithm) (string, *upload, error) {
	id := newUploadID()
	dir := reg.fs.uploadDir(name, id)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", nil, fmt.Errorf("creating upload %s: %w", dir, err)
	}
	started := time.Now().UTC().Format(time.RFC3339Nano)
	if err := os.WriteFile(filepath.Join(dir, "startedat"), []byte(started), 0o644); err != nil {
		return "", nil, fmt.Errorf("writing upload start time: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "data"), nil, 0o644); err != nil {
		return "", nil, fmt.Errorf("creating upload data: %w", err)
	}
	u := &upload{dir: dir, algs: algs}
	for _, a := range algs {
		u.hashes = append(u.hashes, a.new())
	}
	return id, u, nil
}

// openUpload loads a session; fs.ErrNotExist when there is none.
func (reg *Registry) openUpload(name, id string) (*upload, error) {
	u := &upload{dir: reg.fs.uploadDir(name, id), algs: algorithms}
	fi, err := os.Stat(u.dataPath())
	if err != nil {
		return nil, err
	}
	u.size = fi.Size()
	if u.loadStates() {
		return u, nil
	}
	// Fallback: rebuild the hash state from the bytes on disk.
	u.hashes = u.hashes[:0]
	ws := make([]io.Writer, 0, len(u.algs))
	for _, a := range u.algs {
		h := a.new()
		u.hashes = append(u.hashes, h)
		ws = append(ws, h)
	}
	f, err := os.Open(u.dataPath())
	if err != nil {
		return nil, err
	}
	defer f.Close()
	n, err := copyBuffered(io.MultiWriter(ws...), f)
	if err != nil {
		return nil, fmt.Errorf("rehashing upload %s: %w", u.dir, err)
	}
	u.size = n
	return u, nil
}

func (u *upload) loadStates() bool {
	u.hashes = u.hashes[:0]
	for _, a := range u.algs {
		b, err := os.ReadFile(u.statePath(a, u.size))
		if err != nil {
			if u.size == 0 {
				u.hashes = append(u.hashes, a.new())
				continue
			}
			return false
		}
		h := a.new()
		if err := h.(encoding.BinaryUnmarshaler).UnmarshalBinary(b); err != nil {
			return false // not ours (registry:2's resumable format): rebuild
		}
		u.hashes = append(u.hashes, h)
	}
	return true
}

// appendFrom streams r onto the session's data through its hashes, then records the
// hash states for the new size.
func (u *upload) appendFrom(r io.Reader, persist bool) (int64, error) {
	f, err := os.OpenFile(u.dataPath(), os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		return 0, err
	}
	ws := make([]io.Writer, 0, len(u.hashes)+1)
	ws = append(ws, f)
	for _, h := range u.hashes {
		ws = append(ws, h)
	}
	n, err := copyBuffered(io.MultiWriter(ws...), r)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	old := u.size
	u.size += n
	if err != nil {
		// The hashes may have seen bytes the file did not keep (or the reverse): drop
		// every state so the next request rebuilds from what is on disk.
		_ = os.RemoveAll(filepath.Join(u.dir, "hashstates"))
		return n, err
	}
	if persist {
		u.saveStates(old)
	}
	return n, nil
}

func (u *upload) saveStates(old int64) {
	for i, a := range u.algs {
		b, err := u.hashes[i].(encoding.BinaryMarshaler).MarshalBinary()
		if err != nil {
			continue
		}
		if writeFileAtomic(u.statePath(a, u.size), b) == nil && old != u.size {
			_ = os.Remove(u.statePath(a, old))
		}
	}
}

// sum is the digest of the bytes received, under alg (which the session must hash).
func (u *upload) sum(alg algorithm) (digest, bool) {
	for i, a := range u.algs {
		if a == alg {
			return sumDigest(alg, u.hashes[i]), true
		}
	}
	return digest{}, false
}

var bufPool = sync.Pool{New: func() any { b := make([]byte, 256<<10); return &b }}

// copyBuffered copies through a pooled 256 KiB buffer, the only memory a transfer holds
// whatever its size. Unlike io.CopyBuffer it fills the buffer before each write: a TLS
// body reads one 16 KiB record at a time, and writing each to the file and the hashers
// separately would cost a syscall per record (dear on sandboxed kernels).
func copyBuffered(dst io.Writer, src io.Reader) (int64, error) {
	bp := bufPool.Get().(*[]byte)
	defer bufPool.Put(bp)
	buf := *bp
	var written int64
	for {
		n, rerr := io.ReadFull(src, buf)
		if n > 0 {
			w, werr := dst.Write(buf[:n])
			written += int64(w)
			if werr != nil {
				return written, werr
			}
			if w != n {
				return written, io.ErrShortWrite
			}
		}
		switch rerr {
		case nil:
		case io.EOF, io.ErrUnexpectedEOF:
			return written, nil
		default:
			return written, rerr
		}
	}
}

// commitBlob moves a verified upload's data to blobs/ and links it into the repository.
// Renaming onto an existing blob is harmless: the same digest means the same bytes, and
// readers holding the old file keep reading it.
func (reg *Registry) commitBlob(name, dataPath string, d digest) error {
	target := reg.fs.blobData(d)
	if _, err := os.Stat(target); err != nil {
		if f, err := os.Open(dataPath); err == nil {
			err = f.Sync() // the bytes must be on disk before a name says they are
			f.Close()
			if err != nil {
				return fmt.Errorf("syncing upload for %s: %w", d, err)
			}
		}
		if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
			return fmt.Errorf("creating blob dir for %s: %w", d, err)
		}
		if err := os.Rename(dataPath, target); err != nil {
			return fmt.Errorf("moving upload into blob %s: %w", d, err)
		}
	}
	if err := writeLink(reg.fs.layerLinkDir(name, d), d); err != nil {
		return fmt.Errorf("linking blob %s into %s: %w", d, name, err)
	}
	return nil
}
