package e2e

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
)

// call sends one request to the gateway as user (no credentials when user is "") and
// returns the response with its body read.
func (g *gateway) call(t *testing.T, method, path, user, pass string, header map[string]string, body []byte) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, g.URL+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if body == nil {
		req.Body, req.ContentLength = nil, 0
	}
	if user != "" {
		req.SetBasicAuth(user, pass)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := g.Client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: reading body: %v", method, path, err)
	}
	return resp, b
}

func sha256Digest(b []byte) string {
	s := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(s[:])
}

// TestHostileContent attacks the running binary (bundled registry) with manifests meant
// to be served as web pages, and with keys two parsers read differently (issue 12 fault
// 1): each is refused with MANIFEST_INVALID, the valid kinds (with and without mediaType,
// an OCI 1.1 artifact) are stored and served with their own type, blobs are served as
// application/octet-stream, and every answer says nosniff.
func TestHostileContent(t *testing.T) {
	t.Parallel()
	g := startGateway(t, t.TempDir(), authFlags(t)...)
	const repo = "/v2/" + adminUser + "/hostile"
	page := []byte("<html><script>alert(document.domain)</script></html>")
	pageD := sha256Digest(page)
	if resp, b := g.call(t, "POST", repo+"/blobs/uploads/?digest="+pageD, adminUser, adminPass, nil, page); resp.StatusCode != http.StatusCreated {
		t.Fatalf("blob push: %d %s", resp.StatusCode, b)
	}
	manifest := func(mediaType string, extra string) []byte {
		mt := ""
		if mediaType != "" {
			mt = `"mediaType":"` + mediaType + `",`
		}
		return []byte(`{"schemaVersion":2,` + mt + `"config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"` +
			pageD + `","size":` + itoa(len(page)) + `},"layers":[]` + extra + `}`)
	}
	const oci = "application/vnd.oci.image.manifest.v1+json"
	refused := []struct {
		name, ct string
		body     []byte
	}{
		{"mediaType text/html", "text/html", manifest("text/html", "")},
		{"mediaType image/svg+xml", "image/svg+xml", manifest("image/svg+xml", "")},
		{"mediaType text/html, OCI Content-Type", oci, manifest("text/html", "")},
		{"no mediaType, Content-Type text/html", "text/html", manifest("", "")},
		{"duplicate key", oci, manifest(oci, `,"layers":[{"mediaType":"x/y","digest":"`+pageD+`","size":1}]`)},
		{"duplicate nested key", oci, manifest(oci, `,"annotations":{"a":"1","a":"2"}`)},
		{"key twice under case folding", oci, manifest(oci, `,"MediaType":"text/html"`)},
	}
	for _, tc := range refused {
		resp, b := g.call(t, "PUT", repo+"/manifests/evil", adminUser, adminPass, map[string]string{"Content-Type": tc.ct}, tc.body)
		if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(b), "MANIFEST_INVALID") {
			t.Errorf("%s: PUT = %d %s, want 400 MANIFEST_INVALID", tc.name, resp.StatusCode, b)
		}
		if resp.Header.Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("%s: refusal without nosniff", tc.name)
		}
	}
	if resp, _ := g.call(t, "GET", repo+"/manifests/evil", adminUser, adminPass, nil, nil); resp.StatusCode != http.StatusNotFound {
		t.Errorf("GET of the refused manifests' tag = %d, want 404", resp.StatusCode)
	}

	accepted := []struct {
		name, tag, ct string
		body          []byte
	}{
		{"OCI manifest", "oci", oci, manifest(oci, "")},
		{"no mediaType, typed by Content-Type", "untyped", oci, manifest("", "")},
		{"OCI 1.1 artifact", "artifact", oci, []byte(`{"schemaVersion":2,"mediaType":"` + oci + `","artifactType":"application/vnd.example.sbom",` +
			`"config":{"mediaType":"application/vnd.oci.empty.v1+json","digest":"` + pageD + `","size":` + itoa(len(page)) + `},"layers":[]}`)},
	}
	for _, tc := range accepted {
		resp, b := g.call(t, "PUT", repo+"/manifests/"+tc.tag, adminUser, adminPass, map[string]string{"Content-Type": tc.ct}, tc.body)
		if resp.StatusCode != http.StatusCreated {
			t.Errorf("%s: PUT = %d %s, want 201", tc.name, resp.StatusCode, b)
			continue
		}
		resp, _ = g.call(t, "GET", repo+"/manifests/"+tc.tag, adminUser, adminPass, nil, nil)
		if ct := resp.Header.Get("Content-Type"); ct != oci {
			t.Errorf("%s: GET Content-Type %q, want %s", tc.name, ct, oci)
		}
		if resp.Header.Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("%s: GET without nosniff", tc.name)
		}
	}
	resp, b := g.call(t, "GET", repo+"/blobs/"+pageD, adminUser, adminPass, nil, nil)
	if resp.StatusCode != http.StatusOK || !bytes.Equal(b, page) {
		t.Fatalf("blob GET = %d", resp.StatusCode)
	}
	if ct, ns := resp.Header.Get("Content-Type"), resp.Header.Get("X-Content-Type-Options"); ct != "application/octet-stream" || ns != "nosniff" {
		t.Errorf("blob GET: Content-Type %q, X-Content-Type-Options %q; want application/octet-stream, nosniff", ct, ns)
	}
	for _, path := range []string{"/v2/", "/nowhere", repo + "/tags/list"} {
		resp, _ := g.call(t, "GET", path, "", "", nil, nil)
		if resp.Header.Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("GET %s (%d) without nosniff", path, resp.StatusCode)
		}
	}
}

func itoa(n int) string { return strconv.Itoa(n) }
