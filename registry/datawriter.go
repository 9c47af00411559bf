package registry

import (
	"os"
	"unsafe"
)

// directAlign is the alignment O_DIRECT asks of file offsets, lengths and memory. 4096
// covers every common logical block size (512 and 4096).
const directAlign = 4096

// dataWriter appends an upload's bytes to its data file. While the file's size is
// block-aligned it writes whole blocks with O_DIRECT: an upload is written once and
// read back rarely soon (a pull reads the blob later, if ever), so copying it into the
// page cache only to flush it again at commit costs a copy of every byte plus a long
// fsync, for nothing. A final partial block, a misaligned buffer, or a filesystem
// without O_DIRECT goes through the ordinary file; commitBlob's fsync then covers the
// tail and the metadata. Both descriptors append, so the bytes land in order.
type dataWriter struct {
	f      *os.File // O_APPEND, through the page cache
	direct *os.File // O_APPEND|O_DIRECT, nil once the size is no longer aligned
}

func openDataWriter(path string, size int64) (*dataWriter, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		return nil, err
	}
	w := &dataWriter{f: f}
	if size%directAlign == 0 {
		if d, err := openDirect(path); err == nil {
			w.direct = d
		}
	}
	return w, nil
}

func (w *dataWriter) Write(p []byte) (int, error) {
	written := 0
	if w.direct != nil {
		whole := len(p) &^ (directAlign - 1)
		if whole > 0 && addrOf(p)%directAlign == 0 {
			n, err := w.direct.Write(p[:whole])
			written += n
			if err != nil && !(n == 0 && isDirectRefusal(err)) {
				return written, err
			}
			p = p[n:]
		}
		if len(p) > 0 { // a tail or a refusal: the rest goes through the cache
			w.stopDirect()
		}
	}
	if len(p) == 0 {
		return written, nil
	}
	n, err := w.f.Write(p)
	return written + n, err
}

func (w *dataWriter) stopDirect() {
	if w.direct != nil {
		_ = w.direct.Close()
		w.direct = nil
	}
}

func (w *dataWriter) Close() error {
	w.stopDirect()
	return w.f.Close()
}

// alignedBuffer returns n bytes whose first byte is directAlign-aligned.
func alignedBuffer(n int) []byte {
	b := make([]byte, n+directAlign)
	off := int(addrOf(b) % directAlign)
	if off != 0 {
		off = directAlign - off
	}
	return b[off : off+n : off+n]
}

func addrOf(b []byte) uintptr { return uintptr(unsafe.Pointer(&b[0])) }
