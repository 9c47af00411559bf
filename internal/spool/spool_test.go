package spool

import (
	"context"
	"errors"
	"log/slog"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"
)

// receiver records batches; while down it fails them, and a batch holding "bad" is
// rejected.
type receiver struct {
	mu    sync.Mutex
	down  bool
	got   []int
	calls int
}

func (r *receiver) deliver(_ context.Context, batch []int) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls++
	if r.down {
		return errors.New("down")
	}
	if slices.Contains(batch, -1) {
		return &Rejected{Err: errors.New("bad item")}
	}
	r.got = append(r.got, batch...)
	return nil
}

func (r *receiver) set(down bool) {
	r.mu.Lock()
	r.down = down
	r.mu.Unlock()
}

func (r *receiver) attempts() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.calls
}

func (r *receiver) received() []int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.got)
}

func newTestQueue(r *receiver, spill string, size int) *Queue[int] {
	return New(Config[int]{
		What: "test", Size: size, MaxBatch: 4, Deliver: r.deliver,
		Wait:      func(int) time.Duration { return time.Millisecond },
		SpillFile: spill,
		Encode:    func(v int) []byte { return []byte(strconv.Itoa(v)) },
		Decode:    func(b []byte) (int, bool) { v, err := strconv.Atoi(string(b)); return v, err == nil },
		Logger:    slog.New(slog.DiscardHandler),
	})
}

// TestOrderDropsAndSpill: items arrive in order across retries; a full queue and a
// rejected batch are counted as dropped; what a dead receiver never took is spilled at
// Close and delivered first by the next queue.
func TestOrderDropsAndSpill(t *testing.T) {
	r := &receiver{}
	spill := filepath.Join(t.TempDir(), "spill", "test.jsonl")
	q := newTestQueue(r, spill, 8)
	r.set(true)
	q.Start()
	for i := range 20 { // the loop holds at most a batch of 4; the queue 8 more
		q.Put(i)
	}
	r.set(false)
	if err := q.Close(t.Context()); err != nil {
		t.Fatal(err)
	}
	st := q.Stats()
	got := r.received()
	if uint64(len(got))+st.Dropped != 20 || st.Dropped == 0 {
		t.Fatalf("received %d, dropped %d of 20", len(got), st.Dropped)
	}
	if !slices.IsSorted(got) {
		t.Errorf("out of order: %v", got)
	}

	// A dead receiver at Close: everything is spilled, then sent by the next queue first.
	r2 := &receiver{down: true}
	q2 := newTestQueue(r2, spill, 100)
	q2.Start()
	for i := 100; i < 110; i++ {
		q2.Put(i)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	for r2.attempts() == 0 {
		time.Sleep(time.Millisecond) // until it has failed once
	}
	q2.Close(ctx)
	r2.set(false)
	q3 := newTestQueue(r2, spill, 100)
	q3.Start()
	q3.Put(-1) // rejected: dropped, not retried
	for q3.Stats().Dropped == 0 {
		time.Sleep(time.Millisecond) // delivered on the queue's goroutine
	}
	q3.Put(200)
	q3.Close(t.Context())
	got = r2.received()
	want := []int{100, 101, 102, 103, 104, 105, 106, 107, 108, 109}
	if !slices.Equal(got[:10], want) {
		t.Errorf("the spill came back as %v, want %v first", got, want)
	}
	if st := q3.Stats(); st.Dropped != 1 || st.Delivered != 11 || got[10] != 200 {
		t.Errorf("stats after a rejection %+v; received %v", st, got)
	}
}
