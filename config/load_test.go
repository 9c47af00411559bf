package config

import (
	"flag"
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

func load(t *testing.T, args []string, env map[string]string) (Config, error) {
	t.Helper()
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	l := NewLoader(fs, func(k string) (string, bool) { v, ok := env[k]; return v, ok })
	if err := fs.Parse(args); err != nil {
		t.Fatalf("parse %v: %v", args, err)
	}
	return l.Load()
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
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, err := load(t, tc.args, tc.env)
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
	for _, tc := range []struct {
		name string
		args []string
		env  map[string]string
		want string
	}{
		{"unknown key", []string{"--config", typo}, nil, "listn"},
		{"two documents", []string{"--config", two}, nil, "more than one YAML document"},
		{"missing file", []string{"--config", filepath.Join(dir, "nope.yaml")}, nil, "reading config file"},
		{"bad env duration", nil, map[string]string{"GATEWAY_SHUTDOWN_TIMEOUT": "soon"}, "GATEWAY_SHUTDOWN_TIMEOUT"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := load(t, tc.args, tc.env)
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
		if k := strings.Split(rt.Field(i).Tag.Get("yaml"), ",")[0]; !fileOnlyKeys[k] {
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
	err := c.Validate()
	if err == nil {
		t.Fatal("Validate accepted a broken config")
	}
	for _, key := range []string{"listen:", "upstream:", "hostname:", "trusted_proxy:", "log_format:", "realm:", "policy:"} {
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

// FuzzParse: any input either fails cleanly or yields a Config that survives a YAML round
// trip unchanged.
func FuzzParse(f *testing.F) {
	for _, s := range []string{"", "listen: :1\n", "hostname: [a, b]\nshutdown_timeout: 3s\n", "tls: acme\n", "listen: [1]\n", "{}", "- a", "realm: \"\\u0000\"", "shutdown_timeout: 10\n"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var c Config
		if err := Parse(data, &c); err != nil {
			return
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
	c, err := load(t, []string{"--config", file, "--hostname", "registry.example.com"}, map[string]string{"GATEWAY_AUTH": "token"})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Validate(); err != nil {
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
		"trusted_issuers[0]: give exactly one", "trusted_issuers[1]: discovery needs an https", "trusted_issuers[1]: audience is required",
		`trusted_issuers[1]: algorithm "HS256"`} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Validate does not say %q:\n%v", want, err)
		}
	}
}
