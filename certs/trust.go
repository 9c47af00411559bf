package certs

import (
	"fmt"
	"strings"
)

// TrustInstructions tells a user how to make clients trust the local CA in caFile for the
// registry at each of hostPorts ("registry.lan:5443"): the per-registry directories of
// docker and of podman/containerd (no restart needed), and the system store on Debian/Ubuntu
// and RHEL/Fedora (for curl, skopeo and Go programs). The commands are meant to be pasted
// on the client machine after copying caFile there.
func TrustInstructions(caFile string, hostPorts []string) string {
	var b strings.Builder
	q := shellQuote(caFile)
	fmt.Fprintf(&b, "Portcullis local CA certificate (PEM): %s\n", caFile)
	if len(hostPorts) == 0 {
		hostPorts = []string{"localhost:443"}
	}
	b.WriteString("\nDocker (per registry, no restart needed):\n")
	for _, hp := range hostPorts {
		dir := "/etc/docker/certs.d/" + hp
		fmt.Fprintf(&b, "  sudo mkdir -p %s && sudo cp %s %s\n", shellQuote(dir), q, shellQuote(dir+"/ca.crt"))
	}
	b.WriteString("\nPodman, Buildah, Skopeo, CRI-O and containerd (per registry):\n")
	for _, hp := range hostPorts {
		dir := "/etc/containers/certs.d/" + hp
		fmt.Fprintf(&b, "  sudo mkdir -p %s && sudo cp %s %s\n", shellQuote(dir), q, shellQuote(dir+"/ca.crt"))
	}
	b.WriteString("  (containerd with config_path = \"/etc/containerd/certs.d\": use that directory instead)\n")
	b.WriteString("\nSystem trust store, Debian/Ubuntu:\n")
	fmt.Fprintf(&b, "  sudo cp %s /usr/local/share/ca-certificates/portcullis-ca.crt && sudo update-ca-certificates\n", q)
	b.WriteString("\nSystem trust store, RHEL/Fedora/CentOS:\n")
	fmt.Fprintf(&b, "  sudo cp %s /etc/pki/ca-trust/source/anchors/portcullis-ca.crt && sudo update-ca-trust\n", q)
	b.WriteString("\nDocker reads the system store only when it starts: after changing it, restart the daemon\n(sudo systemctl restart docker), or use the per-registry directory above.\n")
	return b.String()
}

// shellQuote quotes s for a POSIX shell when it holds anything beyond a safe set.
func shellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./:@%+=,") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
