package gateway

import (
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/portcullis/portcullis/access"
	"github.com/portcullis/portcullis/internal/testenv"
)

// distribution reads the upload parameters (mount, from, digest) with r.FormValue, which
// also parses a form-encoded request body. A gateway that judged only the URL's query
// would let a form body carry a cross-repository mount past the pull check. Form bodies
// are no part of the registry API, so the gateway refuses them on every route.

func TestFormBodiesRefused(t *testing.T) {
	backend := &echoBackend{}
	h, _ := newTestGateway(t, backend, nil)
	for _, tc := range []struct {
		method, path, ctype string
		want                int
	}{
		{"POST", "/v2/bob/app/blobs/uploads/", "application/x-www-form-urlencoded", 400},
		{"POST", "/v2/bob/app/blobs/uploads/", "Application/X-WWW-Form-Urlencoded; charset=utf-8", 400},
		{"POST", "/v2/bob/app/blobs/uploads/", "multipart/form-data; boundary=x", 400},
		{"PUT", "/v2/bob/app/blobs/uploads/abc", "application/x-www-form-urlencoded", 400},
		{"PATCH", "/v2/bob/app/blobs/uploads/abc", " multipart/form-data ;boundary=y", 400},
		{"GET", "/v2/bob/app/tags/list", "application/x-www-form-urlencoded", 400},
		{"POST", "/v2/bob/app/blobs/uploads/", "application/octet-stream", 200},
		{"POST", "/v2/bob/app/blobs/uploads/", "", 200},
		{"PUT", "/v2/bob/app/manifests/v1", "application/vnd.oci.image.manifest.v1+json", 200},
	} {
		t.Run(tc.method+" "+tc.ctype, func(t *testing.T) {
			r := httptest.NewRequest(tc.method, tc.path, strings.NewReader("mount="+testDigest+"&from=secret/repo"))
			if tc.ctype != "" {
				r.Header.Set("Content-Type", tc.ctype)
			}
			w := httptest.NewRecorder()
			h.ServeHTTP(w, basic(r, "bob"))
			if w.Code != tc.want {
				t.Fatalf("status %d, want %d: %s", w.Code, tc.want, w.Body)
			}
			if tc.want == 400 && !strings.Contains(w.Body.String(), `"UNSUPPORTED"`) {
				t.Fatalf("body %s, want UNSUPPORTED", w.Body)
			}
		})
	}
}

// TestFormMountAgainstRegistry2 tries the smuggled mount on a real registry 2.8: bob may
// push to bob/app but not pull secret/repo, which holds the blob. The blob must not
// appear in bob/app.
func TestFormMountAgainstRegistry2(t *testing.T) {
	upAddr := testenv.Registry2(t, "")
	blob := []byte("secret layer bytes")
	sum := sha256.Sum256(blob)
	dg := "sha256:" + hex.EncodeToString(sum[:])
	resp, err := http.Post("http://"+upAddr+"/v2/secret/repo/blobs/uploads/", "", nil)
	if err != nil || resp.StatusCode != 202 {
		t.Fatalf("starting an upload to secret/repo: %v %v", resp, err)
	}
	resp.Body.Close()
	put, _ := http.NewRequest("PUT", resp.Header.Get("Location")+"&digest="+dg, strings.NewReader(string(blob)))
	put.Header.Set("Content-Type", "application/octet-stream")
	if resp, err = http.DefaultClient.Do(put); err != nil || resp.StatusCode != 201 {
		t.Fatalf("seeding secret/repo: %v %v", resp, err)
	}
	resp.Body.Close()

	noSecret := grantIf(func(p access.Principal, _, name, action string) bool {
		return p.Name == "bob" && (strings.HasPrefix(name, "bob/") || name == "catalog")
	})
	h, _ := newTestGateway(t, mustUpstream(t, "http://"+upAddr, UpstreamOptions{}), noSecret)
	front := httptest.NewServer(h)
	defer front.Close()

	req, _ := http.NewRequest("POST", front.URL+"/v2/bob/app/blobs/uploads/", strings.NewReader("mount="+dg+"&from=secret/repo"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth("bob", "secret")
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode == http.StatusCreated {
		t.Fatal("a form body mounted secret/repo's blob into bob/app: the pull check was bypassed")
	}
	head, err := http.Head("http://" + upAddr + "/v2/bob/app/blobs/" + dg)
	if err != nil {
		t.Fatal(err)
	}
	head.Body.Close()
	if head.StatusCode == http.StatusOK {
		t.Fatal("the blob is linked into bob/app")
	}
}
