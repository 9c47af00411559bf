package server

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// ErrBodyIdle is the cause of a request ended by the body idle timeout: the client sent no
// request body bytes, or took no response bytes, for Config.BodyIdleTimeout while the
// server waited on it. Backends see it as the request context's cause and as the error of
// the read or write that was waiting.
var ErrBodyIdle = errors.New("client idle: no body bytes moved within the body idle timeout")

// bodyIdle ends a request whose body stands still: when a read of the request body, or a
// write or flush of the response, has waited on the client for timeout without returning,
// it is made to fail (a read or write deadline in the past, which net/http and the HTTP/2
// server both honour), the request context is cancelled with ErrBodyIdle, and idle is
// called with the direction ("request" or "response"). Time the server spends elsewhere
// (writing to disk, waiting for an upstream) never counts, and a body that keeps moving,
// however slowly and however long, is never cut: each read or write that returns starts
// the count again. A timeout of zero or less turns it off.
//
// Issue 12: a stalled upload held the connection and its buffers for as long as the
// client liked; with this, for timeout at most.
func bodyIdle(timeout time.Duration, idle func(r *http.Request, direction string)) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		if timeout <= 0 {
			return next
		}
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			ctx, cancel := context.WithCancelCause(r.Context())
			defer cancel(nil)
			wd := &watchdog{timeout: timeout, start: time.Now(), rc: http.NewResponseController(w), cancel: cancel}
			wd.onIdle = func(direction string) {
				if idle != nil {
					idle(r, direction)
				}
			}
			defer wd.stop()
			r = r.WithContext(ctx)
			if r.Body != nil && r.Body != http.NoBody {
				r.Body = &idleBody{ReadCloser: r.Body, wd: wd}
			}
			next.ServeHTTP(&idleWriter{ResponseWriter: w, wd: wd}, r)
		})
	}
}

// watchdog watches the reads and writes of one request. reading and writing hold when the
// pending read or write began (nanoseconds since start, plus one; 0: none pending); the
// timer checks them and re-arms itself for the earliest moment one could expire.
type watchdog struct {
	timeout time.Duration
	start   time.Time
	rc      *http.ResponseController
	cancel  context.CancelCauseFunc
	onIdle  func(direction string)

	reading, writing atomic.Int64
	expired          atomic.Bool

	once  sync.Once
	mu    sync.Mutex // guards timer against stop
	timer *time.Timer
	done  bool
}

func (wd *watchdog) now() int64 { return int64(time.Since(wd.start)) + 1 }

// begin notes that a read or write starts waiting; end that it returned.
func (wd *watchdog) begin(pending *atomic.Int64) {
	pending.Store(wd.now())
	wd.once.Do(func() {
		wd.mu.Lock()
		defer wd.mu.Unlock()
		if !wd.done {
			wd.timer = time.AfterFunc(wd.timeout, wd.check)
		}
	})
}

func (wd *watchdog) end(pending *atomic.Int64) { pending.Store(0) }

func (wd *watchdog) check() {
	now := wd.now()
	next := wd.timeout
	for _, p := range []struct {
		since     *atomic.Int64
		direction string
	}{{&wd.reading, "request"}, {&wd.writing, "response"}} {
		since := p.since.Load()
		if since == 0 {
			continue
		}
		waited := time.Duration(now - since)
		if waited >= wd.timeout {
			wd.expire(p.direction)
			return
		}
		next = min(next, wd.timeout-waited)
	}
	wd.mu.Lock()
	defer wd.mu.Unlock()
	if !wd.done {
		wd.timer.Reset(next)
	}
}

// expire fails what is waiting and cancels the request. Only the waiting direction gets
// a deadline: a request whose body stalled can still be answered (an HTTP/1.1 client
// reads "400" rather than a TLS stream cut mid-record, an HTTP/2 one a status rather than
// RST_STREAM), and the cancelled context ends whatever else the request was doing.
func (wd *watchdog) expire(direction string) {
	if !wd.expired.CompareAndSwap(false, true) {
		return
	}
	wd.onIdle(direction) // first: once the deadline is set, the request may be over
	past := time.Now().Add(-time.Second)
	if direction == "request" {
		_ = wd.rc.SetReadDeadline(past) // unsupported writers: the context still ends
	} else {
		_ = wd.rc.SetWriteDeadline(past)
	}
	wd.cancel(ErrBodyIdle)
}

func (wd *watchdog) stop() {
	wd.mu.Lock()
	defer wd.mu.Unlock()
	wd.done = true
	if wd.timer != nil {
		wd.timer.Stop()
	}
}

// failed turns the error of an operation cut by the watchdog into one naming why.
func (wd *watchdog) failed(err error) error {
	if err != nil && wd.expired.Load() {
		return fmt.Errorf("%w (after %v): %w", ErrBodyIdle, wd.timeout, err)
	}
	return err
}

type idleBody struct {
	io.ReadCloser
	wd *watchdog
}

func (b *idleBody) Read(p []byte) (int, error) {
	b.wd.begin(&b.wd.reading)
	n, err := b.ReadCloser.Read(p)
	b.wd.end(&b.wd.reading)
	return n, b.wd.failed(err)
}

// idleWriter watches the response's writes and flushes. It implements FlushError so that
// http.ResponseController flushes through it, and Unwrap for everything else.
type idleWriter struct {
	http.ResponseWriter
	wd *watchdog
}

// idleWriteChunk is the most one watched write hands down: a write returns once its bytes
// are in the socket, so a 256 KiB blob buffer written whole to a client taking 1 KiB/s
// would wait four minutes without returning, though its bytes move. In 64 KiB pieces a
// download is cut only below about 1 KiB/s (with the 60 s default). TLS writes records of
// 16 KiB and HTTP/2 frames of 16 KiB anyway, so the pieces cost no extra syscall there.
const idleWriteChunk = 64 << 10

func (w *idleWriter) Write(p []byte) (int, error) {
	written := 0
	for {
		piece := p[:min(len(p), idleWriteChunk)]
		w.wd.begin(&w.wd.writing)
		n, err := w.ResponseWriter.Write(piece)
		w.wd.end(&w.wd.writing)
		written += n
		p = p[len(piece):]
		if err != nil || len(p) == 0 {
			return written, w.wd.failed(err)
		}
	}
}

func (w *idleWriter) FlushError() error {
	w.wd.begin(&w.wd.writing)
	err := http.NewResponseController(w.ResponseWriter).Flush()
	w.wd.end(&w.wd.writing)
	return w.wd.failed(err)
}

func (w *idleWriter) Flush() { _ = w.FlushError() }

func (w *idleWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
