package registry

import (
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/portcullis/portcullis/internal/testenv"
)

// leftovers lists what crashes leave under a registry root: temporary files and empty
// directories below blobs/ and repositories/.
func leftovers(t *testing.T, root string) []string {
	t.Helper()
	l := newLayout(root)
	return testenv.Leftovers(t, l.blobsDir(), l.reposDir())
}

// TestGCCrashLeftovers: the temporary files and empty directories a kill -9 leaves in
// each of the registry's write paths are swept (issue 12 fault 6); young ones only with
// TempMaxAge < 0 (a GC known to run offline); everything referenced is still served.
func TestGCCrashLeftovers(t *testing.T) {
	root := t.TempDir()
	srv := httptest.NewServer(newTestRegistryAt(t, root))
	man := imageManifest(t, srv, "r", nil, []byte("layer"))
	putManifest(t, srv, "r", "v1", man)
	srv.Close()

	l := newLayout(root)
	old := time.Now().Add(-2 * time.Hour)
	plant := func(path string, file bool) {
		t.Helper()
		dir := path
		if file {
			dir = filepath.Dir(path)
		}
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if file {
			if err := os.WriteFile(path, []byte("partial"), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		for p := path; p != l.base; p = filepath.Dir(p) {
			_ = os.Chtimes(p, old, old)
		}
	}
	ghost := digestOf(sha256Alg, []byte("never committed"))
	ghost2 := digestOf(sha256Alg, []byte("never committed either"))
	// commitBlob: the blob directory made, the rename never happened.
	plant(l.blobDir(ghost), false)
	// storeManifest: the manifest's temporary data file, never renamed.
	plant(filepath.Join(l.blobDir(ghost2), ".tmp-1"), true)
	// writeLink: a layer link directory and a revision link's temporary file.
	plant(l.layerLinkDir("r", ghost), false)
	plant(filepath.Join(l.revisionLinkDir("r", ghost2), ".tmp-2"), true)
	// A tag write interrupted in a repository of its own.
	plant(filepath.Join(l.tagDir("other", "t"), "current", ".tmp-3"), true)
	// A young one: a write may be under way.
	young := l.layerLinkDir("r", digestOf(sha256Alg, []byte("young")))
	if err := os.MkdirAll(young, 0o755); err != nil {
		t.Fatal(err)
	}
	before := leftovers(t, root)
	if len(before) < 5 {
		t.Fatalf("planted leftovers not found: %v", before)
	}

	rep, err := GC(t.Context(), root, GCOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// What stays is young: the directory above, and _uploads, which the pushes emptied.
	if got, want := leftovers(t, root), []string{young + "/", l.uploadsDir("r") + "/"}; !slices.Equal(got, want) {
		t.Errorf("after GC, leftovers %v; want only the young %v", got, want)
	}
	if rep.TempFilesRemoved != 3 || rep.EmptyDirsRemoved == 0 || rep.BlobsRemoved != 0 {
		t.Errorf("report %+v", rep)
	}
	if _, err := os.Stat(l.repoDir("other")); !isNotExist(err) {
		t.Errorf("repository holding only an interrupted tag write is still there: %v", err)
	}
	// Offline, no age is needed.
	if _, err := GC(t.Context(), root, GCOptions{TempMaxAge: -1}); err != nil {
		t.Fatal(err)
	}
	if got := leftovers(t, root); len(got) != 0 {
		t.Errorf("offline GC left %v", got)
	}
	srv2 := httptest.NewServer(newTestRegistryAt(t, root))
	defer srv2.Close()
	for _, p := range []string{"/v2/r/manifests/v1", "/v2/r/blobs/" + sha256Of([]byte("layer"))} {
		if resp, body := do(t, srv2, "GET", p, nil, nil); resp.StatusCode != 200 {
			t.Errorf("GET %s after GC = %d %s", p, resp.StatusCode, body)
		}
	}
	if resp, body := do(t, srv2, "GET", "/v2/_catalog", nil, nil); !strings.Contains(string(body), `["r"]`) {
		t.Errorf("catalog after GC = %d %s", resp.StatusCode, body)
	}
}
