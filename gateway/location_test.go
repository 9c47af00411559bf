package gateway

import (
	"net/url"
	"testing"
)

func TestClientLocation(t *testing.T) {
	target, _ := url.Parse("http://10.0.0.5:5000/mirror")
	c := &clientInfo{proto: "https", host: "reg.example.com"}
	tests := []struct {
		name, loc string
		c         *clientInfo
		want      string
	}{
		{"upstream absolute", "http://10.0.0.5:5000/mirror/v2/a/blobs/uploads/1?_state=x", c, "https://reg.example.com/v2/a/blobs/uploads/1?_state=x"},
		{"upstream without a client host becomes relative", "http://10.0.0.5:5000/mirror/v2/a/blobs/uploads/1", &clientInfo{}, "/v2/a/blobs/uploads/1"},
		{"client host downgraded scheme", "http://reg.example.com/v2/a/blobs/uploads/1", c, "https://reg.example.com/v2/a/blobs/uploads/1"},
		{"relative untouched", "/v2/a/blobs/uploads/1?x=1", c, "/v2/a/blobs/uploads/1?x=1"},
		{"storage redirect untouched", "https://bucket.s3.example/blob?sig=1", c, "https://bucket.s3.example/blob?sig=1"},
		{"other port is another host", "http://10.0.0.5:6000/v2/", c, "http://10.0.0.5:6000/v2/"},
		{"user info dropped", "http://u:p@10.0.0.5:5000/mirror/v2/", c, "https://reg.example.com/v2/"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := clientLocation(tt.loc, target, tt.c); got != tt.want {
				t.Fatalf("got %q, want %q", got, tt.want)
			}
		})
	}
}

// FuzzClientLocation: a Location on the upstream never reaches the client with the
// upstream's address; it comes out on the client-facing scheme and host.
func FuzzClientLocation(f *testing.F) {
	for _, s := range []string{"http://10.0.0.5:5000/v2/a/blobs/uploads/1?_state=x", "/v2/x", "http://10.0.0.5/v2/",
		"https://other/x", "http://10.0.0.5:5000", "http://[::1]:5000/x", "//10.0.0.5:5000/v2/"} {
		f.Add(s)
	}
	target, _ := url.Parse("http://10.0.0.5:5000")
	c := &clientInfo{proto: "https", host: "reg.example.com"}
	f.Fuzz(func(t *testing.T, loc string) {
		got := clientLocation(loc, target, c)
		in, err := url.Parse(loc)
		if err != nil || in.Host == "" || !sameAuthority(in, target) {
			return
		}
		out, err := url.Parse(got)
		if err != nil {
			t.Fatalf("rewritten %q does not parse: %v", got, err)
		}
		if out.Scheme != "https" || out.Host != "reg.example.com" {
			t.Fatalf("%q became %q", loc, got)
		}
	})
}
