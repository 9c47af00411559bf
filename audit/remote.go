package audit

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/portcullis/portcullis/internal/spool"
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
type Rejected = spool.Rejected

// Backoff between failed deliveries: doubling from the first to the last.
const (
	backoffMin = 100 * time.Millisecond
	backoffMax = 30 * time.Second
)

// backoff is the wait after the n-th failure in a row.
func backoff(n int) time.Duration {
	d := backoffMin
	for i := 1; i < n && d < backoffMax; i++ {
		d *= 2
	}
	return min(d, backoffMax)
}

// queue runs one remote sink on a spool: filled on the request path without blocking,
// delivered in batches by its own goroutine, spilled at Close.
type queue struct {
	sink Remote
	q    *spool.Queue[[]byte]
}

func newQueue(r Remote, size int, spill string, log *slog.Logger) *queue {
	return &queue{sink: r, q: spool.New(spool.Config[[]byte]{
		What:      "audit sink " + r.Name(),
		Size:      size,
		MaxBatch:  r.MaxBatch(),
		Deliver:   r.Deliver,
		Wait:      backoff,
		SpillFile: spill,
		Encode:    func(line []byte) []byte { return line },
		Decode:    func(b []byte) ([]byte, bool) { return append(bytes.Clone(b), '\n'), len(b) > 0 },
		Logger:    log.With("sink", r.Name()),
	})}
}

func (q *queue) put(line []byte) { q.q.Put(line) }
func (q *queue) start()          { q.q.Start() }

// close delivers what is queued until ctx ends, spills the rest, then closes the sink.
func (q *queue) close(ctx context.Context) error {
	err := q.q.Close(ctx)
	return errors.Join(err, q.sink.Close())
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
		st := q.q.Stats()
		out = append(out, SinkStats{Sink: q.sink.Name(), Written: st.Delivered, Queued: st.Queued,
			Dropped: st.Dropped, Failures: st.Failures})
	}
	return out
}
