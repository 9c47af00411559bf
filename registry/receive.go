package registry

import (
	"io"
	"sync"
	"time"
)

// Receiving a request body without holding big buffers while the client is silent.
//
// copyBuffered reads straight into two 256 KiB buffers, so an upload whose client stops
// sending holds both (one full, one part-filled under a blocked Read) for as long as the
// connection lives: measured with pprof (issue 12), a thousand uploads that sent 600 KiB
// and stopped held 509 MB in them, 93% of the gateway's heap. receive keeps the same
// two-core pipeline and the same whole-buffer, block-aligned writes, but a Read that
// blocks only ever holds one small buffer:
//
//   - a reader goroutine reads the body into receiveChunk-sized buffers (a TLS record is
//     at most 16 KiB, so a read rarely returns more) and hands each to the writer, at most
//     receiveAhead ahead of it;
//   - the writer gathers chunks into a pooled, aligned 256 KiB buffer and writes it when
//     full. When no chunk has come for receiveQuiet while it holds a part-filled buffer, it
//     writes the block-aligned part (O_DIRECT stays on), keeps the tail of less than a
//     block, and puts the big buffer back in the pool until bytes flow again.
//
// So a stalled body holds one receiveChunk buffer and at most one block of tail; the body
// idle timeout in front (package server) bounds for how long.
const (
	receiveChunk = 32 << 10
	receiveAhead = 8 // chunks in flight: the 256 KiB of look-ahead copyBuffered had
	receiveQuiet = 50 * time.Millisecond
)

var chunkPool = sync.Pool{New: func() any { b := make([]byte, receiveChunk); return &b }}

type received struct {
	b   *[]byte
	n   int
	err error
}

// receive copies the body src to dst in whole 256 KiB writes (the last one, and one after
// each quiet spell, excepted), as copyBuffered does, without holding a 256 KiB buffer while
// src is silent. It returns only once the reader has stopped, so src is never read after it
// returns. io.EOF ends the copy without error.
func receive(dst io.Writer, src io.Reader) (int64, error) {
	return receiveWith(dst, src, receiveQuiet)
}

func receiveWith(dst io.Writer, src io.Reader, quiet time.Duration) (int64, error) {
	chunks := make(chan received, receiveAhead)
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		empty := 0
		for {
			b := chunkPool.Get().(*[]byte)
			n, err := src.Read(*b)
			if n == 0 && err == nil {
				if empty++; empty < 100 { // as io.ReadFull tolerates
					chunkPool.Put(b)
					continue
				}
				err = io.ErrNoProgress
			}
			empty = 0
			select {
			case chunks <- received{b, n, err}:
			case <-stop:
				chunkPool.Put(b)
				return
			}
			if err != nil {
				return
			}
		}
	}()

	g := gatherer{dst: dst}
	var timer *time.Timer
	var werr error
	for {
		var c received
		select {
		case c = <-chunks:
		default:
			if g.fill == 0 {
				c = <-chunks
				break
			}
			// Nothing ready while a part-filled buffer is held: wait a quiet spell, then
			// give the buffer back and wait holding nothing big.
			if timer == nil {
				timer = time.NewTimer(quiet)
			} else {
				timer.Reset(quiet)
			}
			select {
			case c = <-chunks:
				timer.Stop()
			case <-timer.C:
				werr = g.release()
				if werr == nil {
					c = <-chunks
				}
			}
		}
		if werr == nil && c.n > 0 {
			werr = g.add((*c.b)[:c.n])
		}
		if c.b != nil {
			chunkPool.Put(c.b)
		}
		if werr == nil && c.err == nil {
			continue
		}
		if werr == nil {
			werr = g.flush()
		}
		close(stop) // the reader stops after its current read
		<-done
		for len(chunks) > 0 {
			if c := <-chunks; c.b != nil {
				chunkPool.Put(c.b)
			}
		}
		g.drop()
		switch {
		case werr != nil:
			return g.written, werr
		case c.err == io.EOF:
			return g.written, nil
		default:
			return g.written, c.err
		}
	}
}

// gatherer collects bytes into a pooled aligned buffer and writes it to dst whole.
type gatherer struct {
	dst     io.Writer
	buf     *[]byte // nil while released
	fill    int
	tail    [directAlign]byte // bytes kept across a release (less than a block)
	tailN   int
	written int64
}

func (g *gatherer) add(p []byte) error {
	for len(p) > 0 {
		if g.buf == nil {
			g.buf = bufPool.Get().(*[]byte)
			g.fill = copy(*g.buf, g.tail[:g.tailN])
			g.tailN = 0
		}
		m := copy((*g.buf)[g.fill:], p)
		g.fill += m
		p = p[m:]
		if g.fill == len(*g.buf) {
			if err := g.write(len(*g.buf)); err != nil {
				return err
			}
		}
	}
	return nil
}

// release writes the block-aligned part of what is held, keeps the rest as the tail, and
// returns the buffer to the pool.
func (g *gatherer) release() error {
	if g.buf == nil {
		return nil
	}
	whole := g.fill &^ (directAlign - 1)
	if whole > 0 {
		if err := g.write(whole); err != nil {
			return err
		}
	}
	g.tailN = copy(g.tail[:], (*g.buf)[:g.fill])
	g.fill = 0
	bufPool.Put(g.buf)
	g.buf = nil
	return nil
}

// flush writes everything held, tail included.
func (g *gatherer) flush() error {
	if g.buf == nil {
		if g.tailN == 0 {
			return nil
		}
		want := g.tailN
		n, err := g.dst.Write(g.tail[:want])
		g.written += int64(n)
		g.tailN = 0
		return shortWrite(n, want, err)
	}
	if g.fill == 0 {
		return nil
	}
	return g.write(g.fill)
}

// write writes the first n bytes held and moves what follows them to the front.
func (g *gatherer) write(n int) error {
	b := *g.buf
	w, err := g.dst.Write(b[:n])
	g.written += int64(w)
	if err := shortWrite(w, n, err); err != nil {
		return err
	}
	g.fill = copy(b, b[n:g.fill])
	return nil
}

func (g *gatherer) drop() {
	if g.buf != nil {
		bufPool.Put(g.buf)
		g.buf = nil
	}
	g.fill, g.tailN = 0, 0
}

func shortWrite(w, n int, err error) error {
	if err == nil && w != n {
		return io.ErrShortWrite
	}
	return err
}
