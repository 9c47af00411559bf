package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/portcullis/portcullis/internal/testenv"
)

// TestSystemdUnit checks deploy/portcullis.service with systemd's own tools: `systemd-analyze
// verify` finds nothing wrong, and `systemd-analyze security --offline` rates its exposure
// low. The unit's ExecStart names /usr/local/bin/gateway; the copy checked here names the
// binary under test, which verify requires to exist.
func TestSystemdUnit(t *testing.T) {
	t.Parallel()
	needGateway(t)
	sa := testenv.NeedTool(t, "systemd-analyze")
	src, err := os.ReadFile(filepath.Join(repoRoot, "deploy", "portcullis.service"))
	if err != nil {
		t.Fatal(err)
	}
	unit := string(src)
	for _, want := range []string{
		"ExecStart=/usr/local/bin/gateway serve --config /etc/portcullis/gateway.yaml",
		"ExecReload=/bin/kill -HUP $MAINPID",
		"DynamicUser=yes", "StateDirectory=portcullis", "ReadWritePaths=/var/lib/portcullis",
		"ProtectSystem=strict", "ProtectHome=yes", "PrivateTmp=yes", "NoNewPrivileges=yes",
		"CapabilityBoundingSet=CAP_NET_BIND_SERVICE", "AmbientCapabilities=CAP_NET_BIND_SERVICE",
	} {
		if !strings.Contains(unit, "\n"+want+"\n") {
			t.Errorf("deploy/portcullis.service lacks the line %q", want)
		}
	}
	file := filepath.Join(t.TempDir(), "portcullis.service")
	if err := os.WriteFile(file, []byte(strings.ReplaceAll(unit, "/usr/local/bin/gateway", gatewayBin)), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.CommandContext(t.Context(), sa, "verify", "--man=no", file).CombinedOutput()
	if err != nil || len(strings.TrimSpace(string(out))) > 0 {
		t.Errorf("systemd-analyze verify: %v\n%s", err, out)
	}
	out, err = exec.CommandContext(t.Context(), sa, "security", "--offline=true", "--no-pager", file).CombinedOutput()
	m := regexp.MustCompile(`Overall exposure level for portcullis.service: ([0-9.]+)`).FindSubmatch(out)
	if err != nil || m == nil {
		t.Fatalf("systemd-analyze security --offline: %v\n%s", err, out)
	}
	if level, _ := strconv.ParseFloat(string(m[1]), 64); level > 2.0 {
		t.Errorf("exposure level %.1f, want at most 2.0 (0 is best, 10 worst):\n%s", level, out)
	}
	t.Logf("systemd-analyze security: exposure %s", m[1])
}
