package audit

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/portcullis/portcullis/certs"
	"github.com/portcullis/portcullis/internal/testenv"
)

// chainLine makes one chained line of ev.
func chainLine(t testing.TB, ev Event) []byte {
	t.Helper()
	body, err := json.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	line, _ := Head{}.line(body)
	return line
}

// splitSyslog takes a message FormatSyslog wrote apart: the header fields, the
// structured data (as sent) and the MSG.
func splitSyslog(t testing.TB, msg []byte) (header []string, sd string, rest []byte) {
	t.Helper()
	parts := bytes.SplitN(msg, []byte(" "), 7)
	if len(parts) != 7 {
		t.Fatalf("message %q has fewer than 7 space-separated parts", msg)
	}
	for _, p := range parts[:6] {
		header = append(header, string(p))
	}
	s := parts[6]
	if len(s) == 0 || s[0] != '[' {
		t.Fatalf("no structured data in %q", msg)
	}
	for i := 1; i < len(s); i++ {
		switch s[i] {
		case '\\':
			i++
		case '"':
			// inside a value: skip to its closing quote
			for i++; i < len(s) && s[i] != '"'; i++ {
				if s[i] == '\\' {
					i++
				}
			}
		case ']':
			return header, string(s[:i+1]), bytes.TrimPrefix(s[i+1:], []byte(" "))
		}
	}
	t.Fatalf("structured data not closed in %q", msg)
	return
}

func TestFormatSyslog(t *testing.T) {
	ev := Event{Time: time.Date(2026, 11, 30, 12, 0, 0, 123456789, time.UTC), Kind: KindLoginFailed,
		Account: `eve"] [x@1 a="b`, Auth: "basic", ClientIP: "192.0.2.7", Status: 401,
		UserAgent: "curl\r\nInjected: yes", RequestID: `r\1`}
	line := chainLine(t, ev)
	msg, err := FormatSyslog(line, "gw1", "42")
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%s", msg)
	if bytes.ContainsAny(msg, "\r\n") {
		t.Fatalf("message holds a line break: %q", msg)
	}
	header, sd, rest := splitSyslog(t, msg)
	want := []string{"<108>1", "2026-11-30T12:00:00.123456Z", "gw1", "portcullis", "42", "login_failed"}
	if strings.Join(header, " ") != strings.Join(want, " ") {
		t.Errorf("header %q, want %q (facility 13 log audit, severity 4 warning)", header, want)
	}
	params, err := ParseSyslogSD(sd)
	if err != nil {
		t.Fatalf("%s: %v", sd, err)
	}
	for k, v := range map[string]string{"account": ev.Account, "auth": "basic", "client": "192.0.2.7",
		"status": "401", "request": `r\1`, "seq": "1", "v": "1"} {
		if params[k] != v {
			t.Errorf("%s = %q, want %q", k, params[k], v)
		}
	}
	if len(params) != 7 {
		t.Errorf("params %q: the account's brackets and quotes made extra ones", params)
	}
	if !bytes.Equal(rest, trimNewline(line)) {
		t.Errorf("MSG %q, want the line %q", rest, line)
	}
}

// FuzzSyslogSD: whatever a client puts in a name or agent, the message is one line, its
// structured data parses back to the value (control characters and invalid UTF-8
// replaced), and MSG is the line.
func FuzzSyslogSD(f *testing.F) {
	for _, s := range []string{"alice", `a"b`, `a\b`, "a]b", "]", `\`, "a\nb", "\xff\xfe", "é€", `"]["`} {
		f.Add(s, s)
	}
	f.Fuzz(func(t *testing.T, user, agent string) {
		line := chainLine(t, Event{Time: time.Unix(0, 0), Kind: KindPush, User: user, Repository: "r", UserAgent: agent})
		msg, err := FormatSyslog(line, "h", "1")
		if err != nil {
			t.Fatal(err)
		}
		if bytes.ContainsAny(msg, "\r\n") {
			t.Fatalf("line break in %q", msg)
		}
		_, sd, rest := splitSyslog(t, msg)
		params, err := ParseSyslogSD(sd)
		if err != nil {
			t.Fatalf("%q: %v", sd, err)
		}
		if want := sanitizeSD(user); params["user"] != want {
			t.Errorf("user %q came back as %q, want %q", user, params["user"], want)
		}
		if !bytes.Equal(rest, trimNewline(line)) {
			t.Errorf("MSG %q is not the line", rest)
		}
	})
}

// sanitizeSD is what appendSDValue keeps of s, unescaped.
func sanitizeSD(s string) string {
	var b strings.Builder
	for _, r := range s { // each invalid byte is one utf8.RuneError, as encoding/json replaces it
		if r == utf8.RuneError || r < 0x20 || r == 0x7f {
			b.WriteByte('?')
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// TestRsyslog sends records to Debian's rsyslogd over TCP, TLS and UDP and parses them
// back from what rsyslog wrote: its own reading of the RFC 5424 header and structured
// data, and the JSON line, whose chain still verifies.
func TestRsyslog(t *testing.T) {
	if testing.Short() {
		t.Skip("starts rsyslogd")
	}
	certDir := t.TempDir()
	if _, err := certs.NewSelfSigned(certs.SelfSignedOptions{Dir: certDir, Hosts: []string{"127.0.0.1"}}); err != nil {
		t.Fatal(err)
	}
	rs := testenv.Rsyslog(t, testenv.RsyslogOptions{CAFile: filepath.Join(certDir, "ca.crt"),
		CertFile: filepath.Join(certDir, "server.crt"), KeyFile: filepath.Join(certDir, "server.key")})
	caPEM, err := os.ReadFile(filepath.Join(certDir, "ca.crt"))
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(caPEM)
	var remotes []Remote
	for _, target := range []string{"tcp://" + rs.TCP, "tcp+tls://" + rs.TLS, "udp://" + rs.UDP} {
		s, err := NewSyslog(target, &tls.Config{RootCAs: pool})
		if err != nil {
			t.Fatal(err)
		}
		remotes = append(remotes, &renamed{Remote: s, name: "syslog-" + strings.Split(target, ":")[0]})
	}
	tr, cfg := newTrail(t, func(c *Config) { c.Remotes = remotes })
	hostile := `eve" ] \ [x@1 a="b` + "\nInjected: 1"
	events := []Event{
		{Kind: KindPush, User: "alice", Auth: "basic", Repository: "team/app", Actions: []string{"pull", "push"}, Reference: "v1", Digest: "sha256:" + strings.Repeat("a", 64), Status: 201},
		{Kind: KindDenied, User: "bob", Auth: "basic", Repository: "prod/db", Actions: []string{"pull"}, Decision: DecisionDenied, Status: 403},
		{Kind: KindLoginFailed, Account: hostile, Auth: "basic", UserAgent: hostile, Status: 401},
	}
	for _, ev := range events {
		if err := tr.Emit(t.Context(), ev); err != nil {
			t.Fatal(err)
		}
	}
	if err := tr.Close(t.Context()); err != nil {
		t.Fatal(err)
	}
	want := len(readLines(t, cfg.File)) // start checkpoint, 3 events, shutdown checkpoint
	byInput := map[string][][]string{}
	waitFor(t, "rsyslog to write every message from every input", func() bool {
		b, _ := os.ReadFile(rs.Out)
		byInput = map[string][][]string{}
		for _, l := range strings.Split(strings.TrimSuffix(string(b), "\n"), "\n") {
			if f := strings.Split(l, "\t"); len(f) == 9 {
				byInput[f[0]] = append(byInput[f[0]], f)
			}
		}
		return len(byInput["imptcp"]) == want && len(byInput["imtcp"]) == want && len(byInput["imudp"]) == want
	})
	for input, rows := range byInput {
		var lines [][]byte
		for i, f := range rows {
			pri, _ := strconv.Atoi(f[1])
			msg := strings.TrimPrefix(f[8], " ")
			l, err := parseLine([]byte(msg))
			if err != nil {
				t.Fatalf("%s: MSG %q: %v", input, msg, err)
			}
			if f[4] != "portcullis" || f[5] != strconv.Itoa(os.Getpid()) || f[6] != string(l.Kind) || pri/8 != facilityAudit {
				t.Errorf("%s row %d: app %q procid %q msgid %q pri %d; record %s", input, i, f[4], f[5], f[6], pri, l.Kind)
			}
			if ts, err := time.Parse(time.RFC3339, f[2]); err != nil || !ts.Equal(l.Time.Truncate(time.Microsecond)) {
				t.Errorf("%s row %d: timestamp %q, record %v", input, i, f[2], l.Time)
			}
			params, err := ParseSyslogSD(f[7])
			if err != nil {
				t.Fatalf("%s: structured data %q: %v", input, f[7], err)
			}
			if params["seq"] != strconv.FormatUint(l.Seq, 10) || params["user"] != l.User || params["repository"] != l.Repository {
				t.Errorf("%s row %d: structured data %q does not match the record %s", input, i, f[7], msg)
			}
			if l.Kind == KindLoginFailed && (l.Account != hostile || params["account"] != sanitizeSD(hostile)) {
				t.Errorf("%s: the hostile account came back as %q (record) and %q (structured data)", input, l.Account, params["account"])
			}
			lines = append(lines, []byte(msg))
		}
		file := filepath.Join(t.TempDir(), "from-"+input+".log")
		writeLines(t, file, lines)
		if rep, err := Verify([]string{file}, publicKey(t, cfg)); err != nil || !rep.OK() {
			t.Errorf("%s: the lines rsyslog received do not verify: %v %v", input, rep.Problem, err)
		}
	}
}

// renamed gives a remote sink another name (two syslog sinks in one trail).
type renamed struct {
	Remote
	name string
}

func (r *renamed) Name() string { return r.name }
