package nginxconf

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"testing/fstest"
)

// flat renders directives as "name arg|arg {…}" for compact comparison.
func flat(ds []*Directive) string {
	var parts []string
	for _, d := range ds {
		s := d.Name
		if len(d.Args) > 0 {
			s += " " + strings.Join(d.Args, "|")
		}
		if d.IsBlock() {
			s += " {" + flat(d.Block) + "}"
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, "; ")
}

func TestParse(t *testing.T) {
	tests := []struct {
		name, src, want string
	}{
		{"simple", "worker_processes 1;", "worker_processes 1"},
		{"block", "http { server { listen 443 ssl; } }", "http {server {listen 443|ssl}}"},
		{"comment", "# top\nuser www-data; # trailing\n", "user www-data"},
		{"hash inside word", "a b#c;", "a b#c"},
		{"double quotes", `auth_basic "Registry realm";`, "auth_basic Registry realm"},
		{"single quotes", `add_header 'Docker-Distribution-Api-Version' $v always;`, "add_header Docker-Distribution-Api-Version|$v|always"},
		{"escaped quote", `a "x\"y" 'p\'q';`, `a x"y|p'q`},
		{"escapes", `a "t\tn\nb\\s\/";`, "a t\tn\nb\\s\\/"},
		{"unquoted escape stays unless nginx knows it", `a b\;c d\"e;`, `a b\;c|d"e`},
		{"regex stays", `if ($http_user_agent ~ "^(docker\/1\.(3|4|5(?!\.[0-9]-dev))|Go ).*$" ) { return 404; }`,
			`if ($http_user_agent|~|^(docker\/1\.(3|4|5(?!\.[0-9]-dev))|Go ).*$|) {return 404}`},
		{"paren after quote", `if ($a = "b") { }`, "if ($a|=|b|) {}"},
		{"variable brace", `set $x ${host}z;`, "set $x|${host}z"},
		{"brace ends no word", "a b} ;", "a b}"},
		{"empty quoted", `proxy_set_header Authorization "";`, "proxy_set_header Authorization|"},
		{"empty block", "events {}", "events {}"},
		{"map", "map $a $b { '' 'registry/2.0'; default x; }", "map $a|$b { registry/2.0; default x}"},
		{"newlines in args", "server_name\n  a\n  b;", "server_name a|b"},
		{"crlf", "user x;\r\nworker_processes 2;\r\n", "user x; worker_processes 2"},
		{"empty", "", ""},
		{"only comments", "# a\n# b", ""},
		{"quoted name", `"listen" 80;`, "listen 80"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ds, err := Parse("/t.conf", []byte(tt.src))
			if err != nil {
				t.Fatal(err)
			}
			if got := flat(ds); got != tt.want {
				t.Errorf("got  %q\nwant %q", got, tt.want)
			}
		})
	}
}

func TestParseLines(t *testing.T) {
	src := "http {\n  # comment\n  server {\n    listen\n      443;\n  }\n}\n"
	ds, err := Parse("/t.conf", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	server := ds[0].Block[0]
	if server.Line != 3 || server.Block[0].Line != 4 || server.Block[0].Pos() != "/t.conf:4" {
		t.Errorf("lines: server %d, listen %s; want 3 and /t.conf:4", server.Line, server.Block[0].Pos())
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name, src, want string
	}{
		{"missing semicolon at eof", "http {\n  listen 80\n}", `/t.conf:3: unexpected "}"`},
		{"unclosed block", "http {\n  server {\n", `/t.conf:3: unexpected end of file, expecting "}"`},
		{"stray close", "user x;\n}\n", `/t.conf:2: unexpected "}": no block is open`},
		{"word at eof", "user x", `/t.conf:1: unexpected end of file, expecting ";" or "}"`},
		{"unclosed quote", "a \"b;\nc;\n", `/t.conf:3: unexpected end of file`},
		{"text after quote", "a \"b\"c;", `/t.conf:1: unexpected "c" after a quoted string`},
		{"lone semicolon", "\n\n;", `/t.conf:3: unexpected ";"`},
		{"lone brace", "{ }", `/t.conf:1: unexpected "{"`},
		{"deep", strings.Repeat("a {\n", maxDepth+1) + strings.Repeat("}\n", maxDepth+1), "/t.conf:101: blocks nested more than 100 deep"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("/t.conf", []byte(tt.src))
			var pe *Error
			if !errors.As(err, &pe) {
				t.Fatalf("err = %v, want an *Error", err)
			}
			if !strings.HasPrefix(err.Error(), tt.want) {
				t.Errorf("err = %q, want prefix %q", err, tt.want)
			}
		})
	}
}

func TestLoadIncludes(t *testing.T) {
	fsys := fstest.MapFS{
		"etc/nginx/nginx.conf": {Data: []byte("user www-data;\nhttp {\n    include mime.types;\n    include conf.d/*.conf;\n}\n")},
		"etc/nginx/mime.types": {Data: []byte("types { text/html html; }\n")},
		// A nested relative include resolves against /etc/nginx, not conf.d/ (nginx's
		// conf prefix), whichever file holds it.
		"etc/nginx/conf.d/b.conf":            {Data: []byte("server {\n    include snippets/tls.conf;\n}\n")},
		"etc/nginx/conf.d/a.conf":            {Data: []byte("upstream r { server 127.0.0.1:5000; }\n")},
		"etc/nginx/conf.d/.hidden.conf":      {Data: []byte("broken {")},
		"etc/nginx/conf.d/c.conf.off":        {Data: []byte("broken {")},
		"etc/nginx/snippets/tls.conf":        {Data: []byte("\n\nssl_certificate /etc/ssl/x.crt;\n")},
		"etc/nginx/conf.d/snippets/tls.conf": {Data: []byte("wrong_file;")},
	}
	c, err := Load(fsys, "/etc/nginx/nginx.conf")
	if err != nil {
		t.Fatal(err)
	}
	want := "user www-data; http {types {text/html html}; upstream r {server 127.0.0.1:5000}; server {ssl_certificate /etc/ssl/x.crt}}"
	if got := flat(c.Directives); got != want {
		t.Errorf("got  %q\nwant %q", got, want)
	}
	wantFiles := []string{"/etc/nginx/nginx.conf", "/etc/nginx/mime.types", "/etc/nginx/conf.d/a.conf", "/etc/nginx/conf.d/b.conf", "/etc/nginx/snippets/tls.conf"}
	if !slices.Equal(c.Files, wantFiles) {
		t.Errorf("files = %v, want %v", c.Files, wantFiles)
	}
	cert := c.Directives[1].Block[2].Block[0]
	if cert.Pos() != "/etc/nginx/snippets/tls.conf:3" {
		t.Errorf("included directive at %s, want /etc/nginx/snippets/tls.conf:3", cert.Pos())
	}
	if got := c.Resolve("htpasswd"); got != "/etc/nginx/htpasswd" {
		t.Errorf("Resolve(htpasswd) = %s", got)
	}
}

func TestLoadErrors(t *testing.T) {
	tests := []struct {
		name string
		fsys fstest.MapFS
		want string
	}{
		{"missing include", fstest.MapFS{"n.conf": {Data: []byte("http {\n  include missing.conf;\n}\n")}},
			"/n.conf:2: include /missing.conf: file does not exist"},
		{"glob matching nothing is fine, error later", fstest.MapFS{"n.conf": {Data: []byte("include none/*.conf;\nuser\n")}},
			`/n.conf:3: unexpected end of file`}, // nginx counts the final newline
		{"error inside included file", fstest.MapFS{"n.conf": {Data: []byte("include d/*.conf;\n")}, "d/x.conf": {Data: []byte("server {\n\n  listen 80\n}\n")}},
			`/d/x.conf:4: unexpected "}"`},
		{"cycle", fstest.MapFS{"n.conf": {Data: []byte("include a.conf;\n")}, "a.conf": {Data: []byte("\ninclude n.conf;\n")}},
			"/a.conf:2: include cycle"},
		{"include arguments", fstest.MapFS{"n.conf": {Data: []byte("include a b;\n")}},
			"/n.conf:1: include takes one file name"},
		{"main missing", fstest.MapFS{}, "reading /n.conf: file does not exist"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Load(tt.fsys, "/n.conf")
			if err == nil || !strings.HasPrefix(err.Error(), tt.want) {
				t.Errorf("err = %v, want prefix %q", err, tt.want)
			}
		})
	}
}

func TestRenderRoundTrip(t *testing.T) {
	src := `http {
    map $upstream_http_docker_distribution_api_version $docker_distribution_api_version {
        '' 'registry/2.0';
    }
    server {
        listen 443 ssl;
        location /v2/ {
            if ($http_user_agent ~ "^(docker\/1\.(3|4|5(?!\.[0-9]-dev))|Go ).*$" ) {
                return 404;
            }
            auth_basic "Registry realm";
            proxy_set_header Authorization "";
            add_header x "a\"b\\c";
        }
    }
}
`
	ds, err := Parse("/a", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	out := Render(ds)
	again, err := Parse("/b", []byte(out))
	if err != nil {
		t.Fatalf("rendered text does not parse: %v\n%s", err, out)
	}
	if flat(again) != flat(ds) {
		t.Errorf("round trip changed the tree:\n%s\n%s", flat(ds), flat(again))
	}
	if !strings.Contains(out, `if ($http_user_agent ~ "^(docker\\/1\\.(3|4|5(?!\\.[0-9]-dev))|Go ).*$" ) {`) {
		t.Errorf("rendered if block:\n%s", out)
	}
}
