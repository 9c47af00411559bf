package server

import (
	"bytes"
	"crypto/tls"
	"errors"
	"net"
	"sync"
	"testing"
	"time"
)

// recordingConn records each Write it is given, as the TLS connection under a batchConn.
type recordingConn struct {
	net.Conn // nil: only Write and Close are used
	mu       sync.Mutex
	writes   [][]byte
	fail     error
	wrote    chan struct{}
}

func (c *recordingConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.fail != nil {
		return 0, c.fail
	}
	c.writes = append(c.writes, bytes.Clone(p))
	if c.wrote != nil {
		select {
		case c.wrote <- struct{}{}:
		default:
		}
	}
	return len(p), nil
}

func (c *recordingConn) Close() error { return nil }

func (c *recordingConn) sizes() []int {
	c.mu.Lock()
	defer c.mu.Unlock()
	var s []int
	for _, w := range c.writes {
		s = append(s, len(w))
	}
	return s
}

func (c *recordingConn) joined() []byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	return bytes.Join(c.writes, nil)
}

func newTestBatchConn(rc *recordingConn, wait time.Duration) *batchConn {
	pool := &sync.Pool{New: func() any { b := make([]byte, 0, batchMax); return &b }}
	bc := newBatchConn(rc, func() tls.ConnectionState { return tls.ConnectionState{ServerName: "x"} }, pool)
	bc.wait = wait
	return bc
}

// TestBatchConn: full-size frame writes are gathered into one write of at most batchMax,
// a smaller write sends what is held together with it, bytes keep their order, and a
// write larger than a batch goes straight through after what is held.
func TestBatchConn(t *testing.T) {
	const frame = 16<<10 + 9 // a full DATA frame with its header
	cases := []struct {
		name   string
		writes []int
		want   []int // the sizes the TLS connection sees
	}{
		{"frames then the end of the body", []int{frame, frame, frame, 100}, []int{3*frame + 100}},
		{"a small write alone goes straight out", []int{100, 200}, []int{100, 200}},
		{"a batch closes when no frame fits", rep(frame, 17), []int{15 * frame}}, // 2 frames stay held
		{"a batch closes, then the tail", append(rep(frame, 16), 9), []int{15 * frame, frame + 9}},
		{"a huge write goes through after what is held", []int{frame, 300 << 10}, []int{frame, 300 << 10}},
		{"small, frames, small", []int{50, frame, frame, 60}, []int{50, 2*frame + 60}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rc := &recordingConn{}
			bc := newTestBatchConn(rc, time.Hour) // no timer flush during the test
			var want []byte
			for i, n := range tc.writes {
				p := bytes.Repeat([]byte{byte('a' + i%26)}, n)
				if got, err := bc.Write(p); err != nil || got != n {
					t.Fatalf("Write(%d) = %d, %v", n, got, err)
				}
				want = append(want, p...)
			}
			if got := rc.sizes(); !equalInts(got, tc.want) {
				t.Errorf("TLS writes %v, want %v", got, tc.want)
			}
			if err := bc.Close(); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(rc.joined(), want) {
				t.Errorf("the TLS connection saw %d bytes, not the %d written in order", len(rc.joined()), len(want))
			}
			if bc.ConnectionState().ServerName != "x" {
				t.Error("ConnectionState is not the TLS connection's")
			}
		})
	}
}

// TestBatchConnTimer: a held frame with nothing after it (a body ending on a frame
// boundary, or a stream waiting for flow control) is sent without any further write.
func TestBatchConnTimer(t *testing.T) {
	rc := &recordingConn{wrote: make(chan struct{}, 1)}
	bc := newTestBatchConn(rc, time.Millisecond)
	if _, err := bc.Write(make([]byte, batchFrame)); err != nil {
		t.Fatal(err)
	}
	select {
	case <-rc.wrote:
	case <-time.After(10 * time.Second):
		t.Fatal("a held frame was never sent")
	}
	if got := rc.sizes(); !equalInts(got, []int{batchFrame}) {
		t.Fatalf("TLS writes %v", got)
	}
}

// TestBatchConnError: a failed write of held bytes is reported by the next Write, never
// swallowed.
func TestBatchConnError(t *testing.T) {
	boom := errors.New("connection reset")
	rc := &recordingConn{fail: boom}
	bc := newTestBatchConn(rc, time.Millisecond)
	if _, err := bc.Write(make([]byte, batchFrame)); err != nil {
		t.Fatalf("a held write failed early: %v", err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, err := bc.Write([]byte("x")); errors.Is(err, boom) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the failed flush was never reported")
		}
		time.Sleep(time.Millisecond)
	}
}

func rep(n, times int) []int {
	s := make([]int, times)
	for i := range s {
		s[i] = n
	}
	return s
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// blockingConn's Write blocks until Close, as a TLS write to a client that stopped reading.
type blockingConn struct {
	net.Conn
	closed  chan struct{}
	writing chan struct{}
	once    sync.Once
}

func (c *blockingConn) Write(p []byte) (int, error) {
	c.writing <- struct{}{}
	<-c.closed
	return 0, net.ErrClosed
}

func (c *blockingConn) Close() error { c.once.Do(func() { close(c.closed) }); return nil }

// TestBatchConnCloseUnblocksWrite: Close breaks a write stuck on the connection instead
// of waiting behind it for the lock the write holds.
func TestBatchConnCloseUnblocksWrite(t *testing.T) {
	bc := &blockingConn{closed: make(chan struct{}), writing: make(chan struct{}, 1)}
	c := newBatchConn(bc, func() tls.ConnectionState { return tls.ConnectionState{} },
		&sync.Pool{New: func() any { b := make([]byte, 0, batchMax); return &b }})
	wrote := make(chan error, 1)
	go func() { _, err := c.Write([]byte("small")); wrote <- err }() // a direct write
	<-bc.writing
	closed := make(chan error, 1)
	go func() { closed <- c.Close() }()
	select {
	case <-closed:
	case <-time.After(10 * time.Second): // a hang guard
		t.Fatal("Close waited behind the stuck write")
	}
	if err := <-wrote; !errors.Is(err, net.ErrClosed) {
		t.Fatalf("the stuck write returned %v", err)
	}
}
