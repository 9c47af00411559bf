package integration

import (
	"net/http"
	"testing"
)

// TestUploadSessionStaysInItsRepository checks that an upload id opened in one repository
// cannot be used through another the caller may push to: the gateway judges the
// repository in the path, so the registry must tie the session to it.
func TestUploadSessionStaysInItsRepository(t *testing.T) {
	s := newStack(t, mustLoad(t, defaultPolicy), nil)
	seedImage(t, s, "alice/app")
	r := call(t, admin, http.MethodPost, s.URL+"/v2/payments/api/blobs/uploads/", nil, nil)
	if r.Status != http.StatusAccepted {
		t.Fatalf("admin opening an upload: %d %s", r.Status, r.Body)
	}
	loc := r.Header.Get("Location")
	id := loc[len("/v2/payments/api/blobs/uploads/"):]
	if loc != "/v2/payments/api/blobs/uploads/"+id || id == "" {
		t.Fatalf("upload Location %q", loc)
	}
	body := []byte("hijack")
	for _, c := range []struct {
		method string
		query  string
	}{
		{http.MethodPatch, ""},
		{http.MethodPut, "?digest=" + digestOf(body)},
		{http.MethodGet, ""},
		{http.MethodDelete, ""},
	} {
		t.Run(c.method, func(t *testing.T) {
			uri := "/v2/alice/app/blobs/uploads/" + id + c.query
			r := call(t, reader, c.method, s.URL+uri, body, http.Header{"Content-Type": {"application/octet-stream"}})
			if r.Status != http.StatusNotFound {
				t.Errorf("alice %s %s (admin's session in payments/api): %d %s, want 404", c.method, uri, r.Status, r.Body)
			}
		})
	}
	if r := call(t, admin, http.MethodGet, s.URL+loc, nil, nil); r.Status != http.StatusNoContent || r.Header.Get("Range") != "0-0" && r.Header.Get("Range") != "" {
		t.Errorf("admin's session after the attempts: %d Range %q, want 204 and nothing written", r.Status, r.Header.Get("Range"))
	}
}
