package server

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

// fedBody is a request body the test feeds: each Read waits for the next piece, or for
// cut (closed when the watchdog ends the request: a recorder cannot take deadlines).
type fedBody struct {
	pieces chan []byte
	cut    chan struct{}
}

func (b *fedBody) Read(p []byte) (int, error) {
	select {
	case piece, ok := <-b.pieces:
		if !ok {
			return 0, io.EOF
		}
		return copy(p, piece), nil
	case <-b.cut:
		return 0, errors.New("deadline exceeded")
	}
}

func (b *fedBody) Close() error { return nil }

// slowWriter is a response writer draining delay per 64 KiB (or part) written, or whose
// writes wait for cut when delay is negative (a client that stopped reading).
type slowWriter struct {
	*httptest.ResponseRecorder
	delay time.Duration
	cut   chan struct{}
}

func (w *slowWriter) Write(p []byte) (int, error) {
	if w.delay < 0 {
		<-w.cut
		return 0, errors.New("deadline exceeded")
	}
	time.Sleep(w.delay * time.Duration((len(p)+64<<10-1)/(64<<10)))
	return w.ResponseRecorder.Write(p)
}

// TestBodyIdle runs the watchdog on a fake clock (testing/synctest): a body that stops is
// cut once it has waited the timeout, in either direction; a body that keeps moving,
// however slowly, and time the handler spends elsewhere never are.
func TestBodyIdle(t *testing.T) {
	const timeout = 10 * time.Second
	tests := []struct {
		name string
		// feed sends the request body's pieces (and closes pieces for EOF, or not).
		feed func(pieces chan<- []byte)
		// handle is the handler's work once the body is read (or its read failed).
		pause     time.Duration // between reads, the handler busy elsewhere
		respDelay time.Duration // each response write's duration; <0: the client never reads
		respSize  int           // the size of each of the handler's 3 writes; default 10
		wantCut   string        // "request", "response" or "" (never cut)
		wantAt    time.Duration // when the cut comes, on the fake clock
	}{
		{
			name: "stalled request body",
			feed: func(p chan<- []byte) {
				p <- []byte("600 KiB")
				// then nothing, ever
			},
			wantCut: "request",
			wantAt:  timeout,
		},
		{
			name: "slow but moving request body",
			feed: func(p chan<- []byte) {
				for range 50 {
					time.Sleep(timeout / 2)
					p <- []byte("x")
				}
				close(p)
			},
		},
		{
			name: "stalls after moving for a long time",
			feed: func(p chan<- []byte) {
				for range 10 {
					time.Sleep(timeout - time.Second)
					p <- []byte("x")
				}
			},
			wantCut: "request",
			wantAt:  10*(timeout-time.Second) + timeout,
		},
		{
			name: "handler busy between reads",
			feed: func(p chan<- []byte) {
				for range 5 {
					p <- []byte("x") // each waits for the handler to read
				}
				close(p)
			},
			pause: 3 * timeout,
		},
		{
			name:      "client stops reading the response",
			feed:      func(p chan<- []byte) { close(p) },
			respDelay: -1,
			wantCut:   "response",
			wantAt:    timeout,
		},
		{
			name:      "slow response writes that finish",
			feed:      func(p chan<- []byte) { close(p) },
			respDelay: timeout - time.Second,
		},
		{
			// 1 MiB writes, each taking 16 x 9 s to drain: the bytes move all along.
			name:      "a slow download of big writes",
			feed:      func(p chan<- []byte) { close(p) },
			respDelay: timeout - time.Second,
			respSize:  1 << 20,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				cut := make(chan struct{})
				var cutDirection string
				var cutAt time.Duration
				start := time.Now()
				var readErr, writeErr error
				var cause error
				h := bodyIdle(timeout, func(r *http.Request, direction string) {
					cutDirection, cutAt = direction, time.Since(start)
					close(cut)
				})(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					buf := make([]byte, 64)
					for {
						_, err := r.Body.Read(buf)
						if err != nil {
							if err != io.EOF {
								readErr = err
							}
							break
						}
						time.Sleep(tt.pause)
					}
					if readErr == nil {
						chunk := []byte("blob bytes")
						if tt.respSize > 0 {
							chunk = make([]byte, tt.respSize)
						}
						for range 3 {
							if n, err := w.Write(chunk); err != nil || n != len(chunk) {
								writeErr = err
								break
							}
						}
					}
					cause = context.Cause(r.Context())
				}))
				body := &fedBody{pieces: make(chan []byte), cut: cut}
				go tt.feed(body.pieces)
				r := httptest.NewRequest("PATCH", "/v2/a/blobs/uploads/x", body)
				w := &slowWriter{ResponseRecorder: httptest.NewRecorder(), delay: tt.respDelay, cut: cut}
				h.ServeHTTP(w, r)

				if cutDirection != tt.wantCut {
					t.Fatalf("cut %q, want %q (read error %v, write error %v)", cutDirection, tt.wantCut, readErr, writeErr)
				}
				if tt.wantCut == "" {
					if readErr != nil || writeErr != nil || cause != nil {
						t.Errorf("a moving request failed: read %v, write %v, cause %v", readErr, writeErr, cause)
					}
					return
				}
				if cutAt != tt.wantAt {
					t.Errorf("cut after %v, want %v", cutAt, tt.wantAt)
				}
				failed := readErr
				if tt.wantCut == "response" {
					failed = writeErr
				}
				if !errors.Is(failed, ErrBodyIdle) || !errors.Is(cause, ErrBodyIdle) {
					t.Errorf("the waiting %s failed with %v and the context with %v; want ErrBodyIdle for both", tt.wantCut, failed, cause)
				}
			})
		})
	}
}

// TestBodyIdleOff: a timeout of zero leaves the handler unwrapped.
func TestBodyIdleOff(t *testing.T) {
	h := http.NotFoundHandler()
	if got := bodyIdle(0, nil)(h); fmt.Sprint(got) != fmt.Sprint(h) {
		t.Error("bodyIdle(0) wrapped the handler")
	}
}

// TestBodyIdleServer: over real connections, HTTP/1.1 and HTTP/2 through TLS, the read
// of a body whose client stopped sending fails with ErrBodyIdle (the deadline reaches
// the blocked read), and so does a response write to a client that stopped reading.
func TestBodyIdleServer(t *testing.T) {
	tlsCfg, _ := testTLS(t)
	type outcome struct {
		path string
		err  error
	}
	outcomes := make(chan outcome, 4)
	var limits countingLimits
	s := start(t, Config{
		Listen:          "127.0.0.1:0",
		TLS:             tlsCfg,
		BodyIdleTimeout: 300 * time.Millisecond,
		Limits:          &limits,
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			var err error
			if r.Method == http.MethodPatch {
				_, err = io.Copy(io.Discard, r.Body)
			} else {
				chunk := make([]byte, 64<<10)
				for err == nil {
					_, err = w.Write(chunk) // until the socket buffers are full
				}
			}
			outcomes <- outcome{r.Proto + " " + r.Method, err}
		}),
	})
	addr := s.Addr().String()

	// HTTP/1.1: a raw client that sends part of a body, then neither sends nor reads.
	for _, method := range []string{"PATCH", "GET"} {
		c, err := tls.Dial("tcp", addr, &tls.Config{InsecureSkipVerify: true, NextProtos: []string{"http/1.1"}})
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		fmt.Fprintf(c, "%s /v2/x HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000\r\n\r\n%s", method, strings.Repeat("a", 1000))
	}
	// HTTP/2: a body that never ends, and a response never read.
	tr := &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, ForceAttemptHTTP2: true}
	defer tr.CloseIdleConnections()
	pr, pw := io.Pipe()
	defer pw.Close()
	go pw.Write([]byte("some bytes, then nothing"))
	var wg sync.WaitGroup
	done := make(chan struct{})
	for _, method := range []string{"PATCH", "GET"} {
		var body io.Reader
		if method == "PATCH" {
			body = pr
		}
		req, _ := http.NewRequestWithContext(t.Context(), method, "https://"+addr+"/v2/x", body)
		wg.Go(func() {
			resp, err := tr.RoundTrip(req)
			if err == nil {
				<-done // the body is never read, nor closed (that would reset the stream)
				resp.Body.Close()
			}
		})
	}

	got := map[string]error{}
	for range 4 {
		select {
		case o := <-outcomes:
			got[o.path] = o.err
		case <-time.After(30 * time.Second): // a hang guard
			t.Fatalf("only %v ended", got)
		}
	}
	for _, path := range []string{"HTTP/1.1 PATCH", "HTTP/1.1 GET", "HTTP/2.0 PATCH", "HTTP/2.0 GET"} {
		if err, ok := got[path]; !ok || !errors.Is(err, ErrBodyIdle) {
			t.Errorf("%s: handler's read or write ended with %v, want ErrBodyIdle", path, err)
		}
	}
	if n := limits.count(LimitBodyIdle); n != 4 {
		t.Errorf("LimitBodyIdle reported %d times, want 4", n)
	}
	pw.Close()
	close(done)
	wg.Wait()
}

type countingLimits struct {
	mu sync.Mutex
	n  map[string]int
}

func (c *countingLimits) LimitReached(limit string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.n == nil {
		c.n = map[string]int{}
	}
	c.n[limit]++
}

func (c *countingLimits) count(limit string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n[limit]
}
