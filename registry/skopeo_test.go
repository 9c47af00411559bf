package registry

import (
	"net/http/httptest"
	"os/exec"
	"strings"
	"testing"

	"github.com/portcullis/portcullis/internal/testenv"
)

// TestSkopeoCopy copies an image with skopeo (containers/image, another client stack than
// ggcr) from this registry to registry:2 and back, checking it byte for byte each time.
func TestSkopeoCopy(t *testing.T) {
	if testing.Short() {
		t.Skip("needs skopeo and docker-registry; skipped in -short mode")
	}
	skopeo := testenv.NeedTool(t, "skopeo")
	ours := httptest.NewServer(newTestRegistry(t))
	defer ours.Close()
	host := strings.TrimPrefix(ours.URL, "http://")
	reg2 := testenv.Registry2(t, t.TempDir())

	img := pushRandom(t, host, "src/app", "v1")
	copyImage := func(from, to string) {
		t.Helper()
		cmd := exec.CommandContext(t.Context(), skopeo, "--insecure-policy", "copy",
			"--src-tls-verify=false", "--dest-tls-verify=false", "--preserve-digests",
			"docker://"+from, "docker://"+to)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("skopeo copy %s %s: %v\n%s", from, to, err, out)
		}
	}
	copyImage(host+"/src/app:v1", reg2+"/mid/app:v1")
	checkPulled(t, reg2, "mid/app", "v1", img)
	copyImage(reg2+"/mid/app:v1", host+"/dst/app:v1")
	checkPulled(t, host, "dst/app", "v1", img)
}
