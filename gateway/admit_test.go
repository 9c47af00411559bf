package gateway

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync"
	"testing"

	"github.com/portcullis/portcullis/access"
)

func TestIsUpload(t *testing.T) {
	tests := []struct {
		method string
		kind   Kind
		want   bool
	}{
		{"POST", KindUploads, true},
		{"PATCH", KindUpload, true},
		{"PUT", KindUpload, true},
		{"PUT", KindManifest, true},
		{"GET", KindUpload, false},
		{"DELETE", KindUpload, false},
		{"HEAD", KindManifest, false},
		{"GET", KindBlob, false},
		{"DELETE", KindManifest, false},
		{"GET", KindCatalog, false},
	}
	for _, tt := range tests {
		if got := IsUpload(tt.method, tt.kind); got != tt.want {
			t.Errorf("IsUpload(%s, %s) = %v, want %v", tt.method, tt.kind, got, tt.want)
		}
	}
}

// TestUploadLimit: uploads take a slot per principal and in total, anonymous callers are
// counted per address, other requests take none, and a release (even twice) gives back
// exactly one slot.
func TestUploadLimit(t *testing.T) {
	user := func(name string) access.Principal { return access.Principal{Name: name, Method: access.MethodBasic} }
	upload := func(p access.Principal, ip string) Admission {
		return Admission{Route: Route{Kind: KindUpload}, Method: "PATCH", Principal: p, ClientIP: netip.MustParseAddr(ip)}
	}
	l := NewUploadLimit(5, 2)
	ctx := context.Background()
	admit := func(a Admission) (func(), *Limited) { return l.Admit(ctx, a) }

	relA1, lim := admit(upload(user("alice"), "192.0.2.1"))
	if lim != nil {
		t.Fatal(lim.Reason)
	}
	if _, lim := admit(upload(user("alice"), "192.0.2.2")); lim != nil { // another address: still alice
		t.Fatal(lim.Reason)
	}
	lim3 := func() *Limited { _, lim := admit(upload(user("alice"), "192.0.2.3")); return lim }()
	if lim3 == nil || lim3.Err.HTTPStatus() != http.StatusTooManyRequests || lim3.RetryAfter != UploadRetryAfter ||
		!strings.Contains(lim3.Err.Message, "this account (2)") {
		t.Fatalf("alice's third upload: %+v", lim3)
	}
	// Reads are never counted.
	for range 10 {
		if _, lim := admit(Admission{Route: Route{Kind: KindBlob}, Method: "GET", Principal: user("alice")}); lim != nil {
			t.Fatal("a blob GET was limited")
		}
	}
	// Anonymous pushers are told apart by address.
	anon := access.Anonymous()
	admit(upload(anon, "198.51.100.1"))
	admit(upload(anon, "198.51.100.1"))
	if _, lim := admit(upload(anon, "198.51.100.1")); lim == nil {
		t.Error("a third anonymous upload from one address was admitted")
	}
	if _, lim := admit(upload(anon, "198.51.100.2")); lim != nil {
		t.Errorf("an anonymous upload from a fresh address: %s", lim.Reason)
	}
	// Five in flight: the total cap holds for a fresh principal too.
	if n := l.InFlight(); n != 5 {
		t.Fatalf("InFlight = %d, want 5", n)
	}
	if _, lim := admit(upload(user("bob"), "192.0.2.9")); lim == nil || !strings.Contains(lim.Err.Message, "the gateway (5)") {
		t.Fatalf("bob past the total cap: %+v", lim)
	}
	relA1()
	relA1()
	if n := l.InFlight(); n != 4 {
		t.Fatalf("InFlight after a double release = %d, want 4", n)
	}
	if _, lim := admit(upload(user("bob"), "192.0.2.9")); lim != nil {
		t.Fatalf("bob after a slot came back: %s", lim.Reason)
	}
}

// TestPipelineAdmission: with uploads in flight up to the cap, the next upload of that
// principal is answered 429 TOOMANYREQUESTS with Retry-After, recorded as limited under
// its account; a pull and another principal's upload go through; a finished upload gives
// its slot back.
func TestPipelineAdmission(t *testing.T) {
	release := make(chan struct{})
	entered := make(chan struct{}, 8)
	backend := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPatch {
			entered <- struct{}{}
			<-release
		}
		w.WriteHeader(http.StatusAccepted)
	})
	obs := &recorder{}
	h, _ := newTestGateway(t, backend, nil, func(c *Config) {
		c.Admitter = NewUploadLimit(0, 2)
		c.Observers = []Observer{obs}
	})
	patch := func(user string) *httptest.ResponseRecorder {
		w := httptest.NewRecorder()
		r := basic(httptest.NewRequestWithContext(t.Context(), "PATCH", "/v2/"+user+"/app/blobs/uploads/3f1c-AB_9=", strings.NewReader("layer")), user)
		h.ServeHTTP(w, r)
		return w
	}
	var wg sync.WaitGroup
	for range 2 {
		wg.Go(func() { patch("alice") })
		<-entered
	}
	w := patch("alice")
	if w.Code != http.StatusTooManyRequests || w.Header().Get("Retry-After") != "5" {
		t.Fatalf("alice's third upload: %d, Retry-After %q; want 429, 5", w.Code, w.Header().Get("Retry-After"))
	}
	if e := decodeEnvelope(t, w.Body.String()); e.Errors[0].Code != "TOOMANYREQUESTS" {
		t.Errorf("code %s, want TOOMANYREQUESTS", e.Errors[0].Code)
	}
	if rec := obs.last(); rec.Outcome != OutcomeLimited || rec.Account != "alice" || rec.Status != 429 || !strings.Contains(rec.Reason, "too many uploads") {
		t.Errorf("record: outcome %s, account %q, status %d, reason %q", rec.Outcome, rec.Account, rec.Status, rec.Reason)
	}
	g := httptest.NewRecorder()
	h.ServeHTTP(g, basic(httptest.NewRequestWithContext(t.Context(), "GET", "/v2/alice/app/manifests/latest", nil), "alice"))
	if g.Code != http.StatusAccepted {
		t.Errorf("alice's pull while her uploads are capped: %d", g.Code)
	}
	wg.Go(func() {
		if w := patch("bob"); w.Code != http.StatusAccepted {
			t.Errorf("bob's upload: %d", w.Code)
		}
	})
	<-entered
	close(release)
	wg.Wait()
	if w := patch("alice"); w.Code != http.StatusAccepted {
		t.Errorf("alice's upload after hers finished: %d %s", w.Code, w.Body)
	}
}
