package notify

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/portcullis/portcullis/internal/atomicfile"
)

// Endpoint is one of registry:2's notification endpoints.
type Endpoint struct {
	// Name identifies it in logs, metrics and its spill file.
	Name string
	// URL receives the POSTs.
	URL string
	// Headers are added to every request.
	Headers http.Header
	// Timeout bounds one request. Default 1s, as registry:2's.
	Timeout time.Duration
	// Threshold failures in a row make the endpoint wait Backoff before trying again.
	// Defaults 10 and 1s, as registry:2's.
	Threshold int
	Backoff   time.Duration
	// IgnoredMediaTypes (registry:2's older key and ignore.mediatypes) and IgnoredActions
	// are events not sent.
	IgnoredMediaTypes []string
	IgnoredActions    []string
	// Transport carries the requests; default http.DefaultTransport's settings.
	Transport http.RoundTripper
}

// maxBatch is the most events one envelope carries.
const maxBatch = 32

// endpoint delivers events to one Endpoint from a bounded queue, in order.
type endpoint struct {
	cfg    Endpoint
	client *http.Client
	log    *slog.Logger
	spill  string
	ch     chan Event
	stop   chan struct{}
	done   chan struct{}
	ctx    context.Context
	cancel context.CancelFunc

	sent, dropped, failures atomic.Uint64
	inflight                atomic.Int64
	lastWarn                atomic.Int64
	failing                 atomic.Bool // the last attempt failed: close spills at once

	mu       sync.Mutex
	leftover []Event
}

func newEndpoint(e Endpoint, queue int, spillDir string, log *slog.Logger) *endpoint {
	if e.Timeout <= 0 {
		e.Timeout = time.Second
	}
	if e.Threshold <= 0 {
		e.Threshold = 10
	}
	if e.Backoff <= 0 {
		e.Backoff = time.Second
	}
	ctx, cancel := context.WithCancel(context.Background())
	ep := &endpoint{cfg: e, client: &http.Client{Timeout: e.Timeout, Transport: e.Transport},
		log: log.With("endpoint", e.Name), ch: make(chan Event, queue),
		stop: make(chan struct{}), done: make(chan struct{}), ctx: ctx, cancel: cancel}
	if spillDir != "" {
		ep.spill = filepath.Join(spillDir, "notify-"+e.Name+".jsonl")
	}
	return ep
}

// wants reports whether the endpoint takes the event (ignore rules).
func (ep *endpoint) wants(ev *Event) bool {
	return !slices.Contains(ep.cfg.IgnoredActions, ev.Action) &&
		(ev.Target.MediaType == "" || !slices.Contains(ep.cfg.IgnoredMediaTypes, ev.Target.MediaType))
}

// put queues an event without blocking; a full queue drops it.
func (ep *endpoint) put(ev Event) {
	select {
	case ep.ch <- ev:
	default:
		n := ep.dropped.Add(1)
		now := time.Now().UnixNano()
		if last := ep.lastWarn.Load(); now-last > int64(10*time.Second) && ep.lastWarn.CompareAndSwap(last, now) {
			ep.log.Error("notification endpoint is not keeping up: its queue is full and events are being dropped",
				"queue", cap(ep.ch), "dropped_total", n)
		}
	}
}

func (ep *endpoint) run() {
	defer close(ep.done)
	if spilled := ep.readSpill(); len(spilled) > 0 {
		ep.log.Info("notifications: sending the events spilled at the last shutdown", "events", len(spilled))
		if !ep.sendAll(spilled) {
			return
		}
		_ = os.Remove(ep.spill)
	}
	for {
		var first Event
		select {
		case first = <-ep.ch:
		case <-ep.stop:
			select {
			case first = <-ep.ch:
			default:
				return
			}
		}
		batch := []Event{first}
	fill:
		for len(batch) < maxBatch {
			select {
			case ev := <-ep.ch:
				batch = append(batch, ev)
			default:
				break fill
			}
		}
		if !ep.sendAll(batch) {
			return
		}
	}
}

// sendAll sends events in envelopes, retrying each; false when Close's deadline came
// first (what is left is then in leftover).
func (ep *endpoint) sendAll(evs []Event) bool {
	for len(evs) > 0 {
		n := min(len(evs), maxBatch)
		if !ep.send(evs[:n]) {
			ep.mu.Lock()
			ep.leftover = append(ep.leftover, evs...)
			ep.mu.Unlock()
			return false
		}
		evs = evs[n:]
	}
	return true
}

// send posts one envelope until it is accepted: registry:2's retrying sink, which after
// Threshold failures in a row waits Backoff between attempts.
func (ep *endpoint) send(evs []Event) bool {
	ep.inflight.Store(int64(len(evs)))
	defer ep.inflight.Store(0)
	body, _ := json.MarshalIndent(Envelope{Events: evs}, "", "   ")
	failures := 0
	for {
		err := ep.post(body)
		ep.failing.Store(err != nil)
		if err == nil {
			ep.sent.Add(uint64(len(evs)))
			if failures >= ep.cfg.Threshold {
				ep.log.Warn("notification endpoint accepting events again")
			}
			return true
		}
		ep.failures.Add(1)
		failures++
		wait := 50 * time.Millisecond
		if failures >= ep.cfg.Threshold {
			if failures == ep.cfg.Threshold {
				ep.log.Error("notification endpoint failing; backing off (requests are not held up)", "err", err)
			}
			wait = ep.cfg.Backoff
		}
		select {
		case <-ep.ctx.Done():
			return false
		case <-time.After(wait):
		}
	}
}

func (ep *endpoint) post(body []byte) error {
	req, err := http.NewRequestWithContext(ep.ctx, http.MethodPost, ep.cfg.URL, bytes.NewReader(body))
	if err != nil {
		return err
	}
	for k, v := range ep.cfg.Headers {
		req.Header[k] = v
	}
	req.Header.Set("Content-Type", EnvelopeMediaType)
	resp, err := ep.client.Do(req)
	if err != nil {
		return err
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	// registry:2 takes any 2xx or 3xx as accepted.
	if resp.StatusCode < 200 || resp.StatusCode >= 400 {
		return fmt.Errorf("response status %s unaccepted", resp.Status)
	}
	return nil
}

// close lets the queue drain until ctx ends, then spills what is left; at once when the
// endpoint is failing (a dead receiver would only hold up the shutdown).
func (ep *endpoint) close(ctx context.Context) error {
	close(ep.stop)
	if ep.failing.Load() {
		ep.cancel()
	}
	select {
	case <-ep.done:
	case <-ctx.Done():
		ep.cancel()
		<-ep.done
	}
	ep.cancel()
	ep.mu.Lock()
	rest := ep.leftover
	ep.mu.Unlock()
	for {
		select {
		case ev := <-ep.ch:
			rest = append(rest, ev)
			continue
		default:
		}
		break
	}
	ep.client.CloseIdleConnections()
	if len(rest) == 0 {
		return nil
	}
	if ep.spill == "" {
		ep.dropped.Add(uint64(len(rest)))
		return fmt.Errorf("notification endpoint %s: %d events not delivered", ep.cfg.Name, len(rest))
	}
	var b bytes.Buffer
	for _, ev := range rest {
		line, _ := json.Marshal(ev)
		b.Write(append(line, '\n'))
	}
	if err := os.MkdirAll(filepath.Dir(ep.spill), 0o700); err != nil {
		return err
	}
	if err := atomicfile.WriteFile(ep.spill, b.Bytes(), 0o600); err != nil {
		ep.dropped.Add(uint64(len(rest)))
		return fmt.Errorf("notification endpoint %s: spilling %d events: %w", ep.cfg.Name, len(rest), err)
	}
	ep.log.Warn("notifications not delivered by shutdown were spilled; they are sent at the next start",
		"events", len(rest), "file", ep.spill)
	return nil
}

func (ep *endpoint) readSpill() []Event {
	if ep.spill == "" {
		return nil
	}
	b, err := os.ReadFile(ep.spill)
	if err != nil {
		if !errors.Is(err, os.ErrNotExist) {
			ep.log.Error("notifications: reading the spill file", "file", ep.spill, "err", err)
		}
		return nil
	}
	var out []Event
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var ev Event
		if json.Unmarshal(sc.Bytes(), &ev) == nil {
			out = append(out, ev)
		}
	}
	return out
}
