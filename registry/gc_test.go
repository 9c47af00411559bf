package registry

import (
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestGC(t *testing.T) {
	root := t.TempDir()
	srv := httptest.NewServer(newTestRegistryAt(t, root))
	defer srv.Close()

	keep := imageManifest(t, srv, "r", nil, []byte("keep-layer"), []byte("shared-layer"))
	putManifest(t, srv, "r", "keep", keep)
	gone := imageManifest(t, srv, "r", nil, []byte("gone-layer"), []byte("shared-layer"))
	goneD := sha256Of(gone)
	putManifest(t, srv, "r", "gone", gone)
	// An untagged referrer of the kept image survives: it is a revision of its own.
	sig := imageManifest(t, srv, "r", map[string]any{
		"artifactType": "application/vnd.example.sig",
		"subject":      map[string]any{"mediaType": mtOCIManifest, "digest": sha256Of(keep), "size": len(keep)},
	}, []byte("signature"))
	putManifest(t, srv, "r", sha256Of(sig), sig)
	// An index keeps its children.
	idx := []byte(`{"schemaVersion":2,"mediaType":"` + mtOCIIndex + `","manifests":[{"mediaType":"` + mtOCIManifest + `","digest":"` + sha256Of(keep) + `","size":1}]}`)
	if resp, body := do(t, srv, "PUT", "/v2/r/manifests/idx", map[string]string{"Content-Type": mtOCIIndex}, idx); resp.StatusCode != 201 {
		t.Fatalf("index PUT = %d %s", resp.StatusCode, body)
	}
	orphan := pushBlob(t, srv, "r", []byte("orphan blob, never referenced"))

	if resp, _ := do(t, srv, "DELETE", "/v2/r/manifests/"+goneD, nil, nil); resp.StatusCode != 202 {
		t.Fatalf("DELETE = %d", resp.StatusCode)
	}
	// A stale upload and a fresh one.
	resp, _ := do(t, srv, "POST", "/v2/r/blobs/uploads/", nil, nil)
	staleLoc := resp.Header.Get("Location")
	do(t, srv, "PATCH", staleLoc, nil, []byte("partial"))
	now := time.Now().Add(8 * 24 * time.Hour)
	resp, _ = do(t, srv, "POST", "/v2/r/blobs/uploads/", nil, nil)
	fresh := filepath.Join(root, "docker/registry/v2/repositories/r/_uploads", filepath.Base(resp.Header.Get("Location")))
	if err := os.WriteFile(filepath.Join(fresh, "startedat"), []byte(now.UTC().Format(time.RFC3339)), 0o644); err != nil {
		t.Fatal(err)
	}
	// A temporary file a crash left behind.
	tmp := filepath.Join(root, "docker/registry/v2/repositories/r/_manifests/tags/keep/current/.tmp-123")
	if err := os.WriteFile(tmp, []byte("partial"), 0o644); err != nil {
		t.Fatal(err)
	}
	srv.Close()

	wantRemoved := []string{goneD, sha256Of([]byte("gone-layer")), orphan}
	// The two image configs are the same bytes, so "gone"'s config stays with "keep".
	dry, err := GC(t.Context(), root, GCOptions{DryRun: true, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	if dry.BlobsRemoved != len(wantRemoved) || dry.UploadsRemoved != 1 {
		t.Fatalf("dry run report %+v, want %d blobs and 1 upload", dry, len(wantRemoved))
	}
	for _, d := range wantRemoved {
		if !blobFileExists(root, d) {
			t.Fatalf("dry run removed %s", d)
		}
	}
	rep, err := GC(t.Context(), root, GCOptions{Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	if rep != dry {
		t.Fatalf("real run %+v differs from dry run %+v", rep, dry)
	}
	for _, d := range wantRemoved {
		if blobFileExists(root, d) {
			t.Errorf("GC kept %s", d)
		}
	}
	if _, err := os.Stat(tmp); err == nil {
		t.Errorf("stale temporary file kept")
	}
	if rep.BytesRemoved <= 0 || rep.UploadBytesRemoved != int64(len("partial")) || rep.Manifests != 3 || rep.TempFilesRemoved != 1 {
		t.Errorf("report %+v", rep)
	}
	// Everything still referenced is still served.
	srv2 := httptest.NewServer(newTestRegistryAt(t, root))
	defer srv2.Close()
	for _, p := range []string{"/v2/r/manifests/keep", "/v2/r/manifests/idx", "/v2/r/manifests/" + sha256Of(sig),
		"/v2/r/blobs/" + sha256Of([]byte("shared-layer")), "/v2/r/blobs/" + sha256Of([]byte("signature"))} {
		if resp, body := do(t, srv2, "GET", p, nil, nil); resp.StatusCode != 200 {
			t.Errorf("GET %s after GC = %d %s", p, resp.StatusCode, body)
		}
	}
	if resp, _ := do(t, srv2, "GET", "/v2/r/blobs/"+orphan, nil, nil); resp.StatusCode != 404 {
		t.Errorf("swept blob GET = %d", resp.StatusCode)
	}
	if _, err := os.Stat(fresh); err != nil {
		t.Errorf("fresh upload removed: %v", err)
	}
	// A second run finds nothing more.
	again, err := GC(t.Context(), root, GCOptions{Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	if again.BlobsRemoved != 0 || again.UploadsRemoved != 0 {
		t.Errorf("second GC removed more: %+v", again)
	}
}

// TestGCRefusesUnreadableManifest: a revision GC cannot parse stops it before sweeping.
func TestGCRefusesUnreadableManifest(t *testing.T) {
	root := t.TempDir()
	srv := httptest.NewServer(newTestRegistryAt(t, root))
	orphan := pushBlob(t, srv, "r", []byte("orphan"))
	bad := pushBlob(t, srv, "r", []byte("not json"))
	srv.Close()
	d, _ := parseDigest(bad)
	l := newLayout(root)
	if err := writeLink(l.revisionLinkDir("r", d), d); err != nil {
		t.Fatal(err)
	}
	if _, err := GC(t.Context(), root, GCOptions{}); err == nil {
		t.Fatal("GC succeeded over an unreadable manifest")
	}
	if !blobFileExists(root, orphan) {
		t.Fatal("GC swept despite failing to mark")
	}
}

func blobFileExists(root, ds string) bool {
	d, ok := parseDigest(ds)
	if !ok {
		return false
	}
	_, err := os.Stat(newLayout(root).blobData(d))
	return err == nil
}

// TestGCRemoveUntagged: with RemoveUntagged only what tags reach (through index
// children and referrers) survives.
func TestGCRemoveUntagged(t *testing.T) {
	root := t.TempDir()
	srv := httptest.NewServer(newTestRegistryAt(t, root))
	tagged := imageManifest(t, srv, "r", nil, []byte("tagged-layer"))
	putManifest(t, srv, "r", "v1", tagged)
	untagged := imageManifest(t, srv, "r", nil, []byte("untagged-layer"))
	putManifest(t, srv, "r", sha256Of(untagged), untagged)
	child := imageManifest(t, srv, "r", nil, []byte("child-layer"))
	putManifest(t, srv, "r", sha256Of(child), child)
	idx := []byte(`{"schemaVersion":2,"mediaType":"` + mtOCIIndex + `","manifests":[{"mediaType":"` + mtOCIManifest + `","digest":"` + sha256Of(child) + `","size":1}]}`)
	if resp, body := do(t, srv, "PUT", "/v2/r/manifests/multi", map[string]string{"Content-Type": mtOCIIndex}, idx); resp.StatusCode != 201 {
		t.Fatalf("index PUT = %d %s", resp.StatusCode, body)
	}
	sig := imageManifest(t, srv, "r", map[string]any{
		"subject": map[string]any{"mediaType": mtOCIManifest, "digest": sha256Of(tagged), "size": len(tagged)},
	}, []byte("sig-layer"))
	putManifest(t, srv, "r", sha256Of(sig), sig)
	srv.Close()

	rep, err := GC(t.Context(), root, GCOptions{RemoveUntagged: true})
	if err != nil {
		t.Fatal(err)
	}
	if rep.ManifestsRemoved != 1 || rep.Manifests != 4 || rep.BlobsRemoved != 2 {
		t.Fatalf("report %+v: want 1 manifest and 2 blobs (manifest, layer) removed, 4 manifests kept", rep)
	}
	for _, b := range [][]byte{untagged, []byte("untagged-layer")} {
		if blobFileExists(root, sha256Of(b)) {
			t.Errorf("untagged content %q kept", b[:min(len(b), 20)])
		}
	}
	for _, b := range [][]byte{tagged, child, idx, sig, []byte("tagged-layer"), []byte("child-layer"), []byte("sig-layer")} {
		if !blobFileExists(root, sha256Of(b)) {
			t.Errorf("reachable content %q removed", b[:min(len(b), 20)])
		}
	}
}
