package config

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"
)

// read runs the loader over args and env as `gateway gc` does (no validation).
func read(t *testing.T, args []string, env map[string]string) (Config, error) {
	t.Helper()
	return loader(t, args, env).Read()
}

func loader(t *testing.T, args []string, env map[string]string) *Loader {
	t.Helper()
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	var environ []string
	for k, v := range env {
		environ = append(environ, k+"="+v)
	}
	environ = append(environ, "PATH=/usr/bin", "HOME=/root") // not ours: ignored
	l := NewLoader(fs, func() []string { return environ })
	if err := fs.Parse(args); err != nil {
		t.Fatalf("parse %v: %v", args, err)
	}
	return l
}

func TestPrecedence(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "gw.yaml")
	os.WriteFile(file, []byte("listen: 127.0.0.1:1111\ndata: /from/file\nrealm: file-realm\nhostname: [a.example, b.example]\nshutdown_timeout: 5s\n"), 0o600)

	cases := []struct {
		name string
		args []string
		env  map[string]string
		want func(c Config) bool
	}{
		{"defaults", nil, nil, func(c Config) bool {
			return c.Listen == ":8443" && c.Data == "./data" && c.TLS == "self-signed" && c.HtpasswdFile() == filepath.Join("data", "htpasswd")
		}},
		{"file over defaults", []string{"--config", file}, nil, func(c Config) bool {
			return c.Listen == "127.0.0.1:1111" && c.Data == "/from/file" && c.TLS == "self-signed" &&
				slices.Equal(c.Hostname, []string{"a.example", "b.example"}) && c.ShutdownTimeout == 5*time.Second
		}},
		{"config file from env", nil, map[string]string{"GATEWAY_CONFIG": file}, func(c Config) bool { return c.Realm == "file-realm" }},
		{"env over file", []string{"--config", file}, map[string]string{"GATEWAY_LISTEN": ":2222", "GATEWAY_HOSTNAME": "x.example, y.example"}, func(c Config) bool {
			return c.Listen == ":2222" && c.Data == "/from/file" && slices.Equal(c.Hostname, []string{"x.example", "y.example"})
		}},
		{"flags over env", []string{"--config", file, "--listen", ":3333", "--hostname", "z.example", "--hostname", "w.example"},
			map[string]string{"GATEWAY_LISTEN": ":2222", "GATEWAY_HOSTNAME": "x.example"}, func(c Config) bool {
				return c.Listen == ":3333" && slices.Equal(c.Hostname, []string{"z.example", "w.example"}) && c.Realm == "file-realm"
			}},
		{"duration flag", []string{"--shutdown-timeout", "2m"}, nil, func(c Config) bool { return c.ShutdownTimeout == 2*time.Minute }},
		{"limits default", nil, nil, func(c Config) bool {
			return c.BodyIdleTimeout == time.Minute && c.HeaderTimeout == 30*time.Second &&
				c.MaxUploads == 512 && c.MaxUploadsPerUser == 64 && c.MaxConnsPerIP == 256
		}},
		{"number flag over env", []string{"--max-uploads", "0"}, map[string]string{"GATEWAY_MAX_UPLOADS": "9", "GATEWAY_MAX_CONNS_PER_IP": "10"}, func(c Config) bool {
			return c.MaxUploads == 0 && c.MaxConnsPerIP == 10
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, err := read(t, tc.args, tc.env)
			if err != nil {
				t.Fatal(err)
			}
			if !tc.want(c) {
				t.Errorf("unexpected config: %+v", c)
			}
		})
	}
}

func TestLoadErrors(t *testing.T) {
	dir := t.TempDir()
	typo := filepath.Join(dir, "typo.yaml")
	os.WriteFile(typo, []byte("listn: :1\n"), 0o600)
	two := filepath.Join(dir, "two.yaml")
	os.WriteFile(two, []byte("listen: :1\n---\nlisten: :2\n"), 0o600)
	bad := filepath.Join(dir, "bad.yaml")
	os.WriteFile(bad, []byte("listen: :1\n  data: x\n"), 0o600)
	list := filepath.Join(dir, "list.yaml")
	os.WriteFile(list, []byte("listen: [\":1\"]\n"), 0o600)
	negative := filepath.Join(dir, "negative.yaml")
	os.WriteFile(negative, []byte("max_conns_per_ip: lots\n"), 0o600)
	for _, tc := range []struct {
		name string
		args []string
		env  map[string]string
		want string
	}{
		{"unknown key", []string{"--config", typo}, nil, "listn"},
		{"two documents", []string{"--config", two}, nil, "more than one YAML document"},
		{"missing file", []string{"--config", filepath.Join(dir, "nope.yaml")}, nil, "--config: reading the configuration file"},
		{"missing file from env", nil, map[string]string{"GATEWAY_CONFIG": filepath.Join(dir, "nope.yaml")}, "GATEWAY_CONFIG: reading the configuration file"},
		{"bad env duration", nil, map[string]string{"GATEWAY_SHUTDOWN_TIMEOUT": "soon"}, "GATEWAY_SHUTDOWN_TIMEOUT: \"soon\" is not a duration"},
		{"bad flag duration", []string{"--shutdown-timeout", "soon"}, nil, "--shutdown-timeout: \"soon\" is not a duration"},
		{"unknown variable", nil, map[string]string{"GATEWAY_LISTN": ":1"}, "GATEWAY_LISTN: unknown variable; did you mean GATEWAY_LISTEN?"},
		{"not YAML", []string{"--config", bad}, nil, "bad.yaml:2: not valid YAML"},
		{"list for a string", []string{"--config", list}, nil, "list.yaml:1: listen: want a single value, not a list"},
		{"bad env number", nil, map[string]string{"GATEWAY_MAX_UPLOADS": "-1"}, "GATEWAY_MAX_UPLOADS: \"-1\" is not a whole number"},
		{"bad file number", []string{"--config", negative}, nil, "negative.yaml:1: max_conns_per_ip: \"lots\" is not a whole number"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := read(t, tc.args, tc.env)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want it to mention %q", err, tc.want)
			}
		})
	}
}

// TestKeysMatchYAML keeps the flag table and the struct's YAML tags in step: every flag
// has a key, every key a flag.
func TestKeysMatchYAML(t *testing.T) {
	var c Config
	tags := map[string]bool{}
	rt := reflect.TypeOf(c)
	for i := range rt.NumField() {
		if k := strings.Split(rt.Field(i).Tag.Get("yaml"), ",")[0]; fileOnly(&c)[k] == nil {
			tags[k] = true
		}
	}
	fs := fields(&c)
	if len(fs) != len(tags) {
		t.Fatalf("%d flags for %d YAML keys", len(fs), len(tags))
	}
	for _, f := range fs {
		if !tags[f.key()] {
			t.Errorf("flag %s has no YAML key %s", f.name, f.key())
		}
	}
}

func TestValidateListsEveryProblem(t *testing.T) {
	c := Defaults()
	c.Listen = "8443"
	c.Upstream = "ftp://x"
	c.TLS = "acme"
	c.Hostname = []string{"127.0.0.1"}
	c.TrustedProxy = []string{"not-a-cidr"}
	c.LogFormat = "xml"
	c.Realm = `a"b`
	c.Policy = filepath.Join(t.TempDir(), "missing.rego")
	c.HeaderTimeout = 0
	c.MaxUploadsPerUser = -1
	err := c.Validate()
	if err == nil {
		t.Fatal("Validate accepted a broken config")
	}
	for _, key := range []string{"listen:", "upstream:", "hostname:", "trusted_proxy:", "log_format:", "realm:", "policy:", "header_timeout:", "max_uploads_per_user:"} {
		if !strings.Contains(err.Error(), key) {
			t.Errorf("error does not name %s:\n%v", key, err)
		}
	}
	if n := strings.Count(err.Error(), "\n") + 1; n < 7 {
		t.Errorf("want every problem listed, got %d lines:\n%v", n, err)
	}
}

func TestValidateAcceptsGoodConfigs(t *testing.T) {
	dir := t.TempDir()
	cert, key := filepath.Join(dir, "c.pem"), filepath.Join(dir, "k.pem")
	os.WriteFile(cert, []byte("x"), 0o600)
	os.WriteFile(key, []byte("x"), 0o600)
	for name, mod := range map[string]func(*Config){
		"defaults": func(*Config) {},
		"sidecar":  func(c *Config) { c.Upstream = "http://127.0.0.1:5000" },
		"files":    func(c *Config) { c.TLS, c.TLSCert, c.TLSKey = "files", cert, key },
		"acme":     func(c *Config) { c.TLS, c.Hostname = "acme", []string{"registry.example.com"} },
		"off":      func(c *Config) { c.TLS, c.TrustedProxy = "off", []string{"10.0.0.0/8", "192.0.2.1"} },
	} {
		t.Run(name, func(t *testing.T) {
			c := Defaults()
			mod(&c)
			if err := c.Validate(); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// FuzzParse: any input either fails with *Problem values, the same ones every time, or
// yields a Config that survives a YAML round trip unchanged. And whatever yaml.v3's strict
// decoder (what Parse used before) accepts, Parse accepts and reads alike, merge keys
// aside.
func FuzzParse(f *testing.F) {
	for _, s := range []string{"", "listen: :1\n", "hostname: [a, b]\nshutdown_timeout: 3s\n", "tls: acme\n",
		"listen: [1]\n", "{}", "- a", "realm: \"\\u0000\"", "shutdown_timeout: 10\n", "listn: x\nrealm: [a]\n",
		"hostname: &h a\nrealm: *h\n", "realm: !!binary aGVsbG8=\n", "listen: :1\nlisten: :2\n", "---\n", "a: 1\n---\nb: 2\n",
		"hostname: a\n", "trusted_proxy: ~\n", "shutdown_timeout: \"1h\"\n",
		"trusted_issuers:\n  - issuer: https://a\n    audience: x\n    algorithms: [RS256]\n", "trusted_issuers: [{issuer: a, discovery: true}]\n"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var c Config
		err := Parse(data, &c)
		var again Config
		if err2 := Parse(data, &again); fmt.Sprint(err) != fmt.Sprint(err2) || !reflect.DeepEqual(c, again) {
			t.Fatalf("two parses differ: %v / %v", err, err2)
		}
		for _, e := range Problems(err) {
			if _, ok := errors.AsType[*Problem](e); !ok {
				t.Fatalf("%v is a %T, not a *Problem", e, e)
			}
		}
		var old Config
		dec := yaml.NewDecoder(bytes.NewReader(data))
		dec.KnownFields(true)
		oldErr := dec.Decode(&old)
		var extra any
		if oldErr == nil && errors.Is(dec.Decode(&extra), io.EOF) {
			for _, e := range Problems(err) {
				// yaml.v3 applies merge keys and skips empty keys; Parse refuses both.
				if m := e.Error(); !strings.Contains(m, "merge keys") && !strings.Contains(m, "key is empty") {
					t.Fatalf("yaml.v3 accepts %q, Parse says: %v", data, err)
				}
			}
		}
		if err != nil {
			return
		}
		if oldErr == nil && !reflect.DeepEqual(normal(c), normal(old)) {
			t.Fatalf("yaml.v3 and Parse read %q differently:\n%+v\n%+v", data, old, c)
		}
		out, err := yaml.Marshal(c)
		if err != nil {
			t.Fatalf("marshal: %v", err)
		}
		var back Config
		if err := Parse(out, &back); err != nil {
			t.Fatalf("re-parse of %q: %v", out, err)
		}
		if !reflect.DeepEqual(normal(c), normal(back)) {
			t.Fatalf("round trip changed config:\n%+v\n%+v", c, back)
		}
	})
}

func normal(c Config) Config {
	if len(c.Hostname) == 0 {
		c.Hostname = nil
	}
	if len(c.TrustedProxy) == 0 {
		c.TrustedProxy = nil
	}
	if len(c.TrustedIssuers) == 0 {
		c.TrustedIssuers = nil
	}
	for i := range c.TrustedIssuers {
		if len(c.TrustedIssuers[i].Algorithms) == 0 {
			c.TrustedIssuers[i].Algorithms = nil
		}
	}
	if len(c.AuditWebhookHeaders) == 0 {
		c.AuditWebhookHeaders = nil
	}
	if len(c.Notifications.Endpoints) == 0 {
		c.Notifications.Endpoints = nil
	}
	for i := range c.Notifications.Endpoints {
		e := &c.Notifications.Endpoints[i]
		if len(e.Headers) == 0 {
			e.Headers = nil
		}
		for k, v := range e.Headers {
			if len(v) == 0 {
				e.Headers[k] = nil
			}
		}
		if len(e.IgnoredMediaTypes) == 0 {
			e.IgnoredMediaTypes = nil
		}
		if len(e.Ignore.MediaTypes) == 0 {
			e.Ignore.MediaTypes = nil
		}
		if len(e.Ignore.Actions) == 0 {
			e.Ignore.Actions = nil
		}
	}
	return c
}

// TestExamplesParse keeps the shipped example configurations in step with Config.
func TestExamplesParse(t *testing.T) {
	files, _ := filepath.Glob("../examples/*/*.yaml")
	if len(files) == 0 {
		t.Fatal("no example configurations found under examples/")
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		c := Defaults()
		if err := Parse(data, &c); err != nil {
			t.Errorf("%s: %v", f, err)
		}
	}
}

func TestTokenSettings(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "gw.yaml")
	os.WriteFile(file, []byte(`auth: token
token_ttl: 2m
trusted_issuers:
  - issuer: https://token.actions.githubusercontent.com
    discovery: true
    audience: portcullis
    username_claim: repository
    groups_claim: groups
`), 0o600)
	c, err := loader(t, []string{"--config", file, "--hostname", "registry.example.com"}, map[string]string{"GATEWAY_AUTH": "token"}).Load()
	if err != nil {
		t.Fatal(err)
	}
	if c.Auth != AuthToken || c.TokenTTL != 2*time.Minute || c.TokenServiceName() != "registry.example.com" ||
		len(c.TrustedIssuers) != 1 || c.TrustedIssuers[0].UsernameClaim != "repository" || !c.NeedsTokens() {
		t.Errorf("config = %+v", c)
	}
	if Defaults().NeedsTokens() || Defaults().TokenServiceName() != "localhost" {
		t.Error("the defaults need tokens")
	}

	c = Defaults()
	c.Auth = "oauth"
	c.TokenRealm = "registry.example.com/token"
	c.TokenService = `a"b`
	c.TokenTTL = time.Second
	c.TokenAlg = "HS256"
	c.UpstreamAuth = "token"
	c.TrustedIssuers = []TrustedIssuer{
		{Issuer: "https://a", Audience: "x"},
		{Issuer: "http://b", Discovery: true, Algorithms: []string{"HS256"}},
	}
	err = c.Validate()
	for _, want := range []string{"auth:", "token_realm:", "token_service:", "token_ttl:", "token_alg:", "upstream_auth:",
		"trusted_issuers: entry 1: give exactly one", "trusted_issuers: entry 2: discovery needs an https", "trusted_issuers: entry 2: audience is required",
		`trusted_issuers: entry 2: algorithm "HS256"`} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Validate does not say %q:\n%v", want, err)
		}
	}
}

func TestAuditSettings(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "gw.yaml")
	os.WriteFile(file, []byte(`audit_log: /var/log/portcullis/audit.log
audit_log_keep: 5
audit_pulls: all
audit_webhook: https://siem.example/audit
audit_webhook_headers: {Authorization: Bearer x}
notifications:
  endpoints:
    - name: ci
      url: https://ci.example/hook
      headers:
        Authorization: [Bearer y]
      timeout: 500ms
      threshold: 5
      backoff: 1s
      ignoredmediatypes: [application/octet-stream]
      ignore:
        mediatypes: [application/vnd.oci.image.config.v1+json]
        actions: [pull]
`), 0o600)
	c, err := read(t, []string{"--config", file, "--audit-log-max-size", "1GiB"}, map[string]string{"GATEWAY_AUDIT_FAIL": "open"})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	size, _ := c.AuditLogMaxSizeBytes()
	e := c.Notifications.Endpoints
	if size != 1<<30 || c.AuditLogKeepCount() != 5 || c.AuditPulls != "all" || c.AuditFail != "open" || c.AuditSync != "always" ||
		c.AuditCheckpointEveryCount() != 1000 || !c.AuditEnabled() || c.AuditWebhookHeaders["Authorization"] != "Bearer x" ||
		len(e) != 1 || e[0].Timeout != 500*time.Millisecond || e[0].Threshold != 5 || e[0].Headers["Authorization"][0] != "Bearer y" ||
		e[0].Ignore.Actions[0] != "pull" || e[0].IgnoredMediaTypes[0] != "application/octet-stream" {
		t.Errorf("config = %+v", c)
	}
	if Defaults().AuditEnabled() {
		t.Error("audit is on by default")
	}
	bad := Defaults()
	bad.AuditLogMaxSize, bad.AuditLogKeep, bad.AuditSync, bad.AuditFail, bad.AuditPulls = "lots", "0", "sometimes", "ajar", "some"
	bad.AuditSyslog, bad.AuditWebhook = "smtp://x", "ftp://y"
	bad.Notifications.Endpoints = []NotificationEndpoint{{Name: "a", URL: "x"}, {Name: "a", URL: "http://h", Ignore: NotificationIgnore{Actions: []string{"read"}}}}
	err = bad.Validate()
	for _, key := range []string{"audit_log_max_size:", "audit_log_keep:", "audit_sync:", "audit_fail:", "audit_pulls:", "audit_syslog:",
		"audit_webhook:", "notifications.endpoints[0].url:", "notifications.endpoints[1]: name \"a\" is used twice", "ignore.actions:"} {
		if err == nil || !strings.Contains(err.Error(), key) {
			t.Errorf("error does not name %s:\n%v", key, err)
		}
	}
}

func TestTrustedIssuersRead(t *testing.T) {
	for name, tc := range map[string]struct{ yaml, want string }{
		"not a list":     {"trusted_issuers: https://a\n", "line 1: trusted_issuers: want a list of issuers"},
		"unknown key":    {"trusted_issuers:\n  - issuer: https://a\n    audiance: x\n", `line 1: trusted_issuers: entry 1 (line 3): unknown key "audiance"; did you mean audience?`},
		"wrong type":     {"trusted_issuers:\n  - issuer: https://a\n    discovery: maybe\n", "line 1: trusted_issuers: line 3: cannot unmarshal"},
		"not a mapping":  {"trusted_issuers:\n  - https://a\n", "entry 1 (line 2): want keys such as issuer and audience"},
		"empty key":      {"trusted_issuers:\n  - issuer: https://a\n    ~: x\n", "entry 1 (line 3): a key is empty"},
		"no flag for it": {"", ""},
	} {
		t.Run(name, func(t *testing.T) {
			var c Config
			err := Parse([]byte(tc.yaml), &c)
			if tc.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Parse: %v, want %q", err, tc.want)
			}
		})
	}
	fs := flag.NewFlagSet("x", flag.ContinueOnError)
	NewLoader(fs, func() []string { return nil })
	if fs.Lookup("trusted-issuers") != nil {
		t.Error("trusted_issuers has a flag; it is a file-only setting")
	}
}

func TestParseSize(t *testing.T) {
	for in, want := range map[string]int64{"0": 0, "1024": 1024, "100MiB": 100 << 20, "1G": 1e9, "2 KiB": 2048, "5MB": 5e6, "7B": 7} {
		if got, err := ParseSize(in); err != nil || got != want {
			t.Errorf("ParseSize(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "-1", "1T", "MiB", "1.5G", "99999999999G"} {
		if _, err := ParseSize(in); err == nil {
			t.Errorf("ParseSize(%q) accepted", in)
		}
	}
}

func TestStructuredKeys(t *testing.T) {
	var c Config
	err := Parse([]byte("notifications:\n  endpoints:\n    - name: a\n      thresold: 3\naudit_webhook_headers: [x]\n"), &c)
	if err == nil || !strings.Contains(err.Error(), "notifications") || !strings.Contains(err.Error(), "thresold") ||
		!strings.Contains(err.Error(), "audit_webhook_headers") {
		t.Errorf("misspelt and misshapen structured keys: %v", err)
	}
	if err := Parse([]byte("notifications: {endpoints: [{name: a, url: 'http://h', threshold: 3, timeout: 2s}]}\n"), &c); err != nil ||
		c.Notifications.Endpoints[0].Threshold != 3 || c.Notifications.Endpoints[0].Timeout != 2*time.Second {
		t.Errorf("%+v %v", c.Notifications, err)
	}
}

// TestUISettings: ui is a switch from the file, the environment and the flags (a bare
// --ui is true), and its session lifetime is checked.
func TestUISettings(t *testing.T) {
	if d := Defaults(); !d.UI || d.UISessionTTL != time.Hour {
		t.Errorf("defaults: ui %v, ttl %v", d.UI, d.UISessionTTL)
	}
	file := filepath.Join(t.TempDir(), "gw.yaml")
	os.WriteFile(file, []byte("ui: false\nui_session_ttl: 30m\n"), 0o600)
	for _, tc := range []struct {
		name string
		args []string
		env  map[string]string
		want bool
	}{
		{"file", []string{"--config", file}, nil, false},
		{"env over file", []string{"--config", file}, map[string]string{"GATEWAY_UI": "yes"}, true},
		{"flag over env", []string{"--ui=false"}, map[string]string{"GATEWAY_UI": "true"}, false},
		{"bare flag", []string{"--config", file, "--ui"}, nil, true},
	} {
		c, err := read(t, tc.args, tc.env)
		if err != nil || c.UI != tc.want {
			t.Errorf("%s: ui = %v, %v", tc.name, c.UI, err)
		}
	}
	c, _ := read(t, []string{"--config", file}, nil)
	if c.UISessionTTL != 30*time.Minute {
		t.Errorf("ui_session_ttl = %v", c.UISessionTTL)
	}
	for _, bad := range []struct {
		args []string
		env  map[string]string
		want string
	}{
		{nil, map[string]string{"GATEWAY_UI": "maybe"}, `"maybe" is not true or false`},
		{[]string{"--ui-session-ttl", "10s"}, nil, "--ui-session-ttl: must be between 1m and 168h"},
	} {
		_, err := loader(t, bad.args, bad.env).Load()
		if err == nil || !strings.Contains(err.Error(), bad.want) {
			t.Errorf("%v %v: %v, want %q", bad.args, bad.env, err, bad.want)
		}
	}
	os.WriteFile(file, []byte("ui: [1]\n"), 0o600)
	if _, err := read(t, []string{"--config", file}, nil); err == nil || !strings.Contains(err.Error(), "true or false") {
		t.Errorf("ui: [1]: %v", err)
	}
}
