package testenv

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// RsyslogOptions says what the test's rsyslog listens on. CertFile and KeyFile, when
// set, add a TLS listener (RFC 5425, GnuTLS, clients not authenticated); CAFile is its
// CA file (GnuTLS wants one).
type RsyslogOptions struct {
	CAFile, CertFile, KeyFile string
}

// RsyslogServer is a running rsyslogd: plain TCP (imptcp), UDP (imudp) and, with a
// certificate, TLS (imtcp with the gtls driver) on loopback. Every message it receives is
// written to Out, one line each: the input that got it, then the message's RFC 5424
// parts as rsyslog parsed them, tab-separated: inputname, pri, timereported (RFC 3339),
// hostname, app-name, procid, msgid, structured-data, msg.
type RsyslogServer struct {
	TCP, UDP, TLS string // host:port; TLS "" without a certificate
	Out           string
}

// Rsyslog starts Debian's rsyslogd in the foreground with a configuration of its own in a
// temporary directory (no system files read or written), and returns once every listener
// accepts. It is killed when the test ends; its output is logged if the test failed.
func Rsyslog(t testing.TB, o RsyslogOptions) RsyslogServer {
	t.Helper()
	bin := NeedTool(t, "rsyslogd")
	dir := t.TempDir()
	s := RsyslogServer{TCP: freeTCP(t), UDP: freeUDP(t), Out: filepath.Join(dir, "out.log")}
	port := func(a string) string { _, p, _ := net.SplitHostPort(a); return p }
	var conf strings.Builder
	fmt.Fprintf(&conf, `global(workDirectory=%q maxMessageSize="64k")
`, dir)
	if o.CertFile != "" {
		s.TLS = freeTCP(t)
		fmt.Fprintf(&conf, `global(DefaultNetstreamDriver="gtls" DefaultNetstreamDriverCAFile=%q
       DefaultNetstreamDriverCertFile=%q DefaultNetstreamDriverKeyFile=%q)
module(load="imtcp" StreamDriver.Name="gtls" StreamDriver.Mode="1" StreamDriver.AuthMode="anon")
input(type="imtcp" address="127.0.0.1" port=%q ruleset="out")
`, o.CAFile, o.CertFile, o.KeyFile, port(s.TLS))
	}
	fmt.Fprintf(&conf, `module(load="imptcp")
input(type="imptcp" address="127.0.0.1" port=%q ruleset="out")
module(load="imudp")
input(type="imudp" address="127.0.0.1" port=%q ruleset="out")
template(name="parts" type="string"
  string="%%inputname%%\t%%pri%%\t%%timereported:::date-rfc3339%%\t%%hostname%%\t%%app-name%%\t%%procid%%\t%%msgid%%\t%%structured-data%%\t%%msg%%\n")
ruleset(name="out") {
  action(type="omfile" file=%q template="parts")
}
`, port(s.TCP), port(s.UDP), s.Out)
	cfg := filepath.Join(dir, "rsyslog.conf")
	if err := os.WriteFile(cfg, []byte(conf.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	var out SyncBuffer
	cmd := exec.Command(bin, "-n", "-f", cfg, "-i", filepath.Join(dir, "rsyslogd.pid"))
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting rsyslogd: %v", err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-done
		if t.Failed() {
			t.Logf("rsyslogd configuration:\n%s\noutput:\n%s", conf.String(), out.String())
		}
	})
	// Readiness: rsyslogd gives no signal but accepting; poll the TCP listeners, bounded.
	deadline := time.Now().Add(30 * time.Second)
	for _, a := range []string{s.TCP, s.TLS} {
		for a != "" {
			select {
			case <-done:
				t.Fatalf("rsyslogd exited:\n%s\nconfiguration:\n%s", out.String(), conf.String())
			default:
			}
			if c, err := net.DialTimeout("tcp", a, time.Second); err == nil {
				c.Close()
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("rsyslogd did not listen on %s within 30s:\n%s", a, out.String())
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	return s
}

func freeTCP(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func freeUDP(t testing.TB) string {
	t.Helper()
	c, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	return c.LocalAddr().String()
}
