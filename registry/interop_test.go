package registry

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/portcullis/portcullis/internal/testenv"
)

// pushRandom writes a random multi-layer image to host/repo:tag with ggcr's client.
func pushRandom(t *testing.T, host, repo, tag string) v1.Image {
	t.Helper()
	img, err := random.Image(64<<10, 3)
	if err != nil {
		t.Fatal(err)
	}
	ref, err := name.ParseReference(host+"/"+repo+":"+tag, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(ref, img, remote.WithContext(t.Context())); err != nil {
		t.Fatalf("pushing to %s: %v", ref, err)
	}
	return img
}

// checkPulled pulls host/repo:tag and compares it byte for byte with want.
func checkPulled(t *testing.T, host, repo, tag string, want v1.Image) {
	t.Helper()
	ref, err := name.ParseReference(host+"/"+repo+":"+tag, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	desc, err := remote.Get(ref, remote.WithContext(t.Context()))
	if err != nil {
		t.Fatalf("pulling %s: %v", ref, err)
	}
	wantRaw, _ := want.RawManifest()
	if !bytes.Equal(desc.Manifest, wantRaw) {
		t.Fatalf("manifest bytes differ:\n got %s\nwant %s", desc.Manifest, wantRaw)
	}
	img, err := desc.Image()
	if err != nil {
		t.Fatal(err)
	}
	layers, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	wantLayers, _ := want.Layers()
	if len(layers) != len(wantLayers) {
		t.Fatalf("got %d layers, want %d", len(layers), len(wantLayers))
	}
	for i, l := range layers {
		// Reading the compressed stream makes ggcr verify it against the digest.
		rc, err := l.Compressed()
		if err != nil {
			t.Fatal(err)
		}
		var buf bytes.Buffer
		if _, err := buf.ReadFrom(rc); err != nil {
			t.Fatalf("layer %d: %v", i, err)
		}
		rc.Close()
		wl, _ := wantLayers[i].Compressed()
		var wbuf bytes.Buffer
		_, _ = wbuf.ReadFrom(wl)
		if !bytes.Equal(buf.Bytes(), wbuf.Bytes()) {
			t.Fatalf("layer %d bytes differ", i)
		}
	}
	cfg, _ := img.RawConfigFile()
	wantCfg, _ := want.RawConfigFile()
	if !bytes.Equal(cfg, wantCfg) {
		t.Fatal("config blob differs")
	}
}

// TestInteropRegistry2 shares one root directory between this registry and registry:2
// (docker-registry 2.8) in both directions.
func TestInteropRegistry2(t *testing.T) {
	if testing.Short() {
		t.Skip("needs docker-registry; skipped in -short mode")
	}
	testenv.NeedTool(t, "docker-registry")

	t.Run("ours then registry:2", func(t *testing.T) {
		root := t.TempDir()
		ours := httptest.NewServer(newTestRegistryAt(t, root))
		defer ours.Close()
		host := strings.TrimPrefix(ours.URL, "http://")
		img := pushRandom(t, host, "team/app", "v1")
		ours.Close()

		addr := testenv.Registry2(t, root)
		checkPulled(t, addr, "team/app", "v1", img)
		checkCatalogAndTags(t, addr, "team/app", "v1")
	})
	t.Run("registry:2 then ours", func(t *testing.T) {
		root := t.TempDir()
		addr := testenv.Registry2(t, root)
		img := pushRandom(t, addr, "team/app", "v2")

		ours := httptest.NewServer(newTestRegistryAt(t, root))
		defer ours.Close()
		host := strings.TrimPrefix(ours.URL, "http://")
		checkPulled(t, host, "team/app", "v2", img)
		checkCatalogAndTags(t, host, "team/app", "v2")

		// Our GC must read registry:2's data as live: nothing may be swept.
		rep, err := GC(t.Context(), root, GCOptions{DryRun: true})
		if err != nil {
			t.Fatal(err)
		}
		if rep.BlobsRemoved != 0 || rep.BlobsKept != 5 || rep.Manifests != 1 {
			t.Fatalf("GC on registry:2 data: %+v, want 5 blobs kept (manifest, config, 3 layers), none removed", rep)
		}
	})
}

// TestRegistry2GarbageCollectOnOurLayout runs registry:2's own garbage-collect over data
// we wrote, including our referrers index and a manifest deleted by digest: it must run
// cleanly, reclaim the deleted image's blobs and keep the rest servable.
func TestRegistry2GarbageCollectOnOurLayout(t *testing.T) {
	if testing.Short() {
		t.Skip("needs docker-registry; skipped in -short mode")
	}
	bin := testenv.NeedTool(t, "docker-registry")
	root := t.TempDir()
	srv := httptest.NewServer(newTestRegistryAt(t, root))
	host := strings.TrimPrefix(srv.URL, "http://")
	keep := pushRandom(t, host, "team/app", "keep")
	gone := pushRandom(t, host, "team/app", "gone")
	keepD, _ := keep.Digest()
	sig := imageManifest(t, srv, "team/app", map[string]any{
		"artifactType": "application/vnd.example.sig",
		"subject":      map[string]any{"mediaType": "application/vnd.docker.distribution.manifest.v2+json", "digest": keepD.String(), "size": 1},
	}, []byte("signature"))
	putManifest(t, srv, "team/app", "sig", sig)
	goneD, _ := gone.Digest()
	if resp, _ := do(t, srv, "DELETE", "/v2/team/app/manifests/"+goneD.String(), nil, nil); resp.StatusCode != 202 {
		t.Fatalf("DELETE = %d", resp.StatusCode)
	}
	srv.Close()

	out, err := exec.CommandContext(t.Context(), bin, "garbage-collect", testenv.Registry2Config(t, root, "127.0.0.1:0")).CombinedOutput()
	if err != nil {
		t.Fatalf("docker-registry garbage-collect: %v\n%s", err, out)
	}
	goneLayers, _ := gone.Layers()
	for _, l := range goneLayers {
		d, _ := l.Digest()
		if blobFileExists(root, d.String()) {
			t.Errorf("registry:2 GC kept deleted image's layer %s", d)
		}
	}
	srv2 := httptest.NewServer(newTestRegistryAt(t, root))
	defer srv2.Close()
	checkPulled(t, strings.TrimPrefix(srv2.URL, "http://"), "team/app", "keep", keep)
	if resp, body := do(t, srv2, "GET", "/v2/team/app/referrers/"+keepD.String(), nil, nil); resp.StatusCode != 200 || !strings.Contains(string(body), sha256Of(sig)) {
		t.Errorf("referrers after registry:2 GC: %d %s", resp.StatusCode, body)
	}
}

func checkCatalogAndTags(t *testing.T, host, repo, tag string) {
	t.Helper()
	for _, c := range []struct{ path, want string }{
		{"/v2/_catalog", `{"repositories":["` + repo + `"]}`},
		{"/v2/" + repo + "/tags/list", `{"name":"` + repo + `","tags":["` + tag + `"]}`},
	} {
		resp, err := http.Get("http://" + host + c.path)
		if err != nil {
			t.Fatal(err)
		}
		var b bytes.Buffer
		_, _ = b.ReadFrom(resp.Body)
		resp.Body.Close()
		if got := strings.TrimSpace(b.String()); got != c.want {
			t.Errorf("GET %s = %s, want %s", c.path, got, c.want)
		}
	}
}
