package e2e

import (
	"context"
	"encoding/base64"
	"errors"
	"net"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

// ggcrHost stands for the gateway in go-containerregistry references. ggcr speaks plain
// HTTP to anything that looks like loopback (name.Registry.Scheme), so the tests name the
// gateway by this host and dial 127.0.0.1 underneath.
const ggcrHost = "gateway.e2e.test"

// ggcrRef parses a reference "repo:tag" or "repo@digest" on the gateway.
func (g *gateway) ggcrRef(t *testing.T, ref string) name.Reference {
	t.Helper()
	_, port, _ := net.SplitHostPort(g.Addr)
	r, err := name.ParseReference(ggcrHost + ":" + port + "/" + ref)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// ggcrOptions are remote options that reach the gateway over TLS verified with its CA.
func (g *gateway) ggcrOptions(t *testing.T, user, pass string) []remote.Option {
	t.Helper()
	base := g.Client.Transport.(*http.Transport).Clone()
	base.TLSClientConfig = base.TLSClientConfig.Clone()
	base.TLSClientConfig.ServerName = "127.0.0.1"
	base.DialContext = func(ctx context.Context, network, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, network, g.Addr)
	}
	t.Cleanup(base.CloseIdleConnections)
	opts := []remote.Option{remote.WithTransport(base), remote.WithContext(t.Context())}
	if user != "" {
		opts = append(opts, remote.WithAuth(&authn.Basic{Username: user, Password: pass}))
	}
	return opts
}

// pushGGCR pushes a random image of layers layers to ref as user and returns its digest.
func (g *gateway) pushGGCR(t *testing.T, ref, user, pass string, layers int) string {
	t.Helper()
	img := randomImage(t, layers)
	if err := remote.Write(g.ggcrRef(t, ref), img, g.ggcrOptions(t, user, pass)...); err != nil {
		t.Fatalf("remote.Write %s as %s: %v", ref, user, err)
	}
	return mustDigest(t, img).String()
}

func TestGoContainerRegistry(t *testing.T) {
	t.Parallel()
	// Debug logging, so the check that no credential reaches the log sees the most.
	g := startGateway(t, t.TempDir(), append(authFlags(t), "--log-level", "debug")...)
	opts := g.ggcrOptions(t, adminUser, adminPass)
	ref := g.ggcrRef(t, adminUser+"/ggcr:1")

	img := randomImage(t, 3)
	want := mustDigest(t, img)
	if err := remote.Write(ref, img, opts...); err != nil {
		t.Fatalf("remote.Write: %v", err)
	}
	desc, err := remote.Get(ref, opts...)
	if err != nil {
		t.Fatalf("remote.Get: %v", err)
	}
	if desc.Digest != want {
		t.Errorf("digest after round trip = %s, want %s", desc.Digest, want)
	}
	got, err := desc.Image()
	if err != nil {
		t.Fatal(err)
	}
	layers, err := got.Layers()
	if err != nil {
		t.Fatal(err)
	}
	if len(layers) != 3 {
		t.Errorf("pulled image has %d layers, want 3", len(layers))
	}
	for i, l := range layers {
		// Reading the whole layer makes ggcr verify its digest.
		if _, err := remote.Layer(ref.Context().Digest(mustLayerDigest(t, l)), opts...); err != nil {
			t.Errorf("layer %d: %v", i, err)
		}
	}

	byDigest := ref.Context().Digest(want.String())
	if err := remote.Delete(byDigest, opts...); err != nil {
		t.Fatalf("remote.Delete: %v", err)
	}
	_, err = remote.Get(byDigest, opts...)
	var terr *transport.Error
	if !errors.As(err, &terr) || terr.StatusCode != http.StatusNotFound {
		t.Errorf("remote.Get after delete: %v, want 404", err)
	}

	t.Run("anonymous", func(t *testing.T) {
		resp, err := g.Client.Get(g.URL + "/v2/")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("GET /v2/ without credentials: status %d, want 401", resp.StatusCode)
		}
		if ch := resp.Header.Get("WWW-Authenticate"); !strings.HasPrefix(ch, "Basic realm=") {
			t.Errorf("WWW-Authenticate = %q, want Basic realm=...", ch)
		}
		_, err = remote.Get(ref, g.ggcrOptions(t, "", "")...)
		if !errors.As(err, &terr) || terr.StatusCode != http.StatusUnauthorized {
			t.Errorf("anonymous remote.Get: %v, want 401", err)
		}
	})
	t.Run("wrong password", func(t *testing.T) {
		req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, g.URL+"/v2/", nil)
		if err != nil {
			t.Fatal(err)
		}
		req.SetBasicAuth(adminUser, adminPass+"x")
		resp, err := g.Client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("GET /v2/ with a wrong password: status %d, want 401", resp.StatusCode)
		}
		err = remote.Write(g.ggcrRef(t, adminUser+"/ggcr:2"), randomImage(t, 1), g.ggcrOptions(t, adminUser, adminPass+"x")...)
		if !errors.As(err, &terr) || terr.StatusCode != http.StatusUnauthorized {
			t.Errorf("remote.Write with a wrong password: %v, want 401", err)
		}
	})
	t.Run("no credentials in the log", func(t *testing.T) {
		basic := base64.StdEncoding.EncodeToString([]byte(adminUser + ":" + adminPass))
		for _, secret := range []string{adminPass, basic} {
			if strings.Contains(g.Log(), secret) {
				t.Errorf("the gateway log contains a credential (%q)", secret)
			}
		}
	})
	t.Run("right password", func(t *testing.T) {
		req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, g.URL+"/v2/", nil)
		if err != nil {
			t.Fatal(err)
		}
		req.SetBasicAuth(adminUser, adminPass)
		resp, err := g.Client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("GET /v2/ as %s: status %d, want 200", adminUser, resp.StatusCode)
		}
	})
}

func mustLayerDigest(t *testing.T, l v1.Layer) string {
	t.Helper()
	d, err := l.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return d.String()
}

// remoteGet returns the manifest digest of ref on the gateway, as user.
func remoteGet(t *testing.T, g *gateway, ref, user, pass string) (string, error) {
	t.Helper()
	desc, err := remote.Get(g.ggcrRef(t, ref), g.ggcrOptions(t, user, pass)...)
	if err != nil {
		return "", err
	}
	return desc.Digest.String(), nil
}
