package config

import (
	"errors"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden with the current output")

// TestProblemsGolden: a file with problems of every kind, a misspelt variable, and all
// sources at once each give one list naming every problem with where it was set. The
// lists are testdata/*.golden (go test ./config -run Golden -update rewrites them).
func TestProblemsGolden(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		env  map[string]string
	}{
		{"file", []string{"--config", "testdata/broken.yaml"}, nil},
		{"env", nil, map[string]string{
			"GATEWAY_LISTN":            ":9999",
			"GATEWAY_TLS_CERTIFICATE":  "/etc/gateway/cert.pem",
			"GATEWAY_LOG_LEVEL":        "verbose",
			"GATEWAY_SHUTDOWN_TIMEOUT": "60",
			"GATEWAY_SERVICE_HOST":     "10.0.0.11", // Kubernetes' own: not a setting, not a problem
		}},
		{"sources", []string{"--config", "testdata/broken.yaml", "--tls", "off", "--realm", `a"b`, "--shutdown-timeout", "2x"},
			map[string]string{"GATEWAY_CONFG": "other.yaml", "GATEWAY_UPSTREAM": "ftp://registry"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := loader(t, tc.args, tc.env).Load()
			var b strings.Builder
			for _, e := range Problems(err) {
				if _, ok := errors.AsType[*Problem](e); !ok {
					t.Errorf("%v is a %T, not a *Problem", e, e)
				}
				b.WriteString(e.Error() + "\n")
			}
			golden(t, filepath.Join("testdata", tc.name+".golden"), b.String())
		})
	}
}

func golden(t *testing.T, file, got string) {
	t.Helper()
	if *update {
		if err := os.WriteFile(file, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(file)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("problems differ from %s (-update rewrites it)\ngot:\n%s\nwant:\n%s", file, got, want)
	}
}

func TestGoodFile(t *testing.T) {
	c, err := loader(t, []string{"--config", "testdata/ok.yaml"}, nil).Load()
	if err != nil {
		t.Fatal(err)
	}
	if c.ShutdownTimeout != 90*time.Second || !slices.Equal(c.Hostname, []string{"registry.example.com"}) ||
		c.Realm != "registry.example.com" || c.Upstream != "http://127.0.0.1:5000/mirror" {
		t.Errorf("unexpected config: %+v", c)
	}
}

// TestDurationForms: the file, the environment and the flags read a duration alike.
func TestDurationForms(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want time.Duration // when ok
		ok   bool
	}{
		{"60s", 60 * time.Second, true},
		{"2m", 2 * time.Minute, true},
		{"1h30m", 90 * time.Minute, true},
		{"1500ms", 1500 * time.Millisecond, true},
		{"60", 60 * time.Second, true},
		{"+5", 5 * time.Second, true},
		{"0", 0, true}, // read; Validate then asks for a positive value
		{"soon", 0, false},
		{"60.5", 0, false},
		{"1e3", 0, false},
		{"60 s", 0, false},
		{"9223372037", 0, false}, // seconds beyond time.Duration
	} {
		t.Run(tc.in, func(t *testing.T) {
			dir := t.TempDir()
			plain, quoted := filepath.Join(dir, "plain.yaml"), filepath.Join(dir, "quoted.yaml")
			os.WriteFile(plain, []byte("shutdown_timeout: "+tc.in+"\n"), 0o600)
			os.WriteFile(quoted, []byte("shutdown_timeout: \""+tc.in+"\"\n"), 0o600)
			for src, l := range map[string]*Loader{
				"file":         loader(t, []string{"--config", plain}, nil),
				"quoted file":  loader(t, []string{"--config", quoted}, nil),
				"env":          loader(t, nil, map[string]string{"GATEWAY_SHUTDOWN_TIMEOUT": tc.in}),
				"flag":         loader(t, []string{"--shutdown-timeout", tc.in}, nil),
				"flag with =":  loader(t, []string{"--shutdown-timeout=" + tc.in}, nil),
				"env and flag": loader(t, []string{"--shutdown-timeout", tc.in}, map[string]string{"GATEWAY_SHUTDOWN_TIMEOUT": "1s"}),
			} {
				c, err := l.Read()
				switch {
				case tc.ok && err != nil:
					t.Errorf("%s: %v", src, err)
				case tc.ok && c.ShutdownTimeout != tc.want:
					t.Errorf("%s: got %v, want %v", src, c.ShutdownTimeout, tc.want)
				case !tc.ok && (err == nil || !strings.Contains(err.Error(), "shutdown") && !strings.Contains(err.Error(), "SHUTDOWN")):
					t.Errorf("%s: err = %v, want a problem naming shutdown_timeout", src, err)
				}
			}
		})
	}
}

func TestNearest(t *testing.T) {
	for _, tc := range []struct{ word, want string }{
		{"listn", "listen"},
		{"tls_cretificate", "tls_cert"},
		{"tls_certificate", "tls_cert"},
		{"tls-cert", "tls_cert"},
		{"TLS_CERT", "tls_cert"},
		{"tsl", "tls"},
		{"shutdown_timout", "shutdown_timeout"},
		{"loglevel", "log_level"},
		{"trusted_proxies", "trusted_proxy"},
		{"hostnames", "hostname"},
		{"acme_mail", "acme_email"},
		{"metrics", "metrics_listen"},
		{"upstream_url", "upstream"},
		{"port", ""},
		{"foo", ""},
		{"x", ""},
		{"", ""},
		{"tls_client_cert", "tls_client_ca"},
	} {
		if got := Nearest(tc.word, knownKeys()); got != tc.want {
			t.Errorf("Nearest(%q) = %q, want %q", tc.word, got, tc.want)
		}
	}
	for _, tc := range []struct{ name, want string }{
		{"GATEWAY_LISTN", "GATEWAY_LISTEN"},
		{"GATEWAY_CONFG", "GATEWAY_CONFIG"},
		{"GATEWAY_TLS_CERTIFICATE", "GATEWAY_TLS_CERT"},
		{"GATEWAY_LOGLEVEL", "GATEWAY_LOG_LEVEL"},
		{"GATEWAY_PORT", ""},
		{"GATEWAY_HOST", "GATEWAY_HOSTNAME"},
	} {
		if got := nearestEnv(tc.name); got != tc.want {
			t.Errorf("Nearest(%q) = %q, want %q", tc.name, got, tc.want)
		}
	}
}

func TestEditDistance(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		want int
	}{
		{"", "", 0}, {"abc", "", 3}, {"", "ab", 2}, {"kitten", "sitting", 3},
		{"tls_cret", "tls_cert", 1}, {"ab", "ba", 1}, {"listen", "listn", 1}, {"ca", "abc", 3},
	} {
		if got := editDistance(tc.a, tc.b); got != tc.want {
			t.Errorf("editDistance(%q, %q) = %d, want %d", tc.a, tc.b, got, tc.want)
		}
		if got := editDistance(tc.b, tc.a); got != tc.want {
			t.Errorf("editDistance(%q, %q) = %d, want %d (symmetry)", tc.b, tc.a, got, tc.want)
		}
	}
}

// TestServiceLinkVariables: Kubernetes (and docker --link) set GATEWAY_SERVICE_HOST,
// GATEWAY_PORT=tcp://... and friends for a Service named gateway; they must not stop
// the gateway. GATEWAY_PORT with any other value is still a mistake.
func TestServiceLinkVariables(t *testing.T) {
	links := map[string]string{
		"GATEWAY_SERVICE_HOST":         "10.0.0.11",
		"GATEWAY_SERVICE_PORT":         "8443",
		"GATEWAY_SERVICE_PORT_HTTPS":   "8443",
		"GATEWAY_PORT":                 "tcp://10.0.0.11:8443",
		"GATEWAY_PORT_8443_TCP":        "tcp://10.0.0.11:8443",
		"GATEWAY_PORT_8443_TCP_PROTO":  "tcp",
		"GATEWAY_PORT_8443_TCP_PORT":   "8443",
		"GATEWAY_PORT_8443_TCP_ADDR":   "10.0.0.11",
		"GATEWAY_PORT_53_UDP_ADDR":     "10.0.0.11",
		"GATEWAY_PORT_9000_SCTP_PROTO": "sctp",
	}
	if _, err := read(t, nil, links); err != nil {
		t.Errorf("service link variables refused: %v", err)
	}
	for name, value := range map[string]string{"GATEWAY_PORT": "8443", "GATEWAY_SERVICE": "x", "GATEWAY_PORT_X_TCP": "tcp"} {
		if _, err := read(t, nil, map[string]string{name: value}); err == nil || !strings.Contains(err.Error(), name+": unknown variable") {
			t.Errorf("%s=%s: err = %v, want unknown variable", name, value, err)
		}
	}
}

// TestUpstreamURL: a path prefix is reachable from the configuration (gateway.NewUpstream
// forwards under it); what has no meaning for an upstream is refused with the reason.
func TestUpstreamURL(t *testing.T) {
	for _, tc := range []struct {
		url  string
		want string // "" when valid, else a part of the problem
	}{
		{"http://127.0.0.1:5000", ""},
		{"https://registry.internal", ""},
		{"http://127.0.0.1:5000/", ""},
		{"http://mirror:5000/registry", ""},
		{"http://mirror:5000/a/b-c_d.e~f/", ""},
		{"ftp://x", "http:// or https://"},
		{"127.0.0.1:5000", "http:// or https://"},
		{"http://", "no host"},
		{"http:registry", "http:// or https://"},
		{"http://:5000", "no host"},
		{"http://user:pw@mirror:5000", "credentials"},
		{"http://mirror:5000/?x=1", "query"},
		{"http://mirror:5000/p?", "query"},
		{"http://mirror:5000/p#frag", "fragment"},
		{"http://mirror:5000/a//b", "path prefix"},
		{"http://mirror:5000/a/../b", "path prefix"},
		{"http://mirror:5000/a/./b", "path prefix"},
		{"http://mirror:5000/a%2Fb", "path prefix"},
		{"http://mirror:5000/a b", "path prefix"},
		{"http://[::1", "not a URL"},
	} {
		t.Run(tc.url, func(t *testing.T) {
			c := Defaults()
			c.Upstream = tc.url
			err := c.Validate()
			switch {
			case tc.want == "" && err != nil:
				t.Errorf("refused: %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Errorf("err = %v, want it to mention %q", err, tc.want)
			}
		})
	}
}

// TestFileProblems: what each malformed file says, by line.
func TestFileProblems(t *testing.T) {
	for _, tc := range []struct{ yaml, want string }{
		{"- listen\n", "line 1: the file must hold keys and values"},
		{"just words\n", "line 1: the file must hold keys and values"},
		{"listen: :1\nlisten: :2\n", "line 2: listen: given twice (first on line 1); keep one"},
		{"? [a]\n: b\n", "line 1: a key must be a plain word"},
		{"~: x\n", "line 1: a key is empty"},
		{"base: &b {listen: ':1'}\n<<: *b\n", "line 2: <<: merge keys are not supported"},
		{"hostname: [a, [b]]\n", "line 1: hostname: item 2: want a single value, not a list"},
		{"hostname: {a: b}\n", "line 1: hostname: want a list of values, or one value, not a mapping"},
		{"shutdown_timeout: [1]\n", "line 1: shutdown_timeout: want a duration such as 60s, not a list"},
		{"listen: :1\n---\nlisten: :2\n", "line 2: the file holds more than one YAML document"},
		{"listen: \"unterminated\n", "not valid YAML"},
		{"realm: !!binary '%%%'\n", "line 1: realm: !!binary value is not base64"},
	} {
		c := Defaults()
		err := Parse([]byte(tc.yaml), &c)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: err = %v, want %q", tc.yaml, err, tc.want)
		}
	}
	// Good keys beside bad ones still apply, and nulls reset to empty.
	c := Defaults()
	err := Parse([]byte("listn: x\nrealm: R\nhostname: ~\nlisten:\nshutdown_timeout: 5\n"), &c)
	if err == nil || c.Realm != "R" || c.Hostname != nil || c.Listen != "" || c.ShutdownTimeout != 5*time.Second {
		t.Errorf("err = %v, config %+v", err, c)
	}
}

// TestFormatDuration: a duration's default shows as people write it, and reads back.
func TestFormatDuration(t *testing.T) {
	for d, want := range map[time.Duration]string{
		60 * time.Second: "60s", 90 * time.Second: "90s", 5 * time.Minute: "5m", time.Hour: "1h",
		90 * time.Minute: "1h30m", 1500 * time.Millisecond: "1.5s", 0: "0s", -time.Second: "-1s",
	} {
		if got := formatDuration(d); got != want {
			t.Errorf("formatDuration(%v) = %q, want %q", d, got, want)
		}
		if back, err := ParseDuration(want); err != nil || back != d {
			t.Errorf("ParseDuration(%q) = %v, %v; want %v", want, back, err, d)
		}
	}
}
