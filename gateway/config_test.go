package gateway

import (
	"net/netip"
	"strings"
	"testing"
)

func TestConfigValidate(t *testing.T) {
	err := Config{Realm: `a"b`, TrustedProxies: []netip.Prefix{{}, netip.MustParsePrefix("10.1.2.3/8")}}.Validate()
	if err == nil {
		t.Fatal("empty config validated")
	}
	for _, want := range []string{"Backend", "Authenticator", "Authorizer", "Logger", "Realm", "TrustedProxies[0]", "write 10.0.0.0/8"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not mention %s: %v", want, err)
		}
	}
	if _, err := New(Config{}); err == nil {
		t.Fatal("New accepted an empty config")
	}
}
