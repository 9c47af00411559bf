package registry

import (
	"bytes"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func sha256Of(b []byte) string { s := sha256.Sum256(b); return "sha256:" + hex.EncodeToString(s[:]) }
func sha512Of(b []byte) string { s := sha512.Sum512(b); return "sha512:" + hex.EncodeToString(s[:]) }

// do sends one request to the server and returns the response with its body read.
func do(t testing.TB, srv *httptest.Server, method, path string, hdr map[string]string, body []byte) (*http.Response, []byte) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(t.Context(), method, srv.URL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, b
}

// pushBlob uploads b monolithically to repo and fails the test if that does not give 201.
func pushBlob(t testing.TB, srv *httptest.Server, repo string, b []byte) string {
	t.Helper()
	d := sha256Of(b)
	resp, body := do(t, srv, "POST", "/v2/"+repo+"/blobs/uploads/?digest="+d, nil, b)
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("push blob: %d %s", resp.StatusCode, body)
	}
	return d
}

// imageManifest is an OCI image manifest over config and layers (all pushed to repo).
func imageManifest(t testing.TB, srv *httptest.Server, repo string, extra map[string]any, layers ...[]byte) []byte {
	t.Helper()
	cfg := []byte(`{"architecture":"amd64","os":"linux"}`)
	m := map[string]any{
		"schemaVersion": 2,
		"mediaType":     mtOCIManifest,
		"config":        map[string]any{"mediaType": "application/vnd.oci.image.config.v1+json", "digest": pushBlob(t, srv, repo, cfg), "size": len(cfg)},
	}
	ls := []any{}
	for _, l := range layers {
		ls = append(ls, map[string]any{"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": pushBlob(t, srv, repo, l), "size": len(l)})
	}
	m["layers"] = ls
	for k, v := range extra {
		m[k] = v
	}
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func putManifest(t testing.TB, srv *httptest.Server, repo, ref string, m []byte) *http.Response {
	t.Helper()
	resp, body := do(t, srv, "PUT", "/v2/"+repo+"/manifests/"+ref, map[string]string{"Content-Type": mtOCIManifest}, m)
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("put manifest %s: %d %s", ref, resp.StatusCode, body)
	}
	return resp
}

func errCode(body []byte) string {
	var env struct {
		Errors []struct{ Code string } `json:"errors"`
	}
	if json.Unmarshal(body, &env) != nil || len(env.Errors) == 0 {
		return ""
	}
	return env.Errors[0].Code
}

// TestCalls is one table over every endpoint, method and error, against fixed content:
// repository foo/bar holds blob "hello", layer "layer-1" and an image tagged latest.
func TestCalls(t *testing.T) {
	srv := httptest.NewServer(newTestRegistry(t))
	defer srv.Close()

	hello := []byte("hello")
	helloD := pushBlob(t, srv, "foo/bar", hello)
	man := imageManifest(t, srv, "foo/bar", nil, []byte("layer-1"))
	manD := sha256Of(man)
	putManifest(t, srv, "foo/bar", "latest", man)
	for _, tag := range []string{"a", "b", "c"} {
		putManifest(t, srv, "foo/bar", tag, man)
	}
	sig := imageManifest(t, srv, "foo/bar", map[string]any{
		"artifactType": "application/vnd.example.sig",
		"subject":      map[string]any{"mediaType": mtOCIManifest, "digest": manD, "size": len(man)},
	})
	sigD := sha256Of(sig)
	putManifest(t, srv, "foo/bar", sigD, sig)
	missing := sha256Of([]byte("missing"))
	sha512Blob := []byte("sha512 content")

	// An open upload session for the session rows.
	resp, _ := do(t, srv, "POST", "/v2/foo/bar/blobs/uploads/", nil, nil)
	session := resp.Header.Get("Location")

	tests := []struct {
		desc    string
		method  string
		path    string
		header  map[string]string
		body    []byte
		code    int
		errCode string
		want    map[string]string // response headers
		inBody  string
	}{
		{desc: "base", method: "GET", path: "/v2/", code: 200, want: map[string]string{"Docker-Distribution-API-Version": "registry/2.0"}},
		{desc: "base without slash", method: "GET", path: "/v2", code: 200},
		{desc: "outside the API", method: "GET", path: "/v1/", code: 404, errCode: "UNSUPPORTED"},
		{desc: "unknown endpoint", method: "GET", path: "/v2/foo/bar/nope/x", code: 404, errCode: "UNSUPPORTED"},
		{desc: "base POST", method: "POST", path: "/v2/", code: 405, errCode: "UNSUPPORTED"},

		{desc: "blob GET", method: "GET", path: "/v2/foo/bar/blobs/" + helloD, code: 200, inBody: "hello",
			want: map[string]string{"Content-Length": "5", "Docker-Content-Digest": helloD}},
		{desc: "blob HEAD", method: "HEAD", path: "/v2/foo/bar/blobs/" + helloD, code: 200,
			want: map[string]string{"Content-Length": "5", "Docker-Content-Digest": helloD}},
		{desc: "blob range", method: "GET", path: "/v2/foo/bar/blobs/" + helloD, header: map[string]string{"Range": "bytes=1-3"},
			code: 206, inBody: "ell", want: map[string]string{"Content-Range": "bytes 1-3/5", "Content-Length": "3"}},
		{desc: "blob suffix range", method: "GET", path: "/v2/foo/bar/blobs/" + helloD, header: map[string]string{"Range": "bytes=-2"},
			code: 206, inBody: "lo", want: map[string]string{"Content-Range": "bytes 3-4/5"}},
		{desc: "blob range past end", method: "GET", path: "/v2/foo/bar/blobs/" + helloD, header: map[string]string{"Range": "bytes=5-9"},
			code: 416, errCode: "RANGE_INVALID", want: map[string]string{"Content-Range": "bytes */5"}},
		{desc: "blob range reversed", method: "GET", path: "/v2/foo/bar/blobs/" + helloD, header: map[string]string{"Range": "bytes=3-1"}, code: 416},
		{desc: "blob range other unit ignored", method: "GET", path: "/v2/foo/bar/blobs/" + helloD, header: map[string]string{"Range": "items=1-2"}, code: 200, inBody: "hello"},
		{desc: "blob If-None-Match", method: "GET", path: "/v2/foo/bar/blobs/" + helloD, header: map[string]string{"If-None-Match": `"` + helloD + `"`}, code: 304},
		{desc: "blob unknown", method: "GET", path: "/v2/foo/bar/blobs/" + missing, code: 404, errCode: "BLOB_UNKNOWN"},
		{desc: "blob of another repo", method: "GET", path: "/v2/other/blobs/" + helloD, code: 404, errCode: "BLOB_UNKNOWN"},
		{desc: "blob bad digest", method: "GET", path: "/v2/foo/bar/blobs/sha256:abc", code: 400, errCode: "DIGEST_INVALID"},
		{desc: "blob unsupported algorithm", method: "GET", path: "/v2/foo/bar/blobs/md5:abc", code: 400, errCode: "DIGEST_INVALID"},
		{desc: "blob digest grammar", method: "GET", path: "/v2/foo/bar/blobs/nocolon", code: 400, errCode: "DIGEST_INVALID"},
		{desc: "blob PUT not allowed", method: "PUT", path: "/v2/foo/bar/blobs/" + helloD, code: 405, errCode: "UNSUPPORTED"},
		{desc: "blob DELETE unknown", method: "DELETE", path: "/v2/foo/bar/blobs/" + missing, code: 404, errCode: "BLOB_UNKNOWN"},
		{desc: "bad name", method: "GET", path: "/v2/Foo/blobs/" + helloD, code: 400, errCode: "NAME_INVALID"},
		{desc: "bad name separator", method: "GET", path: "/v2/foo..bar/tags/list", code: 400, errCode: "NAME_INVALID"},
		{desc: "empty name component", method: "GET", path: "/v2/foo//bar/tags/list", code: 400, errCode: "NAME_INVALID"},

		{desc: "monolithic upload", method: "POST", path: "/v2/foo/bar/blobs/uploads/?digest=" + sha256Of([]byte("mono")), body: []byte("mono"),
			code: 201, want: map[string]string{"Location": "/v2/foo/bar/blobs/" + sha256Of([]byte("mono")), "Docker-Content-Digest": sha256Of([]byte("mono"))}},
		{desc: "monolithic sha512", method: "POST", path: "/v2/foo/bar/blobs/uploads/?digest=" + sha512Of(sha512Blob), body: sha512Blob,
			code: 201, want: map[string]string{"Docker-Content-Digest": sha512Of(sha512Blob)}},
		{desc: "monolithic wrong digest", method: "POST", path: "/v2/foo/bar/blobs/uploads/?digest=" + missing, body: []byte("mono"), code: 400, errCode: "DIGEST_INVALID"},
		{desc: "monolithic malformed digest", method: "POST", path: "/v2/foo/bar/blobs/uploads/?digest=sha256:xyz", body: []byte("x"), code: 400, errCode: "DIGEST_INVALID"},
		{desc: "upload start", method: "POST", path: "/v2/foo/bar/blobs/uploads/", code: 202, want: map[string]string{"Range": "0-0"}},
		{desc: "upload start without slash", method: "POST", path: "/v2/foo/bar/blobs/uploads", code: 202},
		{desc: "uploads GET not allowed", method: "GET", path: "/v2/foo/bar/blobs/uploads/", code: 405},
		{desc: "mount", method: "POST", path: "/v2/mounted/blobs/uploads/?mount=" + helloD + "&from=foo/bar", code: 201,
			want: map[string]string{"Location": "/v2/mounted/blobs/" + helloD, "Docker-Content-Digest": helloD}},
		{desc: "mount missing falls back", method: "POST", path: "/v2/mounted/blobs/uploads/?mount=" + missing + "&from=foo/bar", code: 202},
		{desc: "mount anonymous falls back", method: "POST", path: "/v2/mounted2/blobs/uploads/?mount=" + helloD, code: 202},
		{desc: "mount bad from falls back", method: "POST", path: "/v2/mounted2/blobs/uploads/?mount=" + helloD + "&from=../x", code: 202},
		{desc: "session status", method: "GET", path: session, code: 204, want: map[string]string{"Location": session, "Range": "0-0"}},
		{desc: "session out of order", method: "PATCH", path: session, header: map[string]string{"Content-Range": "5-9"}, body: []byte("12345"), code: 416, errCode: "RANGE_INVALID"},
		{desc: "session bad content range", method: "PATCH", path: session, header: map[string]string{"Content-Range": "x"}, body: []byte("1"), code: 400, errCode: "BLOB_UPLOAD_INVALID"},
		{desc: "session length mismatch", method: "PATCH", path: session, header: map[string]string{"Content-Range": "0-9"}, body: []byte("1"), code: 400, errCode: "BLOB_UPLOAD_INVALID"},
		{desc: "session PUT without digest", method: "PUT", path: session, code: 400, errCode: "DIGEST_INVALID"},
		{desc: "unknown session", method: "GET", path: "/v2/foo/bar/blobs/uploads/nope", code: 404, errCode: "BLOB_UPLOAD_UNKNOWN"},
		{desc: "unknown session PATCH", method: "PATCH", path: "/v2/foo/bar/blobs/uploads/nope", body: []byte("x"), code: 404, errCode: "BLOB_UPLOAD_UNKNOWN"},
		{desc: "unknown session DELETE", method: "DELETE", path: "/v2/foo/bar/blobs/uploads/nope", code: 404, errCode: "BLOB_UPLOAD_UNKNOWN"},
		{desc: "bad session id", method: "GET", path: "/v2/foo/bar/blobs/uploads/a.b", code: 404, errCode: "BLOB_UPLOAD_UNKNOWN"},
		{desc: "session POST not allowed", method: "POST", path: session, code: 405},

		{desc: "manifest by tag", method: "GET", path: "/v2/foo/bar/manifests/latest", code: 200, inBody: string(man),
			want: map[string]string{"Content-Type": mtOCIManifest, "Docker-Content-Digest": manD}},
		{desc: "manifest by digest", method: "GET", path: "/v2/foo/bar/manifests/" + manD, code: 200, inBody: string(man)},
		{desc: "manifest HEAD", method: "HEAD", path: "/v2/foo/bar/manifests/latest", code: 200,
			want: map[string]string{"Content-Length": fmt.Sprint(len(man)), "Docker-Content-Digest": manD}},
		{desc: "manifest unknown tag", method: "GET", path: "/v2/foo/bar/manifests/nope", code: 404, errCode: "MANIFEST_UNKNOWN"},
		{desc: "manifest unknown digest", method: "GET", path: "/v2/foo/bar/manifests/" + missing, code: 404, errCode: "MANIFEST_UNKNOWN"},
		{desc: "manifest bad digest", method: "GET", path: "/v2/foo/bar/manifests/sha256:baddigeststring", code: 400, errCode: "DIGEST_INVALID"},
		{desc: "manifest bad reference", method: "GET", path: "/v2/foo/bar/manifests/-bad", code: 400, errCode: "MANIFEST_INVALID"},
		{desc: "manifest a blob is not", method: "GET", path: "/v2/foo/bar/manifests/" + helloD, code: 404, errCode: "MANIFEST_UNKNOWN"},
		{desc: "manifest PUT not JSON", method: "PUT", path: "/v2/foo/bar/manifests/x", body: []byte("nope"), code: 400, errCode: "MANIFEST_INVALID"},
		{desc: "manifest PUT JSON array", method: "PUT", path: "/v2/foo/bar/manifests/x", body: []byte("[]"), code: 400, errCode: "MANIFEST_INVALID"},
		{desc: "manifest PUT schema 1", method: "PUT", path: "/v2/foo/bar/manifests/x", body: []byte(`{"schemaVersion":1}`), code: 400, errCode: "MANIFEST_INVALID"},
		{desc: "manifest PUT no config", method: "PUT", path: "/v2/foo/bar/manifests/x", body: []byte(`{"schemaVersion":2,"mediaType":"` + mtOCIManifest + `","layers":[]}`), code: 400, errCode: "MANIFEST_INVALID"},
		{desc: "manifest PUT type mismatch", method: "PUT", path: "/v2/foo/bar/manifests/x", header: map[string]string{"Content-Type": mtOCIIndex}, body: man, code: 400, errCode: "MANIFEST_INVALID"},
		// Issue 12: hostile media types, and keys that two parsers read differently.
		{desc: "manifest PUT mediaType text/html", method: "PUT", path: "/v2/foo/bar/manifests/x", header: map[string]string{"Content-Type": "text/html"},
			body: []byte(`{"schemaVersion":2,"mediaType":"text/html","config":{"mediaType":"a/b","digest":"` + helloD + `","size":5},"layers":[]}`), code: 400, errCode: "MANIFEST_INVALID"},
		{desc: "manifest PUT mediaType svg, OCI Content-Type", method: "PUT", path: "/v2/foo/bar/manifests/x", header: map[string]string{"Content-Type": mtOCIManifest},
			body: []byte(`{"schemaVersion":2,"mediaType":"image/svg+xml","config":{"mediaType":"a/b","digest":"` + helloD + `","size":5},"layers":[]}`), code: 400, errCode: "MANIFEST_INVALID"},
		{desc: "manifest PUT no mediaType, Content-Type text/html", method: "PUT", path: "/v2/foo/bar/manifests/x", header: map[string]string{"Content-Type": "text/html; charset=utf-8"},
			body: []byte(`{"schemaVersion":2,"config":{"mediaType":"a/b","digest":"` + helloD + `","size":5},"layers":[]}`), code: 400, errCode: "MANIFEST_INVALID"},
		{desc: "manifest PUT no mediaType, Content-Type index, shape manifest", method: "PUT", path: "/v2/foo/bar/manifests/x", header: map[string]string{"Content-Type": mtOCIIndex},
			body: []byte(`{"schemaVersion":2,"config":{"mediaType":"a/b","digest":"` + helloD + `","size":5},"layers":[]}`), code: 400, errCode: "MANIFEST_INVALID"},
		{desc: "manifest PUT malformed Content-Type", method: "PUT", path: "/v2/foo/bar/manifests/x", header: map[string]string{"Content-Type": "a/b; ;"},
			body: []byte(`{"schemaVersion":2,"config":{"mediaType":"a/b","digest":"` + helloD + `","size":5},"layers":[]}`), code: 400, errCode: "MANIFEST_INVALID"},
		{desc: "manifest PUT duplicate key", method: "PUT", path: "/v2/foo/bar/manifests/x", header: map[string]string{"Content-Type": mtOCIManifest},
			body: []byte(`{"schemaVersion":2,"mediaType":"` + mtOCIManifest + `","config":{"mediaType":"a/b","digest":"` + helloD + `","size":5},"layers":[],"layers":[{"mediaType":"a/c","digest":"` + missing + `","size":1}]}`), code: 400, errCode: "MANIFEST_INVALID"},
		{desc: "manifest PUT duplicate key, nested", method: "PUT", path: "/v2/foo/bar/manifests/x", header: map[string]string{"Content-Type": mtOCIManifest},
			body: []byte(`{"schemaVersion":2,"config":{"mediaType":"a/b","digest":"` + helloD + `","size":5},"layers":[],"annotations":{"a":"1","a":"2"}}`), code: 400, errCode: "MANIFEST_INVALID"},
		{desc: "manifest PUT key twice under case folding", method: "PUT", path: "/v2/foo/bar/manifests/x", header: map[string]string{"Content-Type": mtOCIManifest},
			body: []byte(`{"schemaVersion":2,"mediaType":"` + mtOCIManifest + `","MediaType":"text/html","config":{"mediaType":"a/b","digest":"` + helloD + `","size":5},"layers":[]}`), code: 400, errCode: "MANIFEST_INVALID"},
		{desc: "manifest PUT no mediaType, OCI Content-Type", method: "PUT", path: "/v2/foo/bar/manifests/x-nomt", header: map[string]string{"Content-Type": mtOCIManifest},
			body: []byte(`{"schemaVersion":2,"config":{"mediaType":"a/b","digest":"` + helloD + `","size":5},"layers":[]}`), code: 201},
		{desc: "manifest PUT OCI 1.1 artifact", method: "PUT", path: "/v2/foo/bar/manifests/x-artifact", header: map[string]string{"Content-Type": mtOCIManifest},
			body: []byte(`{"schemaVersion":2,"mediaType":"` + mtOCIManifest + `","artifactType":"application/vnd.example+type","config":{"mediaType":"application/vnd.oci.empty.v1+json","digest":"` + helloD + `","size":5},"layers":[]}`), code: 201},
		{desc: "manifest GET artifact type", method: "GET", path: "/v2/foo/bar/manifests/x-artifact", code: 200, want: map[string]string{"Content-Type": mtOCIManifest}},
		{desc: "manifest PUT bad descriptor", method: "PUT", path: "/v2/foo/bar/manifests/x",
			body: []byte(`{"schemaVersion":2,"config":{"mediaType":"a/b","digest":"sha256:zz","size":1},"layers":[]}`), code: 400, errCode: "MANIFEST_INVALID"},
		{desc: "manifest PUT unknown blob", method: "PUT", path: "/v2/foo/bar/manifests/x",
			body: []byte(`{"schemaVersion":2,"config":{"mediaType":"a/b","digest":"` + missing + `","size":1},"layers":[]}`), code: 400, errCode: "MANIFEST_BLOB_UNKNOWN"},
		{desc: "manifest PUT foreign layer", method: "PUT", path: "/v2/foo/bar/manifests/foreign",
			body: []byte(`{"schemaVersion":2,"config":{"mediaType":"a/b","digest":"` + helloD + `","size":5},"layers":[{"mediaType":"a/c","digest":"` + missing + `","size":1,"urls":["https://example.com/x"]}]}`), code: 201},
		{desc: "manifest PUT data field mismatch", method: "PUT", path: "/v2/foo/bar/manifests/x",
			body: []byte(`{"schemaVersion":2,"config":{"mediaType":"a/b","digest":"` + helloD + `","size":5,"data":"aGVsbG8h"},"layers":[]}`), code: 400, errCode: "MANIFEST_INVALID"},
		{desc: "manifest PUT data field", method: "PUT", path: "/v2/foo/bar/manifests/withdata",
			body: []byte(`{"schemaVersion":2,"config":{"mediaType":"a/b","digest":"` + helloD + `","size":5,"data":"aGVsbG8="},"layers":[]}`), code: 201},
		{desc: "manifest PUT digest mismatch", method: "PUT", path: "/v2/foo/bar/manifests/" + missing, body: man, code: 400, errCode: "DIGEST_INVALID"},
		{desc: "manifest PUT index unknown child", method: "PUT", path: "/v2/foo/bar/manifests/idx", header: map[string]string{"Content-Type": mtOCIIndex},
			body: []byte(`{"schemaVersion":2,"mediaType":"` + mtOCIIndex + `","manifests":[{"mediaType":"` + mtOCIManifest + `","digest":"` + missing + `","size":1}]}`), code: 400, errCode: "MANIFEST_BLOB_UNKNOWN"},
		{desc: "manifest PUT index", method: "PUT", path: "/v2/foo/bar/manifests/idx", header: map[string]string{"Content-Type": mtOCIIndex},
			body: []byte(`{"schemaVersion":2,"mediaType":"` + mtOCIIndex + `","manifests":[{"mediaType":"` + mtOCIManifest + `","digest":"` + manD + `","size":` + fmt.Sprint(len(man)) + `}]}`), code: 201},
		{desc: "manifest PUT with tag params", method: "PUT", path: "/v2/foo/bar/manifests/" + manD + "?tag=t1&tag=t2", body: man, code: 201,
			want: map[string]string{"OCI-Tag": "t1"}},
		{desc: "manifest PUT bad tag param", method: "PUT", path: "/v2/foo/bar/manifests/" + manD + "?tag=-x", body: man, code: 400, errCode: "MANIFEST_INVALID"},
		{desc: "manifest PUT with subject", method: "PUT", path: "/v2/foo/bar/manifests/" + sigD, body: sig, code: 201, want: map[string]string{"OCI-Subject": manD}},
		{desc: "manifest POST not allowed", method: "POST", path: "/v2/foo/bar/manifests/latest", code: 405},
		{desc: "manifest DELETE unknown tag", method: "DELETE", path: "/v2/foo/bar/manifests/nope", code: 404, errCode: "MANIFEST_UNKNOWN"},
		{desc: "manifest DELETE unknown digest", method: "DELETE", path: "/v2/foo/bar/manifests/" + missing, code: 404, errCode: "MANIFEST_UNKNOWN"},

		{desc: "tags", method: "GET", path: "/v2/foo/bar/tags/list", code: 200, inBody: `"tags":["a","b","c","foreign","idx","latest","t1","t2","withdata","x-artifact","x-nomt"]`},
		{desc: "tags page", method: "GET", path: "/v2/foo/bar/tags/list?n=2", code: 200, inBody: `"tags":["a","b"]`,
			want: map[string]string{"Link": `</v2/foo/bar/tags/list?last=b&n=2>; rel="next"`}},
		{desc: "tags after last", method: "GET", path: "/v2/foo/bar/tags/list?n=2&last=b", code: 200, inBody: `"tags":["c","foreign"]`},
		{desc: "tags last not a tag", method: "GET", path: "/v2/foo/bar/tags/list?last=bb", code: 200, inBody: `"tags":["c","foreign","idx","latest","t1","t2","withdata","x-artifact","x-nomt"]`},
		{desc: "tags n=0", method: "GET", path: "/v2/foo/bar/tags/list?n=0", code: 200, inBody: `"tags":[]`, want: map[string]string{"Link": ""}},
		{desc: "tags bad n", method: "GET", path: "/v2/foo/bar/tags/list?n=-1", code: 400},
		{desc: "tags unknown repo", method: "GET", path: "/v2/nope/tags/list", code: 404, errCode: "NAME_UNKNOWN"},
		{desc: "catalog", method: "GET", path: "/v2/_catalog", code: 200, inBody: `{"repositories":["foo/bar","mounted"]}`},
		{desc: "catalog page", method: "GET", path: "/v2/_catalog?n=1", code: 200, inBody: `{"repositories":["foo/bar"]}`,
			want: map[string]string{"Link": `</v2/_catalog?last=foo%2Fbar&n=1>; rel="next"`}},
		{desc: "catalog after last", method: "GET", path: "/v2/_catalog?last=foo/bar", code: 200, inBody: `{"repositories":["mounted"]}`},

		{desc: "referrers", method: "GET", path: "/v2/foo/bar/referrers/" + manD, code: 200,
			inBody: `"artifactType":"application/vnd.example.sig"`, want: map[string]string{"Content-Type": mtOCIIndex, "OCI-Filters-Applied": ""}},
		{desc: "referrers filtered", method: "GET", path: "/v2/foo/bar/referrers/" + manD + "?artifactType=application/vnd.example.sig", code: 200,
			inBody: sigD, want: map[string]string{"OCI-Filters-Applied": "artifactType"}},
		{desc: "referrers filtered out", method: "GET", path: "/v2/foo/bar/referrers/" + manD + "?artifactType=other", code: 200,
			inBody: `"manifests":[]`, want: map[string]string{"OCI-Filters-Applied": "artifactType"}},
		{desc: "referrers none", method: "GET", path: "/v2/foo/bar/referrers/" + missing, code: 200, inBody: `"manifests":[]`},
		{desc: "referrers bad digest", method: "GET", path: "/v2/foo/bar/referrers/sha256:1", code: 400, errCode: "DIGEST_INVALID"},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			resp, body := do(t, srv, tc.method, tc.path, tc.header, tc.body)
			if resp.StatusCode != tc.code {
				t.Fatalf("%s %s = %d, want %d; body %s", tc.method, tc.path, resp.StatusCode, tc.code, body)
			}
			if got := resp.Header.Get("Docker-Distribution-API-Version"); got != "registry/2.0" {
				t.Errorf("Docker-Distribution-API-Version = %q", got)
			}
			if got := resp.Header.Get("X-Content-Type-Options"); got != "nosniff" {
				t.Errorf("X-Content-Type-Options = %q, want nosniff", got)
			}
			if tc.errCode != "" {
				if got := errCode(body); got != tc.errCode {
					t.Errorf("error code = %q, want %q (body %s)", got, tc.errCode, body)
				}
				if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
					t.Errorf("error Content-Type = %q", ct)
				}
			}
			for k, v := range tc.want {
				if got := resp.Header.Get(k); got != v {
					t.Errorf("header %s = %q, want %q", k, got, v)
				}
			}
			if tc.inBody != "" && !strings.Contains(string(body), tc.inBody) {
				t.Errorf("body %s does not contain %s", body, tc.inBody)
			}
			if tc.method == "HEAD" && len(body) != 0 {
				t.Errorf("HEAD returned a body")
			}
		})
	}
}
