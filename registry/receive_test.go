package registry

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"io"
	"math/rand/v2"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"
)

// writeLog records each Write's size and the bytes, safely across goroutines.
type writeLog struct {
	mu    sync.Mutex
	sizes []int
	buf   bytes.Buffer
	fail  error
	wrote chan struct{}
}

func (w *writeLog) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.fail != nil {
		return 0, w.fail
	}
	w.sizes = append(w.sizes, len(p))
	w.buf.Write(p)
	if w.wrote != nil {
		select {
		case w.wrote <- struct{}{}:
		default:
		}
	}
	return len(p), nil
}

func (w *writeLog) snapshot() ([]int, int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]int(nil), w.sizes...), w.buf.Len()
}

// pieces is a reader returning its data in reads of the given sizes, cycling.
type pieces struct {
	data  []byte
	sizes []int
	i     int
}

func (r *pieces) Read(p []byte) (int, error) {
	if len(r.data) == 0 {
		return 0, io.EOF
	}
	n := min(r.sizes[r.i%len(r.sizes)], len(p), len(r.data))
	r.i++
	copy(p, r.data[:n])
	r.data = r.data[n:]
	return n, nil
}

// TestReceive: whatever sizes the reads come in, the bytes arrive in order, in whole
// 256 KiB writes but for the last.
func TestReceive(t *testing.T) {
	const big = 256 << 10
	data := make([]byte, 3*big+5000)
	for i := range data {
		data[i] = byte(rand.IntN(256))
	}
	tests := []struct {
		name  string
		size  int
		reads []int
		want  []int
	}{
		{"TLS records", len(data), []int{16 << 10}, []int{big, big, big, 5000}},
		{"odd reads", len(data), []int{1, 4095, 7, 33 << 10, 100}, []int{big, big, big, 5000}},
		{"exactly one buffer", big, []int{16 << 10}, []int{big}},
		{"small body", 10, []int{3}, []int{10}},
		{"empty body", 0, []int{1}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var w writeLog
			// A quiet spell longer than the test: only fullness and the end cause writes.
			n, err := receiveWith(&w, &pieces{data: data[:tt.size], sizes: tt.reads}, time.Hour)
			if err != nil || n != int64(tt.size) {
				t.Fatalf("receive = %d, %v; want %d, nil", n, err, tt.size)
			}
			sizes, _ := w.snapshot()
			if !slices.Equal(sizes, tt.want) {
				t.Errorf("writes %v, want %v", sizes, tt.want)
			}
			if !bytes.Equal(w.buf.Bytes(), data[:tt.size]) {
				t.Error("the bytes written differ from the body")
			}
		})
	}
}

// TestReceiveStalled: a body that stops mid-buffer has its block-aligned bytes written and
// its big buffer released after the quiet spell, while the read still waits; the tail
// of less than a block is kept and written before the bytes that come later.
func TestReceiveStalled(t *testing.T) {
	pr, pw := io.Pipe()
	w := &writeLog{wrote: make(chan struct{}, 1)}
	type result struct {
		n   int64
		err error
	}
	res := make(chan result, 1)
	go func() {
		n, err := receiveWith(w, pr, time.Millisecond)
		res <- result{n, err}
	}()
	first := bytes.Repeat([]byte{'a'}, 3*directAlign+100)
	if _, err := pw.Write(first); err != nil {
		t.Fatal(err)
	}
	// The aligned part is written while the reader waits for more.
	for {
		if sizes, _ := w.snapshot(); len(sizes) > 0 {
			if !slices.Equal(sizes, []int{3 * directAlign}) {
				t.Fatalf("writes during the stall %v, want the aligned %d", sizes, 3*directAlign)
			}
			break
		}
		select {
		case <-w.wrote:
		case <-time.After(10 * time.Second): // a hang guard
			t.Fatal("nothing was written during the stall")
		}
	}
	rest := bytes.Repeat([]byte{'b'}, 1000)
	if _, err := pw.Write(rest); err != nil {
		t.Fatal(err)
	}
	pw.Close()
	r := <-res
	if r.err != nil || r.n != int64(len(first)+len(rest)) {
		t.Fatalf("receive = %d, %v", r.n, r.err)
	}
	if want := append(first, rest...); !bytes.Equal(w.buf.Bytes(), want) {
		t.Error("the bytes written differ from the body")
	}
}

// TestReceiveErrors: a failed write ends the copy with its error, a failed read with
// the read's error, and receive returns only after the reader stopped.
func TestReceiveErrors(t *testing.T) {
	diskFull := errors.New("no space left on device")
	w := &writeLog{fail: diskFull}
	src := &pieces{data: make([]byte, 10<<20), sizes: []int{16 << 10}}
	if _, err := receiveWith(w, src, time.Hour); !errors.Is(err, diskFull) {
		t.Fatalf("receive with a failing writer = %v", err)
	}
	if len(src.data) == 0 {
		t.Error("the whole body was read although the first write failed")
	}

	reset := errors.New("connection reset")
	pr, pw := io.Pipe()
	go func() {
		pw.Write([]byte("some bytes"))
		pw.CloseWithError(reset)
	}()
	var ok writeLog
	n, err := receiveWith(&ok, pr, time.Hour)
	if !errors.Is(err, reset) || n != 10 {
		t.Fatalf("receive with a failing reader = %d, %v; want 10, %v", n, err, reset)
	}
}

// BenchmarkReceive compares receive with copyBuffered on a body read one TLS record
// (16 KiB) at a time into a sha256 hash, the CPU an upload costs besides TLS and disk.
func BenchmarkReceive(b *testing.B) {
	const size = 64 << 20
	data := make([]byte, size)
	for name, copyFn := range map[string]func(io.Writer, io.Reader) (int64, error){
		"receive":      receive,
		"copyBuffered": copyBuffered,
	} {
		for _, read := range []int{16 << 10, 64 << 10} {
			b.Run(name+"/read"+strconv.Itoa(read>>10)+"KiB", func(b *testing.B) {
				b.SetBytes(size)
				for b.Loop() {
					h := sha256.New()
					if _, err := copyFn(h, &pieces{data: data, sizes: []int{read}}); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}
