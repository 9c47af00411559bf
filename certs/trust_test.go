package certs

import (
	"fmt"
	"strings"
	"testing"
)

func ExampleTrustInstructions() {
	fmt.Print(TrustInstructions("/var/lib/portcullis/certs/ca.crt", []string{"registry.lan:5443"}))
	// Output:
	// Portcullis local CA certificate (PEM): /var/lib/portcullis/certs/ca.crt
	//
	// Docker (per registry, no restart needed):
	//   sudo mkdir -p /etc/docker/certs.d/registry.lan:5443 && sudo cp /var/lib/portcullis/certs/ca.crt /etc/docker/certs.d/registry.lan:5443/ca.crt
	//
	// Podman, Buildah, Skopeo, CRI-O and containerd (per registry):
	//   sudo mkdir -p /etc/containers/certs.d/registry.lan:5443 && sudo cp /var/lib/portcullis/certs/ca.crt /etc/containers/certs.d/registry.lan:5443/ca.crt
	//   (containerd with config_path = "/etc/containerd/certs.d": use that directory instead)
	//
	// System trust store, Debian/Ubuntu:
	//   sudo cp /var/lib/portcullis/certs/ca.crt /usr/local/share/ca-certificates/portcullis-ca.crt && sudo update-ca-certificates
	//
	// System trust store, RHEL/Fedora/CentOS:
	//   sudo cp /var/lib/portcullis/certs/ca.crt /etc/pki/ca-trust/source/anchors/portcullis-ca.crt && sudo update-ca-trust
	//
	// Docker reads the system store only when it starts: after changing it, restart the daemon
	// (sudo systemctl restart docker), or use the per-registry directory above.
}

func TestTrustInstructions(t *testing.T) {
	got := TrustInstructions("/data/my certs/ca.crt", []string{"localhost:5443", "[::1]:5443"})
	for _, want := range []string{
		"'/data/my certs/ca.crt'", // quoted: it holds a space
		"/etc/docker/certs.d/localhost:5443/ca.crt",
		"'/etc/docker/certs.d/[::1]:5443/ca.crt'",
		"/etc/containers/certs.d/localhost:5443/ca.crt",
		"update-ca-certificates",
		"update-ca-trust",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("instructions lack %q:\n%s", want, got)
		}
	}
}

func TestShellQuote(t *testing.T) {
	for in, want := range map[string]string{
		"/plain/path.crt": "/plain/path.crt",
		"":                "''",
		"a b":             "'a b'",
		"it's":            `'it'\''s'`,
		"$(rm -rf /)":     "'$(rm -rf /)'",
		"[::1]:5443":      "'[::1]:5443'",
	} {
		if got := shellQuote(in); got != want {
			t.Errorf("shellQuote(%q) = %s, want %s", in, got, want)
		}
	}
}
