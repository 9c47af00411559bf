package config

import (
	"flag"
	"strings"
	"testing"
)

func TestPublicURL(t *testing.T) {
	tests := []struct {
		url, host, err string
	}{
		{"", "", ""},
		{"https://registry.example.com", "registry.example.com", ""},
		{"https://registry.example.com:443/", "registry.example.com", ""},
		{"https://localhost:8443", "localhost:8443", ""},
		{"http://10.0.0.5:80", "10.0.0.5", ""},
		{"ftp://x", "", "must be https://HOST[:PORT]"},
		{"registry.example.com", "", "must be https://HOST[:PORT]"},
		{"https://r.example.com/v2/", "", "without path"},
		{"https://u:p@r.example.com", "", "without path, query or credentials"},
	}
	for _, tt := range tests {
		c := Defaults()
		c.PublicURL = tt.url
		err := c.checkPublicURL()
		if (err == nil) != (tt.err == "") || (err != nil && !strings.Contains(err.Error(), tt.err)) {
			t.Errorf("%q: err = %v, want %q", tt.url, err, tt.err)
		}
		if err == nil {
			if got := c.PublicHost(); got != tt.host {
				t.Errorf("%q: PublicHost = %q, want %q", tt.url, got, tt.host)
			}
		}
	}
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	l := NewLoader(fs, func(k string) (string, bool) {
		if k == "GATEWAY_PUBLIC_URL" {
			return "https://registry.example.com", true
		}
		return "", false
	})
	if err := fs.Parse(nil); err != nil {
		t.Fatal(err)
	}
	c, err := l.Load()
	if err != nil || c.PublicURL != "https://registry.example.com" {
		t.Errorf("GATEWAY_PUBLIC_URL: %q, %v", c.PublicURL, err)
	}
}
