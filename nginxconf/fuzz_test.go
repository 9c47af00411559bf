package nginxconf

import (
	"errors"
	"strings"
	"testing"
)

// FuzzParse holds three properties for any input: Parse never panics; an error is an
// *Error naming the file and a line inside the input; a parsed tree rendered and parsed
// again is the same tree (Render writes what Parse reads).
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"http { server { listen 443 ssl; location /v2/ { proxy_pass http://r:5000; } } }",
		`if ($http_user_agent ~ "^(docker\/1\.(3|4|5(?!\.[0-9]-dev))|Go ).*$" ) { return 404; }`,
		"map $a $b { '' 'registry/2.0'; }",
		"a \"x\\\"y\" 'p\\'q' b\\;c ${v}w;",
		"# c\nuser x; # d\n",
		"a b} ;",
		"a {\n}\n}",
		"\"unterminated",
		"a \"b\"c;",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, src string) {
		ds, err := Parse("/f.conf", []byte(src))
		if err != nil {
			var pe *Error
			if !errors.As(err, &pe) {
				t.Fatalf("error %v is not an *Error", err)
			}
			if lines := strings.Count(src, "\n") + 1; pe.File != "/f.conf" || pe.Line < 1 || pe.Line > lines {
				t.Fatalf("error at %s:%d, input has %d lines: %v", pe.File, pe.Line, lines, err)
			}
			return
		}
		out := Render(ds)
		again, err := Parse("/r.conf", []byte(out))
		if err != nil {
			t.Fatalf("rendered tree does not parse: %v\ninput: %q\nrendered: %q", err, src, out)
		}
		if a, b := flat(ds), flat(again); a != b {
			t.Fatalf("round trip changed the tree:\n%q\n%q\ninput: %q\nrendered: %q", a, b, src, out)
		}
	})
}
