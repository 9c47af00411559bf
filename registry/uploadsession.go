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

	"github.com/portcullis/portcullis/errcode"
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
	u := &upload{dir: reg.fs.uploadDir(name, id), algs: streamAlgorithms}
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

// Why appendFrom refused a chunk. A storage failure (the disk is full, say) is returned
// as it is, wrapped with the file's path, for writeError to answer.
var (
	// errChunkLength: the chunk was shorter or longer than its Content-Range said.
	errChunkLength = errcode.New(errcode.BlobUploadInvalid, "chunk shorter or longer than its Content-Range")
	// errChunkRead: the request body could not be read to its end (the client went away).
	errChunkRead = errcode.New(errcode.BlobUploadInvalid, "reading chunk failed")
)

// appendFrom streams r onto the session's data through its hashes and, when persist is
// set, records the hash states for the new size. want >= 0 is the exact length the chunk
// must have (its Content-Range); no more than one byte past it is read. A chunk is taken
// whole or not at all (issue 12): when reading, writing or the length fails, the data file
// is truncated back to the size before the chunk, whose hash states are still on disk, so
// a full disk gets its space back and a refused PATCH leaves no bytes in the session.
func (u *upload) appendFrom(r io.Reader, want int64, persist bool) (int64, error) {
	f, err := openDataWriter(u.dataPath(), u.size)
	if err != nil {
		return 0, fmt.Errorf("opening upload data %s: %w", u.dataPath(), err)
	}
	sw := &storageWriter{w: f}
	ws := make([]io.Writer, 0, len(u.hashes)+1)
	ws = append(ws, sw)
	for _, h := range u.hashes {
		ws = append(ws, h)
	}
	if want >= 0 {
		r = io.LimitReader(r, want+1)
	}
	n, err := copyBuffered(io.MultiWriter(ws...), r)
	if cerr := f.Close(); cerr != nil && sw.err == nil {
		sw.err = cerr
	}
	switch {
	case sw.err != nil:
		err = fmt.Errorf("writing upload data %s: %w", u.dataPath(), sw.err)
	case err != nil:
		err = errChunkRead.Wrap(err)
	case want >= 0 && n != want:
		err = errChunkLength
	}
	if err != nil {
		u.rollback()
		return 0, err
	}
	old := u.size
	u.size += n
	if persist {
		u.saveStates(old)
	}
	return n, nil
}

// rollback truncates the data file to the session's committed size, dropping the bytes
// of a chunk that failed. The in-memory hashes have seen those bytes: the request ends
// here, and the next one loads the states of the committed size from disk. If the file
// cannot be truncated, the states are dropped so the next request rebuilds them from
// whatever the file holds.
func (u *upload) rollback() {
	if err := os.Truncate(u.dataPath(), u.size); err != nil {
		_ = os.RemoveAll(filepath.Join(u.dir, "hashstates"))
	}
}

// storageWriter remembers the error of the writer it wraps, so a copy's failure can be
// told apart: storage (the disk) or the source (the client).
type storageWriter struct {
	w   io.Writer
	err error
}

func (s *storageWriter) Write(p []byte) (int, error) {
	n, err := s.w.Write(p)
	if err != nil && s.err == nil {
		s.err = err
	}
	return n, err
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

// rehash reads the session's data once to digest it under alg, an algorithm the
// session did not hash while streaming.
func (u *upload) rehash(alg algorithm) (digest, error) {
	f, err := os.Open(u.dataPath())
	if err != nil {
		return digest{}, fmt.Errorf("rehashing upload %s: %w", u.dir, err)
	}
	defer f.Close()
	h := alg.new()
	if _, err := copyBuffered(h, f); err != nil {
		return digest{}, fmt.Errorf("rehashing upload %s: %w", u.dir, err)
	}
	return sumDigest(alg, h), nil
}

// sum is the digest of the bytes received, under alg, if the session hashes alg.
func (u *upload) sum(alg algorithm) (digest, bool) {
	for i, a := range u.algs {
		if a == alg {
			return sumDigest(alg, u.hashes[i]), true
		}
	}
	return digest{}, false
}

// bufPool's buffers are block-aligned, so an upload's dataWriter can hand them to
// O_DIRECT as they are.
var bufPool = sync.Pool{New: func() any { b := alignedBuffer(256 << 10); return &b }}

// copyBuffered copies src to dst through two pooled 256 KiB buffers, the only memory a
// transfer holds whatever its size. A reader goroutine fills one buffer while this one
// writes the other, so receiving (for a TLS body: decrypting one 16 KiB record per read)
// and writing plus hashing run on two cores instead of taking turns on one. Each write
// is a whole buffer: one syscall per 256 KiB, not per record. It returns only once the
// reader has stopped, so src is never read after it returns.
func copyBuffered(dst io.Writer, src io.Reader) (int64, error) {
	type chunk struct {
		b   *[]byte
		n   int
		err error
	}
	free := make(chan *[]byte, 2)
	full := make(chan chunk, 2) // never blocks the reader: only two buffers exist
	free <- bufPool.Get().(*[]byte)
	free <- bufPool.Get().(*[]byte)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for b := range free {
			n, err := io.ReadFull(src, *b)
			full <- chunk{b, n, err}
			if err != nil {
				return
			}
		}
	}()
	var written int64
	var werr error
	for c := range full {
		if werr == nil && c.n > 0 {
			var w int
			w, werr = dst.Write((*c.b)[:c.n])
			written += int64(w)
			if werr == nil && w != c.n {
				werr = io.ErrShortWrite
			}
		}
		if c.err != nil || werr != nil {
			close(free) // the reader stops after its current read
			<-done
			bufPool.Put(c.b)
			for b := range free {
				bufPool.Put(b)
			}
			if werr != nil {
				return written, werr
			}
			if c.err == io.EOF || c.err == io.ErrUnexpectedEOF {
				return written, nil
			}
			return written, c.err
		}
		free <- c.b
	}
	panic("unreachable")
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
