package audit

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/portcullis/portcullis/internal/atomicfile"
)

// Remote is a sink that delivers lines somewhere else: syslog, a webhook. Its queue, its
// retries and its spill file are the Trail's; the sink only delivers.
type Remote interface {
	// Name names the sink in metrics, log lines and its spill file ("syslog", "webhook").
	Name() string
	// Deliver sends one batch of lines (each with its newline), in order. An error is
	// retried with backoff, the same batch again: delivery is at least once, and a
	// receiver can drop repeats by seq. A *Rejected error is not retried: the batch is
	// counted as dropped.
	Deliver(ctx context.Context, lines [][]byte) error
	// MaxBatch is the most lines Deliver takes at once.
	MaxBatch() int
	// Close releases connections.
	Close() error
}

// Rejected is a Deliver error that retrying cannot fix (the receiver refused the batch
// as malformed, say): the lines are counted as dropped.
type Rejected struct{ Err error }

func (e *Rejected) Error() string { return "rejected: " + e.Err.Error() }
func (e *Rejected) Unwrap() error { return e.Err }

// Backoff between failed deliveries: doubling from the first to the last.
const (
	backoffMin = 100 * time.Millisecond
	backoffMax = 30 * time.Second
)

// queue runs one remote sink: a bounded queue filled on the request path without
// blocking (a full queue drops, counts and logs), drained by one goroutine that batches,
// delivers and retries.
type queue struct {
	sink  Remote
	log   *slog.Logger
	spill string // the spill file
	ch    chan []byte
	stop  chan struct{} // closed by close: deliver what is left, then stop
	done  chan struct{}
	// ctx ends when close's ctx does: spill instead of retrying.
	ctx    context.Context
	cancel context.CancelFunc

	delivered atomic.Uint64
	dropped   atomic.Uint64
	failures  atomic.Uint64
	inflight  atomic.Int64
	lastWarn  atomic.Int64 // unix nanos of the last "dropping" log line
	failing   atomic.Bool  // the last attempt failed: close spills at once

	mu       sync.Mutex
	leftover [][]byte // what the loop could not deliver by the deadline
}

func newQueue(r Remote, size int, dir string, log *slog.Logger) *queue {
	ctx, cancel := context.WithCancel(context.Background())
	return &queue{
		sink: r, log: log.With("sink", r.Name()),
		spill: filepath.Join(dir, "spill", r.Name()+".jsonl"),
		ch:    make(chan []byte, size),
		stop:  make(chan struct{}), done: make(chan struct{}), ctx: ctx, cancel: cancel,
	}
}

// put queues a line; it never blocks.
func (q *queue) put(line []byte) {
	select {
	case q.ch <- line:
	default:
		n := q.dropped.Add(1)
		now := time.Now().UnixNano()
		if last := q.lastWarn.Load(); now-last > int64(10*time.Second) && q.lastWarn.CompareAndSwap(last, now) {
			q.log.Error("audit sink is not keeping up: its queue is full and records are being dropped",
				"queue", cap(q.ch), "dropped_total", n)
		}
	}
}

func (q *queue) start() { go q.run() }

// run delivers the spill file of the last run first, then the queue, until close.
func (q *queue) run() {
	defer close(q.done)
	if spilled := q.readSpill(); len(spilled) > 0 {
		q.log.Info("audit sink: sending the records spilled at the last shutdown", "records", len(spilled))
		if !q.deliverAll(spilled) {
			return
		}
		_ = os.Remove(q.spill)
	}
	max := q.sink.MaxBatch()
	for {
		var first []byte
		select {
		case first = <-q.ch:
		case <-q.stop:
			select {
			case first = <-q.ch:
			default:
				return
			}
		}
		batch := [][]byte{first}
	fill:
		for len(batch) < max {
			select {
			case l := <-q.ch:
				batch = append(batch, l)
			default:
				break fill
			}
		}
		if !q.deliverAll(batch) {
			return
		}
	}
}

// deliverAll delivers lines in batches, retrying each with backoff. It returns false
// when the close deadline passed first; what was not delivered is then in leftover.
func (q *queue) deliverAll(lines [][]byte) bool {
	max := q.sink.MaxBatch()
	for len(lines) > 0 {
		n := min(len(lines), max)
		if !q.deliver(lines[:n]) {
			q.mu.Lock()
			q.leftover = append(q.leftover, lines...)
			q.mu.Unlock()
			return false
		}
		lines = lines[n:]
	}
	return true
}

func (q *queue) deliver(batch [][]byte) bool {
	q.inflight.Store(int64(len(batch)))
	defer q.inflight.Store(0)
	wait := backoffMin
	failing := false
	for {
		err := q.sink.Deliver(q.ctx, batch)
		var rej *Rejected
		q.failing.Store(err != nil)
		switch {
		case err == nil:
			q.delivered.Add(uint64(len(batch)))
			if failing {
				q.log.Warn("audit sink delivering again")
			}
			return true
		case errors.As(err, &rej):
			q.dropped.Add(uint64(len(batch)))
			q.log.Error("audit sink rejected records; they are dropped", "records", len(batch), "err", err)
			return true
		}
		q.failures.Add(1)
		if !failing {
			q.log.Error("audit sink cannot deliver; retrying with backoff (requests are not held up)", "err", err)
			failing = true
		}
		select {
		case <-q.ctx.Done():
			return false
		case <-time.After(wait):
		}
		wait = min(wait*2, backoffMax)
	}
}

// close lets the loop deliver the queue until ctx ends, then writes what is left to the
// spill file. A sink that is failing gets no grace: waiting on a dead receiver would only
// hold up the shutdown.
func (q *queue) close(ctx context.Context) error {
	close(q.stop)
	if q.failing.Load() {
		q.cancel()
	}
	select {
	case <-q.done:
	case <-ctx.Done():
		q.cancel()
		<-q.done
	}
	q.cancel()
	// The loop has stopped: whatever is still queued or left over goes to the spill file.
	q.mu.Lock()
	rest := q.leftover
	q.mu.Unlock()
	for {
		select {
		case l := <-q.ch:
			rest = append(rest, l)
			continue
		default:
		}
		break
	}
	err := q.sink.Close()
	if len(rest) > 0 {
		if serr := q.writeSpill(rest); serr != nil {
			q.dropped.Add(uint64(len(rest)))
			return errors.Join(err, fmt.Errorf("audit sink %s: spilling %d records: %w", q.sink.Name(), len(rest), serr))
		}
		q.log.Warn("audit sink: records not delivered by shutdown were spilled; they are sent at the next start",
			"records", len(rest), "file", q.spill)
	}
	return err
}

// readSpill reads the spill file; a missing file is no records.
func (q *queue) readSpill() [][]byte {
	b, err := os.ReadFile(q.spill)
	if err != nil {
		if !errors.Is(err, os.ErrNotExist) {
			q.log.Error("audit sink: reading the spill file", "file", q.spill, "err", err)
		}
		return nil
	}
	var lines [][]byte
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		if len(sc.Bytes()) > 0 {
			lines = append(lines, append(sc.Bytes(), '\n'))
		}
	}
	return lines
}

// writeSpill replaces the spill file with lines (what the previous spill still held is
// among them: it is delivered first and, undelivered, left over first).
func (q *queue) writeSpill(lines [][]byte) error {
	if err := os.MkdirAll(filepath.Dir(q.spill), 0o700); err != nil {
		return err
	}
	return atomicfile.WriteFile(q.spill, bytes.Join(lines, nil), 0o600)
}

// SinkStats counts one sink's records.
type SinkStats struct {
	Sink string
	// Written: delivered (or written, for the file). Queued: waiting now. Dropped: lost
	// to a full queue or a rejection. Failures: failed attempts (each retried).
	Written, Dropped, Failures uint64
	Queued                     int
}

// Stats returns each sink's counters: the file ("file"), then the remote sinks.
func (t *Trail) Stats() []SinkStats {
	var out []SinkStats
	if t.file != nil {
		queued := t.file.queuedLines()
		out = append(out, SinkStats{Sink: "file", Written: t.file.written.Load(), Queued: queued,
			Dropped: t.droppedTotal.Load(), Failures: t.file.failures.Load()})
	}
	for _, q := range t.remote {
		out = append(out, SinkStats{Sink: q.sink.Name(), Written: q.delivered.Load(),
			Queued: len(q.ch) + int(q.inflight.Load()), Dropped: q.dropped.Load(), Failures: q.failures.Load()})
	}
	return out
}
