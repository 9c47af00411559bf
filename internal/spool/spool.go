// Package spool delivers items to a remote receiver without ever holding up the code that
// produces them: a bounded queue filled without blocking (a full queue drops the item,
// counts it and says so in the log, at most every ten seconds), drained in order by one
// goroutine that batches, delivers, and retries a failed batch with the caller's backoff.
// At Close the queue is delivered until the caller's deadline, and what is left is written
// to a spill file that the next Start delivers first. The audit trail's remote sinks and
// the registry:2 notification endpoints use it.
//
// It owns the queue, the order, the retries and the spill file; what an item is, how it
// is delivered and how long to wait between attempts belong to the caller.
package spool

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

// Config describes a Queue. Deliver, Wait and Logger are required.
type Config[T any] struct {
	// What names the receiver in log lines ("audit sink syslog").
	What string
	// Size bounds the queue, in items; MaxBatch is the most items one Deliver gets.
	Size, MaxBatch int
	// Deliver sends a batch, in order. An error is retried, the same batch again (delivery
	// is at least once), after Wait; a *Rejected error drops the batch instead.
	Deliver func(ctx context.Context, batch []T) error
	// Wait is how long to wait after the n-th failure in a row (n from 1).
	Wait func(n int) time.Duration
	// SpillFile, when set, receives at Close what could not be delivered, one line per
	// item (Encode), and is delivered first by the next Start (Decode). Empty: left over
	// items are dropped and counted.
	SpillFile string
	Encode    func(T) []byte
	Decode    func([]byte) (T, bool)
	Logger    *slog.Logger
}

// Rejected is a Deliver error retrying cannot fix (the receiver refused the batch as
// malformed, say): the batch is counted as dropped.
type Rejected struct{ Err error }

func (e *Rejected) Error() string { return "rejected: " + e.Err.Error() }
func (e *Rejected) Unwrap() error { return e.Err }

// Stats counts a queue's items.
type Stats struct {
	// Delivered and Dropped (a full queue, a rejection, a spill that failed) items;
	// Failures are failed attempts (each retried); Queued are waiting now.
	Delivered, Dropped, Failures uint64
	Queued                       int
}

// Queue is one receiver's queue. Put is safe for concurrent use.
type Queue[T any] struct {
	cfg    Config[T]
	ch     chan T
	stop   chan struct{} // closed by Close: deliver what is queued, then stop
	done   chan struct{}
	ctx    context.Context // ends when Close's deadline passes: spill instead of retrying
	cancel context.CancelFunc

	delivered, dropped, failures atomic.Uint64
	inflight                     atomic.Int64
	lastWarn                     atomic.Int64
	failing                      atomic.Bool // the last attempt failed: Close spills at once

	mu       sync.Mutex
	leftover []T // what the loop could not deliver by the deadline
}

// New returns a queue; Start runs it.
func New[T any](cfg Config[T]) *Queue[T] {
	ctx, cancel := context.WithCancel(context.Background())
	return &Queue[T]{cfg: cfg, ch: make(chan T, cfg.Size), stop: make(chan struct{}), done: make(chan struct{}),
		ctx: ctx, cancel: cancel}
}

// Put queues an item; it never blocks. A full queue drops it.
func (q *Queue[T]) Put(v T) {
	select {
	case q.ch <- v:
	default:
		n := q.dropped.Add(1)
		now := time.Now().UnixNano()
		if last := q.lastWarn.Load(); now-last > int64(10*time.Second) && q.lastWarn.CompareAndSwap(last, now) {
			q.cfg.Logger.Error(q.cfg.What+" is not keeping up: its queue is full and items are being dropped",
				"queue", cap(q.ch), "dropped_total", n)
		}
	}
}

// Start delivers the last spill, then the queue, until Close.
func (q *Queue[T]) Start() { go q.run() }

func (q *Queue[T]) run() {
	defer close(q.done)
	if spilled := q.readSpill(); len(spilled) > 0 {
		q.cfg.Logger.Info(q.cfg.What+": sending what was spilled at the last shutdown", "items", len(spilled))
		if !q.deliverAll(spilled) {
			return
		}
		_ = os.Remove(q.cfg.SpillFile)
	}
	for {
		var first T
		select {
		case first = <-q.ch:
		case <-q.stop:
			select {
			case first = <-q.ch:
			default:
				return
			}
		}
		batch := []T{first}
	fill:
		for len(batch) < q.cfg.MaxBatch {
			select {
			case v := <-q.ch:
				batch = append(batch, v)
			default:
				break fill
			}
		}
		if !q.deliverAll(batch) {
			return
		}
	}
}

// deliverAll delivers items in batches; false when Close's deadline came first (what is
// left is then in leftover).
func (q *Queue[T]) deliverAll(items []T) bool {
	for len(items) > 0 {
		n := min(len(items), max(q.cfg.MaxBatch, 1))
		if !q.deliver(items[:n]) {
			q.mu.Lock()
			q.leftover = append(q.leftover, items...)
			q.mu.Unlock()
			return false
		}
		items = items[n:]
	}
	return true
}

func (q *Queue[T]) deliver(batch []T) bool {
	q.inflight.Store(int64(len(batch)))
	defer q.inflight.Store(0)
	for n := 1; ; n++ {
		err := q.cfg.Deliver(q.ctx, batch)
		q.failing.Store(err != nil)
		var rej *Rejected
		switch {
		case err == nil:
			q.delivered.Add(uint64(len(batch)))
			if n > 1 {
				q.cfg.Logger.Warn(q.cfg.What + " delivering again")
			}
			return true
		case errors.As(err, &rej):
			q.dropped.Add(uint64(len(batch)))
			q.cfg.Logger.Error(q.cfg.What+" rejected a batch; it is dropped", "items", len(batch), "err", err)
			return true
		}
		q.failures.Add(1)
		if n == 1 {
			q.cfg.Logger.Error(q.cfg.What+" cannot deliver; retrying with backoff (requests are not held up)", "err", err)
		}
		select {
		case <-q.ctx.Done():
			return false
		case <-time.After(q.cfg.Wait(n)):
		}
	}
}

// Close lets the queue be delivered until ctx ends (at once when the receiver is failing:
// waiting on it would only hold up the shutdown), then spills what is left.
func (q *Queue[T]) Close(ctx context.Context) error {
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
	q.mu.Lock()
	rest := q.leftover
	q.mu.Unlock()
	for {
		select {
		case v := <-q.ch:
			rest = append(rest, v)
			continue
		default:
		}
		break
	}
	if len(rest) == 0 {
		return nil
	}
	if q.cfg.SpillFile == "" {
		q.dropped.Add(uint64(len(rest)))
		return fmt.Errorf("%s: %d items not delivered", q.cfg.What, len(rest))
	}
	if err := q.writeSpill(rest); err != nil {
		q.dropped.Add(uint64(len(rest)))
		return fmt.Errorf("%s: spilling %d items: %w", q.cfg.What, len(rest), err)
	}
	q.cfg.Logger.Warn(q.cfg.What+": what was not delivered by shutdown was spilled; it is sent at the next start",
		"items", len(rest), "file", q.cfg.SpillFile)
	return nil
}

// Stats returns the queue's counters.
func (q *Queue[T]) Stats() Stats {
	return Stats{Delivered: q.delivered.Load(), Dropped: q.dropped.Load(), Failures: q.failures.Load(),
		Queued: len(q.ch) + int(q.inflight.Load())}
}

func (q *Queue[T]) readSpill() []T {
	if q.cfg.SpillFile == "" {
		return nil
	}
	b, err := os.ReadFile(q.cfg.SpillFile)
	if err != nil {
		if !errors.Is(err, os.ErrNotExist) {
			q.cfg.Logger.Error(q.cfg.What+": reading the spill file", "file", q.cfg.SpillFile, "err", err)
		}
		return nil
	}
	var out []T
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		if v, ok := q.cfg.Decode(sc.Bytes()); ok {
			out = append(out, v)
		}
	}
	return out
}

// writeSpill replaces the spill file with items (what the previous spill still held is
// among them: it is delivered first and, undelivered, left over first).
func (q *Queue[T]) writeSpill(items []T) error {
	var b bytes.Buffer
	for _, v := range items {
		b.Write(bytes.TrimSuffix(q.cfg.Encode(v), []byte("\n")))
		b.WriteByte('\n')
	}
	if err := os.MkdirAll(filepath.Dir(q.cfg.SpillFile), 0o700); err != nil {
		return err
	}
	return atomicfile.WriteFile(q.cfg.SpillFile, b.Bytes(), 0o600)
}
