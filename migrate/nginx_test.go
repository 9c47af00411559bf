package migrate

import (
	"flag"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/portcullis/portcullis/config"
)

var update = flag.Bool("update", false, "rewrite the golden files from the converter's output")

// goldenCases are realistic nginx configurations, each under testdata/NAME/root as the
// root of a file system whose /etc/nginx/nginx.conf is converted. seed002 is the
// configuration in examples/nginx-compat, whose converted twin lives beside it.
var goldenCases = []struct {
	name, root, golden string
}{
	// Seed 002's setup: one server, TLS from files, upstream block, the seed's headers.
	{"seed002", "../examples/nginx-compat", ""},
	// Debian's layout: includes with globs and nested relative includes, a port-80
	// redirect server, IPv4+IPv6 listens, certbot certificates, an unrelated site.
	{"debian-sites", "testdata/debian-sites/root", "testdata/debian-sites/golden.txt"},
	// An upstream block with two servers behind a load balancer (set_real_ip_from),
	// old TLS versions, an upload cap.
	{"upstream-pair", "testdata/upstream-pair/root", "testdata/upstream-pair/golden.txt"},
	// A plain HTTP listener on the LAN, allow/deny, a proxy_pass with a path, an extra
	// location.
	{"plain-http", "testdata/plain-http/root", "testdata/plain-http/golden.txt"},
	// The seed's two locations literally: /v2/ without a password, /auth/ with one.
	{"seed-literal", "testdata/seed-literal/root", "testdata/seed-literal/golden.txt"},
	// Two registries by server_name on one port, auth inherited from http or overridden,
	// an https upstream.
	{"vhosts", "testdata/vhosts/root", "testdata/vhosts/golden.txt"},
}

// goldenText is every output file and the summary, as the golden files hold them.
func goldenText(res *Result) string {
	var b strings.Builder
	for _, o := range res.Outputs {
		b.WriteString("==> " + o.File + " <==\n")
		b.Write(o.YAML)
	}
	b.WriteString("==> summary <==\n" + res.Summary)
	return b.String()
}

func TestGolden(t *testing.T) {
	for _, tt := range goldenCases {
		t.Run(tt.name, func(t *testing.T) {
			res, err := Nginx(os.DirFS(tt.root), "/etc/nginx/nginx.conf", "gateway.yaml")
			if err != nil {
				t.Fatal(err)
			}
			files := map[string]string{}
			if tt.golden == "" { // examples/nginx-compat: the twin and its summary
				files[filepath.Join(tt.root, "gateway.yaml")] = string(res.Outputs[0].YAML)
				files[filepath.Join(tt.root, "migrate-summary.txt")] = res.Summary
			} else {
				files[tt.golden] = goldenText(res)
			}
			for file, got := range files {
				if *update {
					if err := os.WriteFile(file, []byte(got), 0o644); err != nil {
						t.Fatal(err)
					}
					continue
				}
				want, err := os.ReadFile(file)
				if err != nil {
					t.Fatalf("%v (run go test ./migrate -update to create it)", err)
				}
				if got != string(want) {
					t.Errorf("%s differs from the converter's output (go test ./migrate -update rewrites it); got:\n%s", file, got)
				}
			}
			// Every output is a configuration the gateway reads: known keys only.
			for _, o := range res.Outputs {
				c := config.Defaults()
				if err := config.Parse(o.YAML, &c); err != nil {
					t.Errorf("%s does not parse as a gateway configuration: %v\n%s", o.File, err, o.YAML)
				}
				if c.Upstream == "" {
					t.Errorf("%s has no upstream", o.File)
				}
			}
		})
	}
}

// TestSeedDecisions pins the seed's conversion key by key, so a golden update cannot
// change what matters unnoticed.
func TestSeedDecisions(t *testing.T) {
	res, err := Nginx(os.DirFS("../examples/nginx-compat"), "/etc/nginx/nginx.conf", "")
	if err != nil {
		t.Fatal(err)
	}
	c := config.Defaults()
	if err := config.Parse(res.Outputs[0].YAML, &c); err != nil {
		t.Fatal(err)
	}
	want := config.Defaults()
	want.Listen, want.Data, want.Upstream = ":443", "/var/lib/portcullis", "http://registry:5000"
	want.TLS, want.TLSCert, want.TLSKey = config.TLSFiles, "/etc/ssl/certs/docker-registry", "/etc/ssl/private/docker-registry"
	want.Htpasswd, want.Realm, want.Hostname = "/etc/nginx/passwd", "Registry realm", []string{"my.docker.io"}
	if c.Listen != want.Listen || c.Data != want.Data || c.Upstream != want.Upstream || c.TLS != want.TLS ||
		c.TLSCert != want.TLSCert || c.TLSKey != want.TLSKey || c.Htpasswd != want.Htpasswd || c.Realm != want.Realm ||
		strings.Join(c.Hostname, ",") != "my.docker.io" || c.Policy != "" {
		t.Errorf("seed converts to\n%+v\nwant\n%+v", c, want)
	}
	y := string(res.Outputs[0].YAML)
	for _, s := range []string{
		"# policy: /etc/portcullis/authenticated-all",
		"if ($http_user_agent",
		"proxy_set_header X-Forwarded-By",
		"ssl_protocols TLSv1.1 TLSv1.2;",
	} {
		if !strings.Contains(y, s) {
			t.Errorf("converted seed lacks %q", s)
		}
	}
	for _, s := range []string{"authenticated-all", "TLSv1.1"} {
		if !strings.Contains(res.Summary, s) {
			t.Errorf("summary lacks %q:\n%s", s, res.Summary)
		}
	}
}

// TestEveryDirectiveAccounted checks that each directive of a golden input appears in
// its output, as a key's source or a note: nothing is dropped silently.
func TestEveryDirectiveAccounted(t *testing.T) {
	for _, tt := range goldenCases[:2] {
		res, err := Nginx(os.DirFS(tt.root), "/etc/nginx/nginx.conf", "")
		if err != nil {
			t.Fatal(err)
		}
		out := string(res.Outputs[0].YAML)
		src, _ := os.ReadFile(filepath.Join(tt.root, "etc/nginx/nginx.conf"))
		for i, line := range strings.Split(string(src), "\n") {
			l := strings.TrimSpace(line)
			if l == "" || strings.HasPrefix(l, "#") || l == "}" || strings.HasPrefix(l, "include") ||
				strings.HasPrefix(l, "http ") || strings.HasPrefix(l, "server ") || strings.HasPrefix(l, "location ") ||
				strings.HasPrefix(l, "return ") || strings.HasPrefix(l, "''") ||
				strings.HasPrefix(l, "worker_connections") { // inside events { ... }, noted as a whole
				continue
			}
			pos := "/etc/nginx/nginx.conf:" + strconv.Itoa(i+1) + ")"
			if !strings.Contains(out, pos) {
				t.Errorf("%s: line %d %q is not mentioned in the output", tt.name, i+1, l)
			}
		}
	}
}

func TestErrors(t *testing.T) {
	tests := []struct {
		name  string
		files map[string]string
		want  string
	}{
		{"syntax error in an included file", map[string]string{
			"etc/nginx/nginx.conf":      "events {}\nhttp {\n    include conf.d/*.conf;\n}\n",
			"etc/nginx/conf.d/reg.conf": "server {\n    listen 443 ssl\n    location /v2/ { proxy_pass http://r:5000; }\n}\n",
		}, `/etc/nginx/conf.d/reg.conf:2: listen takes no block: is the ";" at its end missing?`},
		{"block directive without a block", map[string]string{
			"etc/nginx/nginx.conf": "http {\n  server;\n}\n",
		}, `/etc/nginx/nginx.conf:2: server needs a { block }`},
		{"argument count", map[string]string{
			"etc/nginx/nginx.conf": "http {\n  server {\n    location /v2/ {\n      proxy_set_header Host;\n      proxy_pass http://r:5000;\n    }\n  }\n}\n",
		}, `/etc/nginx/nginx.conf:4: invalid number of arguments in "proxy_set_header"`},
		{"unclosed block", map[string]string{
			"etc/nginx/nginx.conf": "http {\n  server {\n    listen 80;\n",
		}, `/etc/nginx/nginx.conf:4: unexpected end of file, expecting "}"`},
		{"stray brace", map[string]string{
			"etc/nginx/nginx.conf": "http {\n}\n}\n",
		}, `/etc/nginx/nginx.conf:3: unexpected "}"`},
		{"missing include", map[string]string{
			"etc/nginx/nginx.conf": "http {\n\n  include sites/registry.conf;\n}\n",
		}, "/etc/nginx/nginx.conf:3: include /etc/nginx/sites/registry.conf: file does not exist"},
		{"upstream chosen by a variable", map[string]string{
			"etc/nginx/nginx.conf": "http {\n server {\n  listen 443 ssl;\n  location /v2/ {\n   proxy_pass http://$registry;\n  }\n }\n}\n",
		}, "/etc/nginx/nginx.conf:5: proxy_pass http://$registry: the upstream is chosen by variables"},
		{"unix socket upstream", map[string]string{
			"etc/nginx/nginx.conf": "http {\n upstream r {\n  server unix:/run/registry.sock;\n }\n server {\n  location /v2/ { proxy_pass http://r; }\n }\n}\n",
		}, "/etc/nginx/nginx.conf:3: upstream server unix:/run/registry.sock is a unix socket"},
		{"not a URL", map[string]string{
			"etc/nginx/nginx.conf": "http {\n server {\n  location /v2/ {\n   proxy_pass registry:5000;\n  }\n }\n}\n",
		}, `/etc/nginx/nginx.conf:4: proxy_pass "registry:5000" is not an http:// or https:// URL`},
		{"no registry", map[string]string{
			"etc/nginx/nginx.conf": "http {\n server {\n  listen 80;\n  root /var/www;\n }\n}\n",
		}, "/etc/nginx/nginx.conf: no server block proxies the registry API"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fsys := fstest.MapFS{}
			for name, data := range tt.files {
				fsys[name] = &fstest.MapFile{Data: []byte(data)}
			}
			_, err := Nginx(fsys, "/etc/nginx/nginx.conf", "")
			if err == nil || !strings.HasPrefix(err.Error(), tt.want) {
				t.Errorf("err = %v\nwant prefix %q", err, tt.want)
			}
		})
	}
}
