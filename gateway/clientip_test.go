package gateway

import (
	"net/http"
	"net/http/httptest"
	"net/netip"
	"slices"
	"strings"
	"testing"
)

var testTrusted = trustedProxies{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("2001:db8::/32")}

func TestResolveClient(t *testing.T) {
	tests := []struct {
		name   string
		peer   string
		xff    []string
		client string
		chain  string
	}{
		{"untrusted peer ignores header", "192.0.2.1", []string{"1.2.3.4"}, "192.0.2.1", ""},
		{"trusted peer, one hop", "10.0.0.1", []string{"203.0.113.5"}, "203.0.113.5", "203.0.113.5"},
		{"spoofed left entries dropped", "10.0.0.1", []string{"6.6.6.6, 203.0.113.5, 10.0.0.2"}, "203.0.113.5", "203.0.113.5,10.0.0.2"},
		{"several header lines", "10.0.0.1", []string{"6.6.6.6", "203.0.113.5", "10.0.0.9"}, "203.0.113.5", "203.0.113.5,10.0.0.9"},
		{"all trusted: leftmost", "10.0.0.1", []string{"10.1.1.1, 10.2.2.2"}, "10.1.1.1", "10.1.1.1,10.2.2.2"},
		{"garbage stops the walk", "10.0.0.1", []string{"203.0.113.5, junk, 10.0.0.3"}, "10.0.0.3", "10.0.0.3"},
		{"garbage at the right", "10.0.0.1", []string{"203.0.113.5, junk"}, "10.0.0.1", ""},
		{"port and brackets", "10.0.0.1", []string{"[2001:db8::1]:443, 198.51.100.1:80"}, "198.51.100.1", "198.51.100.1"},
		{"mapped v4 peer", "::ffff:10.0.0.1", []string{"198.51.100.1"}, "198.51.100.1", "198.51.100.1"},
		{"no header", "10.0.0.1", nil, "10.0.0.1", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			client, chain := resolveClient(netip.MustParseAddr(tt.peer).Unmap(), tt.xff, testTrusted)
			var cs []string
			for _, a := range chain {
				cs = append(cs, a.String())
			}
			if client.String() != tt.client || strings.Join(cs, ",") != tt.chain {
				t.Fatalf("client %s chain %v, want %s %s", client, cs, tt.client, tt.chain)
			}
		})
	}
}

func TestForwardedProtoHost(t *testing.T) {
	r := httptest.NewRequest("GET", "http://front:5000/v2/", nil)
	r.Header.Set("X-Forwarded-Proto", "https")
	r.Header.Set("X-Forwarded-Host", "reg.example.com")
	if got := forwardedProto(r, false, false); got != "http" {
		t.Errorf("untrusted proto %s", got)
	}
	if got := forwardedProto(r, false, true); got != "https" {
		t.Errorf("trusted proto %s", got)
	}
	r.Header.Set("X-Forwarded-Proto", "http")
	if got := forwardedProto(r, true, true); got != "https" {
		t.Errorf("TLS gateway downgraded to %s", got)
	}
	if got := forwardedHost(r, false); got != "front:5000" {
		t.Errorf("untrusted host %s", got)
	}
	if got := forwardedHost(r, true); got != "reg.example.com" {
		t.Errorf("trusted host %s", got)
	}
	r.Header.Set("X-Forwarded-Host", "evil.com/\r\nX: y")
	if got := forwardedHost(r, true); got != "front:5000" {
		t.Errorf("injected host accepted: %q", got)
	}
}

func TestTrustedRequestID(t *testing.T) {
	h, _ := newTestGateway(t, &echoBackend{}, nil, func(c *Config) { c.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")} })
	for _, tt := range []struct {
		peer, id string
		kept     bool
	}{{"10.0.0.1:1", "abc-123", true}, {"192.0.2.1:1", "abc-123", false}, {"10.0.0.1:1", "bad id\n", false}} {
		r := basic(httptest.NewRequestWithContext(t.Context(), "GET", "/v2/", nil), "alice")
		r.RemoteAddr = tt.peer
		r.Header.Set("X-Request-Id", tt.id)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if got := w.Header().Get("X-Request-Id"); (got == tt.id) != tt.kept || got == "" {
			t.Errorf("peer %s id %q: response id %q", tt.peer, tt.id, got)
		}
	}
}

// naiveResolve is a second reading of X-Forwarded-For: parse every entry, then walk from
// the right while entries parse and are trusted.
func naiveResolve(peer netip.Addr, xff []string, trusted trustedProxies) netip.Addr {
	if !trusted.contains(peer) {
		return peer
	}
	var entries []string
	for _, l := range xff {
		entries = append(entries, strings.Split(l, ",")...)
	}
	client := peer
	for i := len(entries) - 1; i >= 0 && len(entries)-i <= maxForwardedHops; i-- {
		a, ok := parseForwardedAddr(strings.TrimSpace(entries[i]))
		if !ok {
			break
		}
		client = a
		if !trusted.contains(a) {
			break
		}
	}
	return client
}

// FuzzForwardedFor checks the X-Forwarded-For reading and the outbound header built from
// it: an untrusted peer is always the client; behind a trusted peer the client is the
// first entry of the accepted chain, everything right of it is a trusted proxy, it agrees
// with a second reading, and the X-Forwarded-For sent upstream parses back to chain+peer.
func FuzzForwardedFor(f *testing.F) {
	for _, s := range []string{"203.0.113.5", "6.6.6.6, 203.0.113.5, 10.0.0.2", "junk", "10.1.1.1,10.2.2.2",
		"[2001:db8::1]:443, 198.51.100.1:80", " , ,", "fe80::1%eth0", "1.2.3.4\n5.6.7.8"} {
		f.Add("10.0.0.1", s)
		f.Add("192.0.2.1", s)
	}
	f.Fuzz(func(t *testing.T, peerS, xff string) {
		peer, err := netip.ParseAddr(peerS)
		if err != nil || peer.Zone() != "" {
			return
		}
		peer = peer.Unmap()
		lines := strings.Split(xff, "\n")
		client, chain := resolveClient(peer, lines, testTrusted)
		if !testTrusted.contains(peer) {
			if client != peer || chain != nil {
				t.Fatalf("untrusted peer %s: client %s chain %v", peer, client, chain)
			}
			return
		}
		if want := naiveResolve(peer, lines, testTrusted); client != want {
			t.Fatalf("client %s, second reading %s", client, want)
		}
		if len(chain) > 0 {
			if chain[0] != client {
				t.Fatalf("chain %v does not start at client %s", chain, client)
			}
			for _, a := range chain[1:] {
				if !testTrusted.contains(a) {
					t.Fatalf("untrusted %s right of the client in %v", a, chain)
				}
			}
		} else if client != peer {
			t.Fatalf("empty chain but client %s", client)
		}
		c := &clientInfo{peer: peer, viaProxy: chain}
		h := http.Header{}
		h.Set("Authorization", "Basic eA==")
		h.Set("X-Forwarded-For", xff)
		prepareOutbound(h, c)
		if h.Get("Authorization") != "" {
			t.Fatal("Authorization forwarded")
		}
		var parsed []netip.Addr
		for e := range strings.SplitSeq(h.Get("X-Forwarded-For"), ",") {
			a, ok := parseForwardedAddr(strings.TrimSpace(e))
			if !ok {
				t.Fatalf("outbound X-Forwarded-For %q has unparsable %q", h.Get("X-Forwarded-For"), e)
			}
			parsed = append(parsed, a)
		}
		if want := append(slices.Clone(chain), peer); !slices.Equal(parsed, want) {
			t.Fatalf("outbound %v, want %v", parsed, want)
		}
	})
}
