package notify

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/portcullis/portcullis/access"
	"github.com/portcullis/portcullis/auth"
	"github.com/portcullis/portcullis/gateway"
	"github.com/portcullis/portcullis/internal/testenv"
	"github.com/portcullis/portcullis/registry"
)

// docEnvelope is registry:2's envelope as its documentation ("Work with notifications",
// docs/notifications.md) describes it; the receiver refuses any field it does not name.
type docEnvelope struct {
	Events []struct {
		ID        string    `json:"id"`
		Timestamp time.Time `json:"timestamp"`
		Action    string    `json:"action"`
		Target    struct {
			MediaType      string `json:"mediaType"`
			Size           int64  `json:"size"`
			Digest         string `json:"digest"`
			Length         int64  `json:"length"`
			Repository     string `json:"repository"`
			FromRepository string `json:"fromRepository"`
			URL            string `json:"url"`
			Tag            string `json:"tag"`
		} `json:"target"`
		Request struct {
			ID        string `json:"id"`
			Addr      string `json:"addr"`
			Host      string `json:"host"`
			Method    string `json:"method"`
			UserAgent string `json:"useragent"`
		} `json:"request"`
		Actor struct {
			Name string `json:"name"`
		} `json:"actor"`
		Source struct {
			Addr       string `json:"addr"`
			InstanceID string `json:"instanceID"`
		} `json:"source"`
	} `json:"events"`
}

// hookReceiver collects envelopes, decoded as documented, normalized: what differs by
// nature between two registries (ids, times, addresses, instance, host in URLs) is cut.
type hookReceiver struct {
	t  *testing.T
	mu sync.Mutex
	ev []string
}

func (h *hookReceiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if ct := r.Header.Get("Content-Type"); ct != EnvelopeMediaType {
		h.t.Errorf("Content-Type %q, want %q", ct, EnvelopeMediaType)
	}
	body, _ := io.ReadAll(r.Body)
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	var env docEnvelope
	if err := dec.Decode(&env); err != nil {
		h.t.Errorf("envelope does not decode as documented: %v\n%s", err, body)
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, e := range env.Events {
		if e.ID == "" || e.Timestamp.IsZero() || e.Source.InstanceID == "" || e.Request.ID == "" {
			h.t.Errorf("event lacks id, timestamp, instance or request id: %+v", e)
		}
		tg := e.Target
		path := tg.URL
		if i := strings.Index(path, "/v2/"); i >= 0 {
			path = path[i:]
		}
		h.ev = append(h.ev, fmt.Sprintf("%s %s repo=%s tag=%s digest=%s size=%d length=%d mediaType=%s from=%s url=%s actor=%s ua=%s",
			e.Action, e.Request.Method, tg.Repository, tg.Tag, tg.Digest, tg.Size, tg.Length, tg.MediaType, tg.FromRepository,
			path, e.Actor.Name, e.Request.UserAgent))
	}
}

func (h *hookReceiver) events() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := slices.Clone(h.ev)
	slices.Sort(out)
	return out
}

// basicAlice accepts alice:secret.
type basicAlice struct{}

func (basicAlice) Authenticate(_ context.Context, r *http.Request) (access.Principal, error) {
	u, p, ok := r.BasicAuth()
	switch {
	case !ok:
		return access.Anonymous(), nil
	case u == "alice" && p == "secret":
		return access.Principal{Name: u, Method: access.MethodBasic}, nil
	}
	return access.Principal{}, &access.BadCredentialsError{Account: u}
}

// exercise pushes img as team/app:v1, pulls it by tag (HEAD and GET of the manifest, GET
// of every blob) and mounts its first layer into team/other, on host.
func exercise(t *testing.T, host string, img v1.Image) {
	t.Helper()
	opts := []remote.Option{remote.WithAuth(&authn.Basic{Username: "alice", Password: "secret"}), remote.WithUserAgent("compat-test")}
	ref, err := name.ParseReference(host+"/team/app:v1", name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(ref, img, opts...); err != nil {
		t.Fatalf("push to %s: %v", host, err)
	}
	if _, err := remote.Head(ref, opts...); err != nil {
		t.Fatal(err)
	}
	got, err := remote.Image(ref, opts...)
	if err != nil {
		t.Fatal(err)
	}
	layers, _ := got.Layers()
	for _, l := range layers {
		rc, err := l.Compressed()
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, rc)
		rc.Close()
	}
	if _, err := got.RawConfigFile(); err != nil {
		t.Fatal(err)
	}
	// A cross-repository mount of the first layer.
	d, _ := layers[0].Digest()
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost,
		"http://"+host+"/v2/team/other/blobs/uploads/?mount="+d.String()+"&from=team/app", nil)
	req.SetBasicAuth("alice", "secret")
	req.Header.Set("User-Agent", "compat-test")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("mount on %s: %s", host, resp.Status)
	}
}

// TestSameEventsAsRegistry2: one receiver decoding registry:2's documented envelope gets
// the same events (normalized) from a push, pull and mount through the gateway (bundled,
// and sidecar in front of a registry 2.8; alice authenticated by the gateway) and from a
// real docker-registry 2.8 with notifications configured and htpasswd auth for the same
// user.
func TestSameEventsAsRegistry2(t *testing.T) {
	if testing.Short() {
		t.Skip("runs docker-registry")
	}
	img, err := random.Image(1024, 2)
	if err != nil {
		t.Fatal(err)
	}

	// registry:2 2.8, notifying hookR.
	hookR := &hookReceiver{t: t}
	srvR := httptest.NewServer(hookR)
	defer srvR.Close()
	htpasswd := filepath.Join(t.TempDir(), "htpasswd")
	if err := auth.SetPassword(htpasswd, "alice", []byte("secret"), 5); err != nil {
		t.Fatal(err)
	}
	regAddr := testenv.Registry2With(t, "", fmt.Sprintf(`auth:
  htpasswd:
    realm: test
    path: %s
notifications:
  endpoints:
    - name: test
      url: %s/hook
      timeout: 2s
      threshold: 3
      backoff: 100ms
`, htpasswd, srvR.URL))
	exercise(t, regAddr, img)

	// The gateway, with the bundled registry and in front of another registry 2.8
	// (sidecar), each notifying its own receiver.
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	reg, err := registry.New(registry.Options{Root: t.TempDir(), Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	upstream, err := url.Parse("http://" + testenv.Registry2(t, ""))
	if err != nil {
		t.Fatal(err)
	}
	sidecar, err := gateway.NewUpstream(upstream, gateway.UpstreamOptions{Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	gws := map[string]*hookReceiver{}
	for mode, backend := range map[string]http.Handler{"bundled": gateway.NewInProcess(reg), "sidecar": sidecar} {
		hook := &hookReceiver{t: t}
		srv := httptest.NewServer(hook)
		defer srv.Close()
		n, err := New(Config{Endpoints: []Endpoint{{Name: "test", URL: srv.URL + "/hook"}}, Backend: backend,
			Source: Source{Addr: "gw:443"}, Logger: log})
		if err != nil {
			t.Fatal(err)
		}
		h, err := gateway.New(gateway.Config{Backend: backend, Authenticator: basicAlice{}, Authorizer: gateway.AllowAuthenticated{},
			Observers: []gateway.Observer{n}, Logger: log})
		if err != nil {
			t.Fatal(err)
		}
		gw := httptest.NewServer(h)
		exercise(t, strings.TrimPrefix(gw.URL, "http://"), img)
		gw.Close()
		if err := n.Close(t.Context()); err != nil {
			t.Fatal(err)
		}
		gws[mode] = hook
	}

	want := countEvents(img)
	deadline := time.Now().Add(30 * time.Second)
	for len(hookR.events()) < want && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond) // registry:2 delivers on its own goroutine
	}
	fromR := hookR.events()
	if len(fromR) != want {
		t.Errorf("registry 2.8 sent %d events, expected %d:\n%s", len(fromR), want, strings.Join(fromR, "\n"))
	}
	for mode, hook := range gws {
		fromG := hook.events()
		t.Logf("%s: registry 2.8 sent %d events, the gateway %d:\n%s", mode, len(fromR), len(fromG), strings.Join(fromG, "\n"))
		if strings.Join(fromR, "\n") != strings.Join(fromG, "\n") {
			t.Errorf("%s: events differ\nregistry 2.8:\n%s\ngateway:\n%s", mode, strings.Join(fromR, "\n"), strings.Join(fromG, "\n"))
		}
		for _, e := range fromG {
			if !strings.Contains(e, "actor=alice") {
				t.Errorf("%s: event without the authenticated actor: %s", mode, e)
			}
		}
	}
}

// countEvents is what exercise makes registry:2 send: a push per blob (config and
// layers) and for the manifest, a pull for the manifest HEAD and GET, a pull per blob, a
// mount.
func countEvents(img v1.Image) int {
	layers, _ := img.Layers()
	blobs := len(layers) + 1
	return blobs + 1 + 2 + blobs + 1
}
