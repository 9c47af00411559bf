package migrate

import (
	"os"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/portcullis/portcullis/config"
)

// FuzzNginx feeds arbitrary nginx configurations to the converter: it never panics, every
// error names the file, and every output is a configuration the gateway reads.
func FuzzNginx(f *testing.F) {
	for _, c := range goldenCases {
		if b, err := os.ReadFile(c.root + "/etc/nginx/nginx.conf"); err == nil {
			f.Add(string(b))
		}
	}
	f.Add("http { server { listen 80; location / { proxy_pass http://r:5000/x; } } }")
	f.Add("server { listen [::]:443 ssl; ssl on; location ~ ^/v2/ { proxy_pass https://u; auth_basic off; } }")
	f.Fuzz(func(t *testing.T, src string) {
		fsys := fstest.MapFS{"etc/nginx/nginx.conf": {Data: []byte(src)}}
		res, err := Nginx(fsys, "/etc/nginx/nginx.conf", "")
		if err != nil {
			if !strings.Contains(err.Error(), "/etc/nginx/") {
				t.Fatalf("error does not name the file: %v", err)
			}
			return
		}
		for _, o := range res.Outputs {
			c := config.Defaults()
			if err := config.Parse(o.YAML, &c); err != nil {
				t.Fatalf("output does not parse: %v\n%s\ninput: %q", err, o.YAML, src)
			}
		}
	})
}
