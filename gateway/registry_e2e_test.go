package gateway

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/portcullis/portcullis/internal/testenv"
)

// headerSpy records every response header value a client receives.
type headerSpy struct {
	mu     sync.Mutex
	values []string
	next   http.RoundTripper
}

func (s *headerSpy) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := s.next.RoundTrip(r)
	if err == nil {
		s.mu.Lock()
		for k, vs := range resp.Header {
			for _, v := range vs {
				s.values = append(s.values, k+": "+v)
			}
		}
		s.mu.Unlock()
	}
	return resp, err
}

func TestDockerRegistryUpstream(t *testing.T) {
	upAddr := testenv.Registry2(t, "")
	up := mustUpstream(t, "http://"+upAddr, UpstreamOptions{})
	h, logs := newTestGateway(t, up, nil)
	front := httptest.NewServer(h)
	defer front.Close()
	frontHost := strings.TrimPrefix(front.URL, "http://")

	spy := &headerSpy{next: http.DefaultTransport}
	opts := []remote.Option{
		remote.WithAuth(&authn.Basic{Username: "alice", Password: "secret"}),
		remote.WithTransport(spy),
		remote.WithContext(t.Context()),
	}
	ref, err := name.ParseReference(frontHost+"/team/app:v1", name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	img, err := random.Image(256<<10, 3)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(ref, img, opts...); err != nil {
		t.Fatalf("push through the gateway: %v\n%s", err, logs)
	}
	got, err := remote.Image(ref, opts...)
	if err != nil {
		t.Fatalf("pull: %v", err)
	}
	layers, err := got.Layers()
	if err != nil || len(layers) != 3 {
		t.Fatalf("pulled %d layers: %v", len(layers), err)
	}
	for _, l := range layers { // ggcr checks each blob against its digest as it reads
		rc, err := l.Compressed()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := io.Copy(io.Discard, rc); err != nil {
			t.Fatalf("reading layer: %v", err)
		}
		rc.Close()
	}
	want, _ := img.Digest()
	if d, _ := got.Digest(); d != want {
		t.Fatalf("pulled %s, pushed %s", d, want)
	}

	// Wrong password and anonymous pulls are refused before the upstream.
	if _, err := remote.Image(ref, remote.WithAuth(&authn.Basic{Username: "alice", Password: "nope"})); err == nil {
		t.Fatal("pull with a wrong password succeeded")
	}
	if _, err := remote.Image(ref); err == nil {
		t.Fatal("anonymous pull succeeded")
	}

	// The catalog comes back filtered and paged through the gateway.
	req, _ := http.NewRequestWithContext(t.Context(), "GET", front.URL+"/v2/_catalog", nil)
	req.SetBasicAuth("alice", "secret")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	_, _ = buf.ReadFrom(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(buf.String(), `"team/app"`) {
		t.Fatalf("catalog: %d %s", resp.StatusCode, buf.String())
	}

	spy.mu.Lock()
	defer spy.mu.Unlock()
	sawLocation := false
	for _, v := range spy.values {
		if strings.Contains(v, upAddr) {
			t.Errorf("client saw the upstream address: %s", v)
		}
		if strings.HasPrefix(v, "Location: ") {
			sawLocation = true
			loc, err := url.Parse(strings.TrimPrefix(v, "Location: "))
			if err != nil || (loc.Host != "" && loc.Host != frontHost) {
				t.Errorf("Location not client-facing: %s", v)
			}
		}
	}
	if !sawLocation {
		t.Error("push produced no Location header to check")
	}
}
