package e2e

import (
	"bytes"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// trustHost is a name the test maps to ::1 in /etc/hosts. The daemon treats 127.0.0.0/8
// as an insecure registry (TLS unverified, plain-HTTP fallback), so TestDocker cannot show
// that the certs.d CA is what makes TLS work; ::1 is not in that range, so through this
// name the daemon verifies the gateway's certificate for real.
const trustHost = "portcullis-e2e.test"

// mapHostToLoopback6 adds "::1 trustHost" to /etc/hosts for the test's duration.
func mapHostToLoopback6(t *testing.T) {
	t.Helper()
	const hosts = "/etc/hosts"
	old, err := os.ReadFile(hosts)
	if err != nil {
		t.Skipf("cannot read %s: %v", hosts, err)
	}
	line := []byte("::1 " + trustHost + "\n")
	if bytes.Contains(old, line) {
		return
	}
	add := append(bytes.TrimRight(old, "\n"), '\n')
	if err := os.WriteFile(hosts, append(add, line...), 0o644); err != nil {
		t.Skipf("cannot map %s to ::1 in %s (needs root): %v", trustHost, hosts, err)
	}
	t.Cleanup(func() {
		cur, err := os.ReadFile(hosts)
		if err == nil {
			os.WriteFile(hosts, bytes.Replace(cur, line, nil, 1), 0o644)
		}
	})
}

// TestDockerTrustsCA: the docker daemon refuses the gateway's self-signed certificate
// until its CA is placed in /etc/docker/certs.d/HOST:PORT/ca.crt, exactly as the startup
// log says, and then logs in, pushes and pulls over verified TLS.
func TestDockerTrustsCA(t *testing.T) {
	t.Parallel()
	needGateway(t)
	if l, err := net.Listen("tcp", "[::1]:0"); err != nil {
		t.Skipf("no IPv6 loopback here: %v", err)
	} else {
		l.Close()
	}
	mapHostToLoopback6(t)

	l, err := net.Listen("tcp", "[::1]:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	_, port, _ := net.SplitHostPort(addr)
	data := t.TempDir()
	g := &gateway{
		t:       t,
		args:    append([]string{"serve", "--listen", addr, "--data", data, "--hostname", trustHost}, authFlags(t)...),
		Data:    data,
		Addr:    addr,
		Host:    net.JoinHostPort(trustHost, port),
		URL:     "https://" + addr,
		CAFile:  filepath.Join(data, "certs", "ca.crt"),
		logPath: filepath.Join(t.TempDir(), "gateway.log"),
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("gateway log tail:\n%s", g.LogTail(40))
		}
		if g.running() {
			g.Stop()
		}
	})
	g.Start()
	if !strings.Contains(g.Log(), "/etc/docker/certs.d/"+g.Host+"/ca.crt") {
		t.Errorf("the startup log does not give the certs.d step for %s:\n%s", g.Host, g.LogTail(20))
	}

	d := newDockerUntrusted(t)
	if _, stderr, err := d.try(adminPass, "login", g.Host, "-u", adminUser, "--password-stdin"); err == nil {
		t.Fatalf("docker login succeeded before the CA was trusted: the daemon did not verify TLS")
	} else if !strings.Contains(stderr, "certificate") {
		t.Fatalf("docker login failed, but not on the certificate: %s", stderr)
	}

	d.trust(g)
	if out := d.run(adminPass, "login", g.Host, "-u", adminUser, "--password-stdin"); !strings.Contains(out, "Login Succeeded") {
		t.Fatalf("docker login with the CA trusted said %q", out)
	}
	ref := g.Host + "/" + adminUser + "/trusted:1"
	d.importScratch(ref)
	id := strings.TrimSpace(d.run("", "image", "inspect", "--format", "{{.Id}}", ref))
	d.run("", "push", ref)
	d.run("", "rmi", ref)
	d.run("", "pull", ref)
	if got := strings.TrimSpace(d.run("", "image", "inspect", "--format", "{{.Id}}", ref)); got != id {
		t.Errorf("pulled image id %s, pushed %s", got, id)
	}
	d.run("", "logout", g.Host)
}
