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
		msg := c.checkPublicURL()
		if (msg == "") != (tt.err == "") || !strings.Contains(msg, tt.err) {
			t.Errorf("%q: problem %q, want %q", tt.url, msg, tt.err)
		}
		if msg == "" {
			if got := c.PublicHost(); got != tt.host {
				t.Errorf("%q: PublicHost = %q, want %q", tt.url, got, tt.host)
			}
		}
	}
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	l := NewLoader(fs, func() []string { return []string{"GATEWAY_PUBLIC_URL=https://registry.example.com"} })
	if err := fs.Parse(nil); err != nil {
		t.Fatal(err)
	}
	c, err := l.Load()
	if err != nil || c.PublicURL != "https://registry.example.com" {
		t.Errorf("GATEWAY_PUBLIC_URL: %q, %v", c.PublicURL, err)
	}
}

func TestPublicURLProblem(t *testing.T) {
	c := Defaults()
	c.PublicURL = "ftp://x"
	for _, e := range Problems(c.Validate()) {
		if p, ok := e.(*Problem); ok && p.Key == "public_url" {
			return
		}
	}
	t.Errorf("Validate reports no public_url problem for ftp://x")
}
