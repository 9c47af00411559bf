package audit

import (
	"encoding/json"
	"io"
	"net"
	"net/http"
	"sync"
	"testing"
	"time"
)

// receiver is a webhook endpoint that can be made slow, taken down and brought back on
// the same address.
type receiver struct {
	t       *testing.T
	addr    string
	srv     *http.Server
	release chan struct{} // while open, requests wait on it ("slow")

	mu   sync.Mutex
	seqs map[uint64]int // seq -> times received
	reqs int
}

func newReceiver(t *testing.T) *receiver {
	r := &receiver{t: t, seqs: map[uint64]int{}}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r.addr = ln.Addr().String()
	r.serve(ln)
	t.Cleanup(r.down)
	return r
}

func (r *receiver) serve(ln net.Listener) {
	r.srv = &http.Server{Handler: http.HandlerFunc(r.handle)}
	go r.srv.Serve(ln)
}

func (r *receiver) handle(w http.ResponseWriter, req *http.Request) {
	if ch := r.slowChan(); ch != nil {
		<-ch
	}
	body, _ := io.ReadAll(req.Body)
	var recs []Line
	if req.Header.Get("Content-Type") != "application/json" || json.Unmarshal(body, &recs) != nil {
		http.Error(w, "bad batch", http.StatusBadRequest)
		return
	}
	r.mu.Lock()
	r.reqs++
	for _, l := range recs {
		r.seqs[l.Seq]++
	}
	r.mu.Unlock()
}

func (r *receiver) slowChan() chan struct{} {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.release
}

func (r *receiver) slow() {
	r.mu.Lock()
	r.release = make(chan struct{})
	r.mu.Unlock()
}

func (r *receiver) fast() {
	r.mu.Lock()
	if r.release != nil {
		close(r.release)
		r.release = nil
	}
	r.mu.Unlock()
}

func (r *receiver) down() {
	r.fast()
	if r.srv != nil {
		r.srv.Close()
		r.srv = nil
	}
}

func (r *receiver) up() {
	ln, err := net.Listen("tcp", r.addr)
	if err != nil {
		r.t.Fatalf("listening again on %s: %v", r.addr, err)
	}
	r.serve(ln)
}

func (r *receiver) distinct() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.seqs)
}

// waitFor polls cond, bounded: delivery happens on another goroutine with backoff.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestWebhookSlowDownUp: a receiver that is slow, then down, then up. No Emit waits on
// it (they all return while it holds a request); once it is up, every record either
// arrived or is counted as dropped by the full queue.
func TestWebhookSlowDownUp(t *testing.T) {
	rcv := newReceiver(t)
	wh, err := NewWebhook("http://"+rcv.addr+"/audit", WebhookOptions{Batch: 10})
	if err != nil {
		t.Fatal(err)
	}
	tr, _ := newTrail(t, func(c *Config) { c.Remotes = []Remote{wh}; c.Queue = 40 })
	stats := func() SinkStats {
		for _, s := range tr.Stats() {
			if s.Sink == "webhook" {
				return s
			}
		}
		t.Fatal("no webhook stats")
		return SinkStats{}
	}
	// Slow: the receiver holds every request. Emit returns anyway.
	rcv.slow()
	emitN(t, tr, 30, "team/app")
	// Down, with records still queued and more coming than the queue holds.
	rcv.down()
	emitN(t, tr, 60, "team/app")
	waitFor(t, "a failed delivery while down", func() bool { return stats().Failures > 0 })
	if s := stats(); s.Dropped == 0 {
		t.Errorf("queue of 40 took 90 records while the receiver was down, and dropped none: %+v", s)
	}
	// Up: everything queued arrives.
	rcv.up()
	total := uint64(1 + 90) // the start checkpoint and the records
	waitFor(t, "every record delivered or dropped", func() bool {
		s := stats()
		return s.Queued == 0 && s.Written+s.Dropped >= total
	})
	s := stats()
	got := uint64(rcv.distinct())
	t.Logf("stats %+v; receiver got %d distinct records in %d requests", s, got, rcv.reqs)
	if got+s.Dropped != total {
		t.Errorf("received %d + dropped %d != emitted %d", got, s.Dropped, total)
	}
	// Close: the shutdown checkpoint is delivered too.
	if err := tr.Close(t.Context()); err != nil {
		t.Fatal(err)
	}
	if got := rcv.distinct(); uint64(got)+s.Dropped != total+1 {
		t.Errorf("after close the receiver has %d records, want %d", got, total+1-s.Dropped)
	}
}

// TestSpillAtShutdown: records a dead receiver never took are spilled at Close and sent
// by the next trail, before its own.
func TestSpillAtShutdown(t *testing.T) {
	rcv := newReceiver(t)
	rcv.down()
	mk := func() Remote {
		wh, err := NewWebhook("http://"+rcv.addr+"/audit", WebhookOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return wh
	}
	tr, cfg := newTrail(t, func(c *Config) { c.Remotes = []Remote{mk()} })
	emitN(t, tr, 5, "a")
	ctx, cancel := contextWithTimeout(200 * time.Millisecond)
	defer cancel()
	if err := tr.Close(ctx); err != nil {
		t.Fatal(err)
	}
	rcv.up()
	cfg.Remotes = []Remote{mk()}
	tr2, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	// start + 5 + shutdown spilled, then the second trail's start checkpoint.
	waitFor(t, "the spill and the new start checkpoint", func() bool { return rcv.distinct() == 8 })
	tr2.Close(t.Context())
	rcv.mu.Lock()
	defer rcv.mu.Unlock()
	for seq := uint64(1); seq <= 9; seq++ {
		if rcv.seqs[seq] == 0 {
			t.Errorf("seq %d never arrived", seq)
		}
	}
}
