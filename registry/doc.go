// Package registry is Portcullis's bundled container registry: an http.Handler serving the
// whole OCI distribution spec v1.1 /v2/ tree (blobs, chunked and monolithic uploads,
// cross-repository mounts, manifests of every kind, tags, catalog and the referrers API)
// from a directory laid out exactly as registry:2's filesystem driver lays it out
// (docker/registry/v2/blobs/..., repositories/<name>/_layers, _manifests, _uploads), so a
// registry:2 data directory can be served by it and the other way round. GC is the offline
// mark-and-sweep garbage collector over the same layout.
//
// It owns storage and the protocol only. Authentication, authorization, TLS, audit and
// rate limits belong to the gateway in front of it; this package knows nothing of them.
// It imports only the standard library, errcode (the error envelope), reference (the
// name, tag and digest grammar) and distspec (the routing of /v2/ paths and the method
// table, shared with the gateway so both read a path the same way); depcheck_test.go
// holds that wall.
//
// Writes are crash safe: bytes are streamed into a file under _uploads while being hashed
// (with O_DIRECT while the file is block-aligned: datawriter.go), fsynced and renamed into
// blobs/ only once the digest is verified; links are written to a temporary file and
// renamed. A crash leaves at worst an orphan upload, temporary files and empty
// directories, which GC removes.
//
// Several processes (gateway replicas) may serve one directory: nothing a request depends
// on lives only in memory, an upload session is locked across processes while a request
// uses it, and GC with deletion refuses while any serving process is attached
// (replicas.go says how).
package registry
