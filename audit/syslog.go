package audit

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"
)

// Syslog delivers lines as RFC 5424 messages over UDP (RFC 5426: one message per
// datagram), TCP (RFC 6587 octet counting) or TLS (RFC 5425, octet counting). Each
// message carries the record's kind as MSGID, its key fields as structured data
// ([portcullis@32473 ...]: 32473 is the enterprise number RFC 5612 reserves for
// documentation, since the SD-ID is ours to name), and the whole JSON line as MSG, so a
// SIEM can filter on the structured data and still verify the chain from the lines.
type Syslog struct {
	network string // udp, tcp
	addr    string
	tls     *tls.Config // TLS over tcp, when set
	host    string      // HOSTNAME
	pid     string
	dial    time.Duration
	conn    net.Conn // owned by the queue's goroutine
}

// NewSyslog parses a target: udp://host:port, tcp://host:port, or tcp+tls://host:port
// (tlsConfig verifies the server; nil uses the system roots and the URL's host as name).
// Port defaults: 514 for udp and tcp, 6514 for TLS.
func NewSyslog(target string, tlsConfig *tls.Config) (*Syslog, error) {
	u, err := url.Parse(target)
	if err != nil {
		return nil, fmt.Errorf("syslog target %q: %w", target, err)
	}
	s := &Syslog{pid: strconv.Itoa(os.Getpid()), dial: 10 * time.Second}
	port := "514"
	switch u.Scheme {
	case "udp":
		s.network = "udp"
	case "tcp":
		s.network = "tcp"
	case "tcp+tls", "tls":
		s.network, port = "tcp", "6514"
		if tlsConfig == nil {
			tlsConfig = &tls.Config{}
		}
		s.tls = tlsConfig.Clone()
		if s.tls.ServerName == "" {
			s.tls.ServerName = u.Hostname()
		}
		s.tls.MinVersion = max(s.tls.MinVersion, tls.VersionTLS12)
	default:
		return nil, fmt.Errorf("syslog target %q: scheme must be udp, tcp or tcp+tls", target)
	}
	if u.Hostname() == "" || u.Path != "" && u.Path != "/" || u.RawQuery != "" || u.User != nil {
		return nil, fmt.Errorf("syslog target %q: write scheme://host[:port]", target)
	}
	if u.Port() != "" {
		port = u.Port()
	}
	s.addr = net.JoinHostPort(u.Hostname(), port)
	s.host = "-"
	if h, err := os.Hostname(); err == nil && h != "" {
		s.host = printASCII(h, 255)
	}
	return s, nil
}

// Name implements Remote.
func (s *Syslog) Name() string { return "syslog" }

// MaxBatch implements Remote.
func (s *Syslog) MaxBatch() int { return 64 }

// Deliver implements Remote: it writes each line as a message, connecting first if needed.
// A failed write drops the connection; the retry reconnects and sends the batch again.
func (s *Syslog) Deliver(ctx context.Context, lines [][]byte) error {
	if s.conn == nil {
		d := net.Dialer{Timeout: s.dial}
		var err error
		if s.tls != nil {
			td := tls.Dialer{NetDialer: &d, Config: s.tls}
			s.conn, err = td.DialContext(ctx, s.network, s.addr)
		} else {
			s.conn, err = d.DialContext(ctx, s.network, s.addr)
		}
		if err != nil {
			s.conn = nil
			return err
		}
	}
	buf := make([]byte, 0, 4096)
	for _, l := range lines {
		msg, err := FormatSyslog(l, s.host, s.pid)
		if err != nil {
			continue // not a line of ours; nothing a retry would change
		}
		buf = buf[:0]
		if s.network == "tcp" {
			buf = strconv.AppendInt(buf, int64(len(msg)), 10)
			buf = append(buf, ' ')
		}
		buf = append(buf, msg...)
		_ = s.conn.SetWriteDeadline(time.Now().Add(30 * time.Second))
		if _, err := s.conn.Write(buf); err != nil {
			s.conn.Close()
			s.conn = nil
			return err
		}
	}
	return nil
}

// Close implements Remote.
func (s *Syslog) Close() error {
	if s.conn == nil {
		return nil
	}
	err := s.conn.Close()
	s.conn = nil
	return err
}

// sdID is the structured data element's ID: a name of ours at the documentation PEN.
const sdID = "portcullis@32473"

// Facility 13 is RFC 5424's "log audit".
const facilityAudit = 13

// Severities: notice for what changes or refuses, info for reads, warning for refusals.
const (
	sevWarning = 4
	sevNotice  = 5
	sevInfo    = 6
)

// FormatSyslog formats one audit line (with or without its newline) as an RFC 5424
// message: <PRI>1 TIMESTAMP HOSTNAME portcullis PROCID MSGID [SD] MSG, MSG being the line.
func FormatSyslog(line []byte, host, pid string) ([]byte, error) {
	line = trimNewline(line)
	l, err := parseLine(line)
	if err != nil {
		return nil, err
	}
	sev := sevNotice
	switch l.Kind {
	case KindPull, KindCatalog, KindCheckpoint:
		sev = sevInfo
	case KindDenied, KindLoginFailed:
		sev = sevWarning
	}
	if l.Kind == KindConfigReloaded && l.Error != "" {
		sev = sevWarning
	}
	b := make([]byte, 0, len(line)+256)
	b = append(b, '<')
	b = strconv.AppendInt(b, facilityAudit*8+int64(sev), 10)
	b = append(b, ">1 "...)
	b = l.Time.UTC().AppendFormat(b, "2006-01-02T15:04:05.000000Z07:00")
	b = append(b, ' ')
	b = append(b, host...)
	b = append(b, " portcullis "...)
	b = append(b, pid...)
	b = append(b, ' ')
	b = append(b, printASCII(string(l.Kind), 32)...)
	b = append(b, " ["...)
	b = append(b, sdID...)
	param := func(name, value string) {
		if value == "" {
			return
		}
		b = append(b, ' ')
		b = append(b, name...)
		b = append(b, `="`...)
		b = appendSDValue(b, value)
		b = append(b, '"')
	}
	param("v", strconv.Itoa(l.V))
	param("seq", strconv.FormatUint(l.Seq, 10))
	param("user", l.User)
	param("account", l.Account)
	param("auth", l.Auth)
	param("client", l.ClientIP)
	param("repository", l.Repository)
	param("action", strings.Join(l.Actions, ","))
	param("reference", l.Reference)
	param("digest", l.Digest)
	param("decision", l.Decision)
	if l.Status != 0 {
		param("status", strconv.Itoa(l.Status))
	}
	param("request", l.RequestID)
	b = append(b, "] "...)
	b = append(b, line...)
	return b, nil
}

// appendSDValue escapes a PARAM-VALUE as RFC 5424 section 6.3.3 says: '"', '\' and ']'
// get a backslash. Invalid UTF-8 and control characters are replaced, since a value must
// be UTF-8 and a receiver reading line-framed input must not see a line break.
func appendSDValue(b []byte, v string) []byte {
	for _, r := range v {
		switch {
		case r == '"' || r == '\\' || r == ']':
			b = append(b, '\\', byte(r))
		case r == 0xFFFD || r < 0x20 || r == 0x7f:
			b = append(b, '?')
		default:
			b = append(b, string(r)...)
		}
	}
	return b
}

// printASCII keeps the printable US-ASCII of s (what HOSTNAME and MSGID may hold), at
// most n bytes; "-" when nothing is left.
func printASCII(s string, n int) string {
	var b strings.Builder
	for i := 0; i < len(s) && b.Len() < n; i++ {
		if c := s[i]; c > 32 && c < 127 {
			b.WriteByte(c)
		}
	}
	if b.Len() == 0 {
		return "-"
	}
	return b.String()
}

func trimNewline(b []byte) []byte {
	if len(b) > 0 && b[len(b)-1] == '\n' {
		return b[:len(b)-1]
	}
	return b
}

// ParseSyslogSD reads the structured data element of a message FormatSyslog wrote back
// into its parameters, undoing the escaping: for tests and for receivers in Go.
func ParseSyslogSD(sd string) (map[string]string, error) {
	sd = strings.TrimSpace(sd)
	if !strings.HasPrefix(sd, "["+sdID) || !strings.HasSuffix(sd, "]") {
		return nil, errors.New("not a " + sdID + " element")
	}
	rest := sd[len(sdID)+1 : len(sd)-1]
	out := map[string]string{}
	for len(rest) > 0 {
		if rest[0] != ' ' {
			return nil, fmt.Errorf("expected a space at %q", rest)
		}
		rest = rest[1:]
		eq := strings.IndexByte(rest, '=')
		if eq <= 0 || len(rest) < eq+2 || rest[eq+1] != '"' {
			return nil, fmt.Errorf("bad parameter at %q", rest)
		}
		name := rest[:eq]
		rest = rest[eq+2:]
		var v strings.Builder
		i := 0
		for ; i < len(rest); i++ {
			c := rest[i]
			if c == '\\' && i+1 < len(rest) && strings.IndexByte(`"\]`, rest[i+1]) >= 0 {
				v.WriteByte(rest[i+1])
				i++
				continue
			}
			if c == '"' {
				break
			}
			if c == ']' {
				return nil, fmt.Errorf("unescaped ']' in %s", name)
			}
			v.WriteByte(c)
		}
		if i == len(rest) {
			return nil, fmt.Errorf("unterminated value of %s", name)
		}
		out[name] = v.String()
		rest = rest[i+1:]
	}
	return out, nil
}
