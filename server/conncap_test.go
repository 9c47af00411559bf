package server

import (
	"crypto/tls"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/netip"
	"testing"
	"time"

	"golang.org/x/net/http2"
)

func TestCapListenerKey(t *testing.T) {
	l := &capListener{exempt: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}}
	tests := []struct {
		addr   string
		want   string
		counts bool
	}{
		{"192.0.2.7:5000", "192.0.2.7", true},
		{"[::ffff:192.0.2.7]:5000", "192.0.2.7", true}, // an IPv4 client on a dual-stack socket
		{"[2001:db8:1:2:3:4:5:6]:443", "2001:db8:1:2::", true},
		{"[2001:db8:1:2:ffff::1]:443", "2001:db8:1:2::", true}, // the same /64
		{"10.1.2.3:80", "", false},                             // a trusted proxy
	}
	for _, tt := range tests {
		key, counts := l.key(net.TCPAddrFromAddrPort(netip.MustParseAddrPort(tt.addr)))
		if counts != tt.counts || (counts && key.String() != tt.want) {
			t.Errorf("key(%s) = %v, %v; want %s, %v", tt.addr, key, counts, tt.want, tt.counts)
		}
	}
}

// TestMaxConnsPerIP: past the cap, a connection from the same address is closed before
// its TLS handshake; once one closes, a new one is served; and nothing is kept for an
// address with no connection open.
func TestMaxConnsPerIP(t *testing.T) {
	tlsCfg, _ := testTLS(t)
	var limits countingLimits
	s := start(t, Config{
		Listen:        "127.0.0.1:0",
		TLS:           tlsCfg,
		MaxConnsPerIP: 3,
		Limits:        &limits,
		Handler:       http.NotFoundHandler(),
	})
	addr := s.Addr().String()
	dial := func() (*tls.Conn, error) {
		d := &net.Dialer{Timeout: 10 * time.Second}
		return tls.DialWithDialer(d, "tcp", addr, &tls.Config{InsecureSkipVerify: true})
	}
	var open []*tls.Conn
	for i := range 3 {
		c, err := dial()
		if err != nil {
			t.Fatalf("connection %d under the cap: %v", i+1, err)
		}
		open = append(open, c)
	}
	if c, err := dial(); err == nil {
		c.Close()
		t.Fatal("a fourth connection from 127.0.0.1 was served with the cap at 3")
	}
	if n := limits.count(LimitConnsPerIP); n != 1 {
		t.Errorf("LimitConnsPerIP reported %d times, want 1", n)
	}
	open[0].Close()
	// The server sees the close when it next reads; until then a dial may still be refused.
	waitFor(t, func() bool {
		c, err := dial()
		if err == nil {
			c.Close()
		}
		return err == nil
	})
	for _, c := range open[1:] {
		c.Close()
	}
}

// TestCapListenerForgets: an address's count goes when its last connection closes, so the
// listener keeps nothing for clients that have gone, and a second Close of a connection
// gives back nothing more.
func TestCapListenerForgets(t *testing.T) {
	inner, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer inner.Close()
	cl := newCapListener(inner, 2, nil, nil).(*capListener)
	local := netip.MustParseAddr("127.0.0.1")
	var served []net.Conn
	for range 2 {
		c, err := net.Dial("tcp", inner.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		s, err := cl.Accept()
		if err != nil {
			t.Fatal(err)
		}
		served = append(served, s)
	}
	if n := cl.openFrom(local); n != 2 {
		t.Fatalf("%d open from 127.0.0.1, want 2", n)
	}
	served[0].Close()
	served[0].Close()
	if n := cl.openFrom(local); n != 1 {
		t.Fatalf("%d open after one closed twice, want 1", n)
	}
	served[1].Close()
	if len(cl.open) != 0 {
		t.Errorf("entries left for closed clients: %v", cl.open)
	}
}

// waitFor polls cond until it holds; the timeout is a hang guard.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 10s")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestHTTP2HeaderTimeout: an HTTP/2 connection that sends the preface and its SETTINGS
// and then no request is closed after the header timeout (before a generous bound), as
// HTTP/1.1 closes one that never finishes its headers; one that made a request stays
// open past it.
func TestHTTP2HeaderTimeout(t *testing.T) {
	tlsCfg, _ := testTLS(t)
	const headerTimeout = 500 * time.Millisecond
	s := start(t, Config{
		Listen:        "127.0.0.1:0",
		TLS:           tlsCfg,
		HeaderTimeout: headerTimeout,
		Handler:       http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}),
	})
	addr := s.Addr().String()

	closedWithin := func(c net.Conn, bound time.Duration) bool {
		c.SetReadDeadline(time.Now().Add(bound))
		buf := make([]byte, 4096)
		for {
			if _, err := c.Read(buf); err != nil {
				ne, ok := err.(net.Error)
				return !ok || !ne.Timeout()
			}
		}
	}
	t.Run("h2 preface only", func(t *testing.T) {
		c, err := tls.Dial("tcp", addr, &tls.Config{InsecureSkipVerify: true, NextProtos: []string{"h2"}})
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if c.ConnectionState().NegotiatedProtocol != "h2" {
			t.Fatal("h2 not negotiated")
		}
		if _, err := c.Write([]byte(http2.ClientPreface)); err != nil {
			t.Fatal(err)
		}
		if err := http2.NewFramer(c, nil).WriteSettings(); err != nil {
			t.Fatal(err)
		}
		if !closedWithin(c, 20*time.Second) {
			t.Fatal("an HTTP/2 connection without a request was still open after 20s")
		}
	})
	t.Run("h1 partial headers", func(t *testing.T) {
		c, err := tls.Dial("tcp", addr, &tls.Config{InsecureSkipVerify: true, NextProtos: []string{"http/1.1"}})
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.Write([]byte("GET /v2/ HTTP/1.1\r\nHost: x\r\n"))
		if !closedWithin(c, 20*time.Second) {
			t.Fatal("an HTTP/1.1 connection with unfinished headers was still open after 20s")
		}
	})
	t.Run("h2 with a request stays open", func(t *testing.T) {
		tr := &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, ForceAttemptHTTP2: true}
		defer tr.CloseIdleConnections()
		client := &http.Client{Transport: tr}
		reused := make([]bool, 0, 2)
		for i := range 2 {
			trace := &httptrace.ClientTrace{GotConn: func(info httptrace.GotConnInfo) { reused = append(reused, info.Reused) }}
			req, _ := http.NewRequestWithContext(httptrace.WithClientTrace(t.Context(), trace), "GET", "https://"+addr+"/v2/", nil)
			resp, err := client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.ProtoMajor != 2 {
				t.Fatalf("request over %s", resp.Proto)
			}
			if i == 0 {
				time.Sleep(3 * headerTimeout) // the behaviour under test is time passing
			}
		}
		if len(reused) != 2 || !reused[1] {
			t.Errorf("the second request did not reuse the connection (%v): it was closed after its first request", reused)
		}
	})
}
