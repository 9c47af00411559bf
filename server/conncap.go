package server

import (
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
)

// capListener caps the connections open at once from one client address: beyond max, an
// accepted connection is closed at once, before the TLS handshake, so a single address
// cannot hold every socket, goroutine and buffer the process has (issue 12). IPv6 clients
// are counted per /64, the least a single subscriber is usually given. Peers in exempt
// (trusted proxies, which carry many clients' connections) are not counted; the cap
// belongs on the proxy then.
//
// Memory is bounded by the connections open: a client's entry is removed when its last
// connection closes.
type capListener struct {
	net.Listener
	max     int
	exempt  []netip.Prefix
	refused func(addr netip.Addr) // told of each connection refused; may be nil

	mu   sync.Mutex
	open map[netip.Addr]int
}

func newCapListener(ln net.Listener, max int, exempt []netip.Prefix, refused func(netip.Addr)) net.Listener {
	if max <= 0 {
		return ln
	}
	return &capListener{Listener: ln, max: max, exempt: exempt, refused: refused, open: map[netip.Addr]int{}}
}

func (l *capListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		key, ok := l.key(c.RemoteAddr())
		if !ok {
			return c, nil // not TCP over IP (a test's pipe): nothing to count
		}
		if l.take(key) {
			return &cappedConn{Conn: c, release: func() { l.release(key) }}, nil
		}
		c.Close()
		if l.refused != nil {
			l.refused(key)
		}
	}
}

// key is the address a connection is counted under, and false for exempt peers.
func (l *capListener) key(a net.Addr) (netip.Addr, bool) {
	ta, ok := a.(*net.TCPAddr)
	if !ok {
		return netip.Addr{}, false
	}
	ip := ta.AddrPort().Addr().Unmap()
	for _, p := range l.exempt {
		if p.Contains(ip) {
			return netip.Addr{}, false
		}
	}
	if ip.Is6() {
		p, _ := ip.Prefix(64)
		ip = p.Addr()
	}
	return ip, true
}

func (l *capListener) take(key netip.Addr) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.open[key] >= l.max {
		return false
	}
	l.open[key]++
	return true
}

func (l *capListener) release(key netip.Addr) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.open[key] <= 1 {
		delete(l.open, key)
		return
	}
	l.open[key]--
}

// openFrom is how many connections key holds (tests).
func (l *capListener) openFrom(key netip.Addr) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.open[key]
}

// cappedConn gives its slot back once, on the first Close.
type cappedConn struct {
	net.Conn
	closed  atomic.Bool
	release func()
}

func (c *cappedConn) Close() error {
	if c.closed.CompareAndSwap(false, true) {
		c.release()
	}
	return c.Conn.Close()
}
