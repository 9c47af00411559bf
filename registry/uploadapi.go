package registry

import (
	"fmt"
	"net/http"
	"os"
	"strconv"

	"github.com/portcullis/portcullis/errcode"
	"github.com/portcullis/portcullis/reference"
)

var (
	errUploadUnknown = errcode.New(errcode.BlobUploadUnknown, "upload unknown to registry")
	errRangeInvalid  = errcode.New(errcode.RangeInvalid, "chunk does not start where the upload ends")
)

// startUpload serves POST /v2/<name>/blobs/uploads/: a cross-repository mount
// (?mount=&from=, 201, or a normal session when the source does not have the blob), a
// monolithic upload (?digest=, 201), or a new session (202).
func (reg *Registry) startUpload(w http.ResponseWriter, r *http.Request, rt Route) error {
	q := r.URL.Query()
	if m := q.Get("mount"); m != "" {
		if d, ok := parseDigest(m); ok {
			// Anonymous mounts (no from) fall back to an upload: mounting any blob the store
			// holds would let a digest stand in for read access to a repository the gateway
			// never authorised.
			from := q.Get("from")
			if reference.ValidName(from) && reg.blobInRepo(from, d) {
				if err := writeLink(reg.fs.layerLinkDir(rt.Name, d), d); err != nil {
					return fmt.Errorf("mounting %s from %s into %s: %w", d, from, rt.Name, err)
				}
				return blobCreated(w, rt.Name, d)
			}
		}
	}
	if ds, ok := q["digest"]; ok {
		d, ok := parseDigest(ds[0])
		if !ok {
			return errDigestInvalid
		}
		return reg.monolithic(w, r, rt.Name, d)
	}
	id, _, err := reg.createUpload(rt.Name, streamAlgorithms)
	if err != nil {
		return err
	}
	uploadAccepted(w, http.StatusAccepted, rt.Name, id, 0)
	return nil
}

// monolithic stores the request body as blob d, hashing with d's algorithm only.
func (reg *Registry) monolithic(w http.ResponseWriter, r *http.Request, name string, d digest) error {
	_, u, err := reg.createUpload(name, []algorithm{d.alg})
	if err != nil {
		return err
	}
	defer os.RemoveAll(u.dir)
	if _, err := u.appendFrom(r.Body, -1, false); err != nil {
		return err
	}
	if got, _ := u.sum(d.alg); got != d {
		return errcode.New(errcode.DigestInvalid, "content does not match digest").WithDetail(map[string]string{"computed": got.String()})
	}
	if err := reg.commitBlob(name, u.dataPath(), d); err != nil {
		return err
	}
	return blobCreated(w, name, d)
}

// serveUpload serves one session: GET status, PATCH a chunk, PUT to finish, DELETE to
// cancel. Requests on one session are serialised: in this process they queue; one that
// finds the session busy in another replica is refused (replicas.go).
func (reg *Registry) serveUpload(w http.ResponseWriter, r *http.Request, rt Route) error {
	defer reg.sessions.lock(rt.Name + "/" + rt.UploadID)()
	dir := reg.fs.uploadDir(rt.Name, rt.UploadID)
	unlock, err := lockSession(dir)
	if err != nil {
		return err
	}
	defer unlock()
	if r.Method == http.MethodDelete {
		if err := os.RemoveAll(dir); err != nil {
			return fmt.Errorf("cancelling upload: %w", err)
		}
		w.Header().Set("Content-Length", "0")
		w.WriteHeader(http.StatusNoContent)
		return nil
	}
	u, err := reg.openUpload(rt.Name, rt.UploadID)
	if isNotExist(err) {
		return errUploadUnknown
	}
	if err != nil {
		return err
	}
	switch r.Method {
	case http.MethodGet:
		uploadAccepted(w, http.StatusNoContent, rt.Name, rt.UploadID, u.size)
		return nil
	case http.MethodPatch:
		if err := reg.appendChunk(w, r, rt, u); err != nil {
			return err
		}
		uploadAccepted(w, http.StatusAccepted, rt.Name, rt.UploadID, u.size)
		return nil
	}
	// PUT: an optional last chunk, then the digest that closes the session.
	ds := r.URL.Query().Get("digest")
	d, ok := parseDigest(ds)
	if !ok {
		return errDigestInvalid
	}
	if r.ContentLength != 0 {
		if err := reg.appendChunk(w, r, rt, u); err != nil {
			return err
		}
	}
	got, ok := u.sum(d.alg)
	if !ok {
		if got, err = u.rehash(d.alg); err != nil {
			return err
		}
	}
	if got != d {
		_ = os.RemoveAll(u.dir)
		return errcode.New(errcode.DigestInvalid, "content does not match digest").WithDetail(map[string]string{"computed": got.String()})
	}
	if err := reg.commitBlob(rt.Name, u.dataPath(), d); err != nil {
		return err
	}
	_ = os.RemoveAll(u.dir)
	return blobCreated(w, rt.Name, d)
}

// appendChunk appends the request body to u, whole or not at all (appendFrom). A
// Content-Range must start where the upload ends (else 416, with the session's Range so
// the client can resume) and span exactly the bytes sent.
func (reg *Registry) appendChunk(w http.ResponseWriter, r *http.Request, rt Route, u *upload) error {
	var want int64 = -1
	if cr := r.Header.Get("Content-Range"); cr != "" {
		br, ok := parseContentRange(cr)
		if !ok {
			return errcode.New(errcode.BlobUploadInvalid, "malformed Content-Range").WithStatus(http.StatusBadRequest)
		}
		if br.start != u.size {
			setUploadHeaders(w, rt.Name, rt.UploadID, u.size)
			return errRangeInvalid
		}
		want = br.end - br.start + 1
		if r.ContentLength >= 0 && r.ContentLength != want {
			return errcode.New(errcode.BlobUploadInvalid, "Content-Length does not match Content-Range")
		}
	}
	_, err := u.appendFrom(r.Body, want, true)
	return err
}

func setUploadHeaders(w http.ResponseWriter, name, id string, size int64) {
	h := w.Header()
	h.Set("Location", "/v2/"+name+"/blobs/uploads/"+id)
	h.Set("Docker-Upload-UUID", id)
	// Range is inclusive; registry:2 says "0-0" for an empty session too.
	h.Set("Range", "0-"+strconv.FormatInt(max(size-1, 0), 10))
}

func uploadAccepted(w http.ResponseWriter, status int, name, id string, size int64) {
	setUploadHeaders(w, name, id, size)
	w.Header().Set("Content-Length", "0")
	w.WriteHeader(status)
}

func blobCreated(w http.ResponseWriter, name string, d digest) error {
	h := w.Header()
	h.Set("Location", "/v2/"+name+"/blobs/"+d.String())
	h.Set("Docker-Content-Digest", d.String())
	h.Set("Content-Length", "0")
	w.WriteHeader(http.StatusCreated)
	return nil
}
