package audit

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/portcullis/portcullis/internal/atomicfile"
)

// fileSink writes the chain's lines, in order, to a file (or to stdout) and makes them
// durable. Lines are queued by the Trail under its lock and written by one flusher at a
// time: whoever needs its line on disk first writes and fsyncs everything queued before
// it (group commit), and a background loop writes the rest every interval. A failed write
// is cut back to the last complete line and its lines stay queued; the loop retries them,
// and while it fails Ready says why.
type fileSink struct {
	path     string    // "" for stdout
	out      io.Writer // stdout, when path is ""
	keep     int       // rotated files kept: path.1 ... path.keep
	headFile string    // where the head is saved at rotation, reopen and close
	log      *slog.Logger
	interval time.Duration
	// onRecover is called (in its own goroutine) when writes succeed again after a failure.
	onRecover func()

	mu       sync.Mutex
	cond     *sync.Cond
	pend     []byte // lines accepted, not yet written, in chain order
	marks    []mark // where each line (or operation) in pend ends
	spare    []byte // pend's other buffer, swapped in at each write
	spareM   []mark
	durable  uint64 // seq of the last line written and synced
	flushing bool
	err      error // why the last attempt failed; nil when writing works
	f        *os.File
	size     int64 // bytes of complete lines in f
	last     Head  // the last line written

	qbytes   atomic.Int64 // len(pend), read without the lock
	written  atomic.Uint64
	failures atomic.Uint64
	kick     chan struct{}
	stop     chan struct{}
	done     chan struct{}
}

// mark is where a queued line ends in pend (and the head it leaves the chain at), or an
// operation on the file at that point, between lines.
type mark struct {
	end  int
	head Head
	op   fileOp
}

type fileOp int

const (
	opLine   fileOp = iota
	opRotate        // rename path to path.1 (shifting the older ones) and start a new file
	opReopen        // close and open path again (after an external logrotate)
)

// openFileSink opens path for appending (creating it 0600), and returns the sink with the
// head its last complete line leaves (ok false when it has none). A last line cut short
// by a crash is removed.
func openFileSink(path string, keep int, headFile string, interval time.Duration, log *slog.Logger) (*fileSink, Head, bool, error) {
	s := &fileSink{path: path, keep: keep, headFile: headFile, log: log, interval: interval,
		kick: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{})}
	s.cond = sync.NewCond(&s.mu)
	if path == "-" || path == "" {
		s.path, s.out = "", os.Stdout
		return s, Head{}, false, nil
	}
	f, size, head, ok, err := openLog(path, log)
	if err != nil {
		return nil, Head{}, false, err
	}
	s.f, s.size, s.last = f, size, head
	return s, head, ok, nil
}

// openLog opens path for appending and reads its last line.
func openLog(path string, log *slog.Logger) (*os.File, int64, Head, bool, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return nil, 0, Head{}, false, fmt.Errorf("audit log: %w", err)
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return nil, 0, Head{}, false, fmt.Errorf("audit log: %w", err)
	}
	fail := func(err error) (*os.File, int64, Head, bool, error) {
		f.Close()
		return nil, 0, Head{}, false, err
	}
	st, err := f.Stat()
	if err != nil {
		return fail(fmt.Errorf("audit log: %w", err))
	}
	size := st.Size()
	if size == 0 {
		syncDir(filepath.Dir(path))
		return f, 0, Head{}, false, nil
	}
	const tailMax = 1 << 20 // a line is far shorter: headers are capped at 64 KiB
	off := max(size-tailMax, 0)
	tail := make([]byte, size-off)
	if _, err := f.ReadAt(tail, off); err != nil {
		return fail(fmt.Errorf("audit log %s: %w", path, err))
	}
	line, partial := lastLine(tail)
	if partial > 0 {
		log.Warn("audit log: removing a last line cut short (a write interrupted by a crash)",
			"file", path, "bytes", partial)
		size -= int64(partial)
		if err := f.Truncate(size); err != nil {
			return fail(fmt.Errorf("audit log %s: removing a partial last line: %w", path, err))
		}
	}
	if line == nil {
		if size == 0 {
			return f, 0, Head{}, false, nil
		}
		return fail(fmt.Errorf("audit log %s: no complete line in its last %d bytes; is it an audit log?", path, len(tail)))
	}
	head, err := headOf(line)
	if err != nil {
		return fail(fmt.Errorf("audit log %s: its last line is %w; name another file or move this one away", path, err))
	}
	return f, size, head, true, nil
}

// start runs the background writer until close.
func (s *fileSink) start() { go s.loop() }

func (s *fileSink) loop() {
	defer close(s.done)
	t := time.NewTicker(s.interval)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
		case <-s.kick:
		}
		s.mu.Lock()
		if len(s.marks) > 0 && !s.flushing {
			s.flushLocked()
		}
		s.mu.Unlock()
	}
}

// enqueue copies a line (with its newline) into the queue, in chain order. It never
// waits on the disk.
func (s *fileSink) enqueue(line []byte, head Head) {
	s.mu.Lock()
	s.pend = append(s.pend, line...)
	s.marks = append(s.marks, mark{end: len(s.pend), head: head})
	n := len(s.pend)
	s.mu.Unlock()
	s.qbytes.Store(int64(n))
	if n >= 1<<20 {
		s.poke()
	}
}

// enqueueOp queues an operation on the file after the lines queued so far.
func (s *fileSink) enqueueOp(op fileOp) {
	s.mu.Lock()
	s.marks = append(s.marks, mark{end: len(s.pend), op: op})
	s.mu.Unlock()
}

func (s *fileSink) poke() {
	select {
	case s.kick <- struct{}{}:
	default:
	}
}

// queuedBytes is what is waiting to be written.
func (s *fileSink) queuedBytes() int { return int(s.qbytes.Load()) }

// queuedLines is how many lines and operations wait.
func (s *fileSink) queuedLines() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.marks)
}

// sync returns once every line up to seq is written and synced, or the error that keeps
// it from being; while writing fails it returns at once (the loop retries).
func (s *fileSink) sync(seq uint64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for s.durable < seq {
		switch {
		case s.err != nil:
			return s.err
		case s.flushing:
			s.cond.Wait()
		default:
			s.flushLocked()
		}
	}
	return nil
}

// failure is why writing fails now, nil when it works.
func (s *fileSink) failure() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

// flushLocked writes everything queued, with s.mu held on entry and on return (released
// during the writes). What a failed write leaves is queued again in front.
func (s *fileSink) flushLocked() {
	data, marks := s.pend, s.marks
	s.pend, s.marks = s.spare[:0], s.spareM[:0]
	s.spare, s.spareM = nil, nil
	s.qbytes.Store(0)
	s.flushing = true
	s.mu.Unlock()
	doneMarks, doneBytes, err := s.write(data, marks)
	s.mu.Lock()
	s.flushing = false
	if err != nil {
		rest := len(data) - doneBytes
		pend := make([]byte, 0, rest+len(s.pend))
		pend = append(append(pend, data[doneBytes:]...), s.pend...)
		ms := make([]mark, 0, len(marks)-doneMarks+len(s.marks))
		for _, m := range marks[doneMarks:] {
			m.end -= doneBytes
			ms = append(ms, m)
		}
		for _, m := range s.marks {
			m.end += rest
			ms = append(ms, m)
		}
		s.pend, s.marks = pend, ms
		s.qbytes.Store(int64(len(pend)))
		if s.err == nil {
			s.log.Error("audit log cannot be written; retrying", "file", s.name(), "err", err)
		}
		s.failures.Add(1)
		s.err = err
	} else {
		if cap(data) <= 4<<20 { // keep a buffer of ordinary size for the next swap
			s.spare, s.spareM = data[:0], marks[:0]
		}
		if s.err != nil {
			s.log.Warn("audit log writable again", "file", s.name())
			s.err = nil
			if s.onRecover != nil {
				go s.onRecover()
			}
		}
	}
	s.durable = s.last.Seq
	s.cond.Broadcast()
}

func (s *fileSink) name() string {
	if s.path == "" {
		return "stdout"
	}
	return s.path
}

// write writes the queued lines in order, performing the operations between them, and
// returns how many marks and bytes are done. Lines between operations go out in one write
// and one fsync; a failed one is cut back to the last complete line.
func (s *fileSink) write(data []byte, marks []mark) (int, int, error) {
	from, start := 0, 0 // the first mark and byte not written yet
	flush := func(to, end int) error {
		if end > start {
			if err := s.append(data[start:end]); err != nil {
				return err
			}
			s.last = marks[to-1].head
			s.written.Add(uint64(to - from))
		}
		from, start = to, end
		return nil
	}
	for i, m := range marks {
		if m.op == opLine {
			continue
		}
		if err := flush(i, m.end); err != nil {
			return from, start, err
		}
		if err := s.do(m.op); err != nil {
			return i, start, err
		}
		from = i + 1
	}
	if err := flush(len(marks), len(data)); err != nil {
		return from, start, err
	}
	return len(marks), len(data), nil
}

// append writes and syncs b, or leaves the file as it was.
func (s *fileSink) append(b []byte) error {
	if s.out != nil {
		_, err := s.out.Write(b)
		return err
	}
	_, err := s.f.Write(b)
	if err == nil {
		err = datasync(s.f)
	}
	if err != nil {
		// Cut back to the last complete line, unless the file is shorter than that (cut by
		// someone else, a copytruncate): truncating would then extend it with zeros.
		if st, serr := s.f.Stat(); serr == nil && st.Size() >= s.size {
			if terr := s.f.Truncate(s.size); terr != nil {
				s.log.Error("audit log: cannot cut a failed write back; the file may hold a partial line",
					"file", s.path, "err", terr)
			}
		}
		return err
	}
	s.size += int64(len(b))
	return nil
}

// do performs a file operation.
func (s *fileSink) do(op fileOp) error {
	if s.out != nil {
		return nil
	}
	if err := s.f.Sync(); err != nil {
		return err
	}
	if op == opRotate && s.isOpen() { // not when a retry finds it rotated already
		for i := s.keep - 1; i >= 1; i-- {
			err := os.Rename(rotatedName(s.path, i), rotatedName(s.path, i+1))
			if err != nil && !errors.Is(err, os.ErrNotExist) {
				return fmt.Errorf("rotating: %w", err)
			}
		}
		if err := os.Rename(s.path, rotatedName(s.path, 1)); err != nil {
			return fmt.Errorf("rotating: %w", err)
		}
	}
	s.saveHead()
	f, size, head, ok, err := openLog(s.path, s.log)
	if err != nil {
		return err
	}
	s.f.Close()
	s.f, s.size = f, size
	if ok && head.Seq > s.last.Seq {
		s.log.Warn("audit log: the reopened file holds newer lines than were written; continuing after them",
			"file", s.path, "head", head.String())
	}
	return nil
}

// isOpen reports whether path still names the file being written.
func (s *fileSink) isOpen() bool {
	a, err1 := os.Stat(s.path)
	b, err2 := s.f.Stat()
	return err1 == nil && err2 == nil && os.SameFile(a, b)
}

// saveHead records the head beside the key, so a new, empty file continues the chain.
func (s *fileSink) saveHead() {
	if s.headFile == "" {
		return
	}
	if err := saveHead(s.headFile, s.last); err != nil {
		s.log.Error("audit: saving the chain's head", "file", s.headFile, "err", err)
	}
}

type headJSON struct {
	Seq  uint64 `json:"seq"`
	Hash string `json:"hash"`
}

func saveHead(file string, h Head) error {
	b, _ := json.Marshal(headJSON{Seq: h.Seq, Hash: hex.EncodeToString(h.Hash[:])})
	return atomicfile.WriteFile(file, append(b, '\n'), 0o600)
}

func loadHead(file string) (Head, bool, error) {
	b, err := os.ReadFile(file)
	if errors.Is(err, os.ErrNotExist) {
		return Head{}, false, nil
	}
	if err != nil {
		return Head{}, false, err
	}
	var j headJSON
	var h Head
	if err := json.Unmarshal(b, &j); err != nil {
		return h, false, fmt.Errorf("%s: %w", file, err)
	}
	if n, err := hex.Decode(h.Hash[:], []byte(j.Hash)); err != nil || n != len(h.Hash) {
		return h, false, fmt.Errorf("%s: bad hash", file)
	}
	h.Seq = j.Seq
	return h, true, nil
}

// close writes what is queued (one attempt), saves the head and closes the file. Lines
// that cannot be written are logged in full, so they are not lost silently.
func (s *fileSink) close() error {
	close(s.stop)
	<-s.done
	s.mu.Lock()
	for s.flushing {
		s.cond.Wait()
	}
	if len(s.marks) > 0 {
		s.flushLocked()
	}
	err, rest := s.err, s.pend
	s.mu.Unlock()
	for _, line := range bytes.SplitAfter(rest, []byte("\n")) {
		if len(line) > 0 {
			s.log.Error("audit record could not be written to the audit log", "file", s.name(), "record", string(line))
		}
	}
	if s.f != nil {
		s.saveHead()
		if cerr := s.f.Close(); err == nil {
			err = cerr
		}
	} else {
		s.saveHead()
	}
	return err
}

// syncDir makes a directory's entries (a new or renamed file) durable.
func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		d.Close()
	}
}

// rotatedName is the name of the n-th rotated file of the log at path: path.1 is the
// newest.
func rotatedName(path string, n int) string { return path + "." + strconv.Itoa(n) }

// Files is the log at path and the rotated files of it that exist, oldest first (path.keep
// ... path.1, then path): what Verify and Query read for the whole kept trail.
func Files(path string, keep int) []string {
	var files []string
	for i := keep; i >= 1; i-- {
		if _, err := os.Stat(rotatedName(path, i)); err == nil {
			files = append(files, rotatedName(path, i))
		}
	}
	if _, err := os.Stat(path); err == nil {
		files = append(files, path)
	}
	return files
}
