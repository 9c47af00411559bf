package registry

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"

	"github.com/portcullis/portcullis/errcode"
)

var (
	errDigestInvalid = errcode.New(errcode.DigestInvalid, "invalid or unsupported digest")
	errBlobUnknown   = errcode.New(errcode.BlobUnknown, "blob unknown to registry")
)

// linkedInRepo reports whether repository name links blob d, as a layer or as a
// manifest revision (registry:2 serves manifests as blobs of their repository too).
func (reg *Registry) linkedInRepo(name string, d digest) bool {
	return reg.cache.linkExists(reg.fs.layerLinkDir(name, d), d) || reg.cache.linkExists(reg.fs.revisionLinkDir(name, d), d)
}

// blobInRepo reports whether name links d and d's data exists.
func (reg *Registry) blobInRepo(name string, d digest) bool {
	if !reg.linkedInRepo(name, d) {
		return false
	}
	_, err := os.Stat(reg.fs.blobData(d))
	return err == nil
}

func (reg *Registry) serveBlob(w http.ResponseWriter, r *http.Request, rt Route) error {
	d, ok := parseDigest(rt.Reference)
	if !ok {
		return errDigestInvalid
	}
	if r.Method == http.MethodDelete {
		return reg.deleteBlob(w, rt.Name, d)
	}
	if !reg.linkedInRepo(rt.Name, d) {
		return errBlobUnknown
	}
	f, err := os.Open(reg.fs.blobData(d))
	if isNotExist(err) {
		return errBlobUnknown
	}
	if err != nil {
		return fmt.Errorf("opening blob %s: %w", d, err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return fmt.Errorf("stat blob %s: %w", d, err)
	}
	size := fi.Size()
	h := w.Header()
	h.Set("Docker-Content-Digest", d.String())
	h.Set("ETag", `"`+d.String()+`"`)
	h.Set("Accept-Ranges", "bytes")
	h.Set("Content-Type", "application/octet-stream")
	// A blob is immutable under its digest: a client that has it needs no body.
	if match := r.Header.Get("If-None-Match"); match != "" && (match == `"`+d.String()+`"` || match == d.String()) {
		w.WriteHeader(http.StatusNotModified)
		return nil
	}
	br, res := byteRange{0, size - 1}, rangeNone
	if rh := r.Header.Get("Range"); rh != "" {
		br, res = parseRange(rh, size)
	}
	switch res {
	case rangeUnsatisfiable:
		h.Set("Content-Range", "bytes */"+strconv.FormatInt(size, 10))
		return errcode.New(errcode.RangeInvalid, "requested range not satisfiable")
	case rangeOK:
		n := br.end - br.start + 1
		h.Set("Content-Length", strconv.FormatInt(n, 10))
		h.Set("Content-Range", fmt.Sprintf("bytes %d-%d/%d", br.start, br.end, size))
		w.WriteHeader(http.StatusPartialContent)
		if r.Method == http.MethodHead {
			return nil
		}
		if _, err := f.Seek(br.start, io.SeekStart); err != nil {
			return nil // headers are out; nothing more to tell the client
		}
		_, _ = copyBuffered(w, &io.LimitedReader{R: f, N: n})
		return nil
	}
	h.Set("Content-Length", strconv.FormatInt(size, 10))
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		// Large reads: the gateway serves this over TLS, where sendfile cannot help and
		// every read is a syscall. A client gone mid-body is not our error to report.
		_, _ = copyBuffered(w, f)
	}
	return nil
}

// deleteBlob unlinks the blob from the repository. The data stays until GC finds nothing
// else referencing it: other repositories may link the same content (mounts).
func (reg *Registry) deleteBlob(w http.ResponseWriter, name string, d digest) error {
	dir := reg.fs.layerLinkDir(name, d)
	if !linkExists(dir, d) {
		return errBlobUnknown
	}
	if err := os.RemoveAll(dir); err != nil {
		return fmt.Errorf("unlinking blob %s from %s: %w", d, name, err)
	}
	w.Header().Set("Content-Length", "0")
	w.WriteHeader(http.StatusAccepted)
	return nil
}
