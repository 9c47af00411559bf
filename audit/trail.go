package audit

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"
)

// SyncMode says when a record must be on disk.
type SyncMode string

const (
	// SyncAlways: the record of a write or a denial (every kind but pull, catalog and
	// login_failed) is written and fsynced before the request is answered; the others are
	// written within Config.SyncInterval. The default.
	SyncAlways SyncMode = "always"
	// SyncInterval: every record is written within Config.SyncInterval; nothing waits. A
	// crash loses at most that much, and a write is acknowledged before its record is
	// durable.
	SyncInterval SyncMode = "interval"
)

// PullMode says which reads are recorded.
type PullMode string

const (
	// PullsManifests: one record per manifest read (GET or HEAD). The default: one record
	// per image pulled, not per layer.
	PullsManifests PullMode = "manifests"
	// PullsAll: every read of a repository: manifests, blobs, tags, referrers.
	PullsAll PullMode = "all"
	// PullsOff: no reads at all (denials are still recorded).
	PullsOff PullMode = "off"
)

// Defaults.
const (
	DefaultSyncInterval    = time.Second
	DefaultCheckpointEvery = 1000
	DefaultQueue           = 10000
	DefaultMaxPending      = 16 << 20
)

// Config configures a Trail. The zero value records nothing durable: set File, a remote
// sink, or both.
type Config struct {
	// File is the audit log: a path, "-" for stdout (no rotation, no fsync), "" for none.
	File string
	// MaxSize rotates the file once it would exceed this many bytes (to File.1, shifting
	// older ones up to File.Keep); 0 never rotates (use logrotate and SIGHUP: Reopen).
	MaxSize int64
	// Keep is how many rotated files are kept. Default 10.
	Keep int
	// Sync is SyncAlways (default) or SyncInterval; SyncInterval is how often queued lines
	// are written (and, while the file fails, retried). Default 1s.
	Sync         SyncMode
	SyncInterval time.Duration
	// FailClosed makes the Trail a WriteGate that refuses writes while the file cannot
	// be written (--audit-fail closed), and aborts the answer to a write whose record
	// could not be written. Off, writes go on and the failure is logged and counted.
	FailClosed bool
	// Pulls says which reads are recorded. Default PullsManifests.
	Pulls PullMode
	// Dir holds what is kept apart from the log: the checkpoint key, the chain's head
	// and the remote sinks' spill files (DATA/audit). Required. Replicas sharing a data
	// directory share the key (whichever creates it first) and keep their own state.
	Dir string
	// Name names this trail's state in Dir (DIR/NAME.head.json, DIR/spill/NAME.SINK.jsonl),
	// so that replicas sharing Dir, each with its own file, do not mix their chains.
	// Default: the file's base name (audit.log), or "trail".
	Name string
	// CheckpointEvery is how many records go between signed checkpoints. Default 1000.
	CheckpointEvery int
	// MaxPending bounds the bytes queued for the file while it cannot be written; past it
	// events are dropped (counted, logged, and the count noted in the next checkpoint).
	// Default 16 MiB.
	MaxPending int
	// Remotes are the sinks that get every line after the file: syslog, webhook. Each
	// has its own bounded queue (Queue lines, default 10000).
	Remotes []Remote
	Queue   int
	// Logger receives the trail's own failures. Required.
	Logger *slog.Logger
	// Now is the clock of checkpoints. Default time.Now.
	Now func() time.Time
}

// Trail is the audit trail: it orders events into the hash chain and hands each line to
// the file and the remote sinks. It is a gateway.Observer, and with FailClosed a
// gateway.WriteGate. It is safe for concurrent use.
type Trail struct {
	cfg    Config
	log    *slog.Logger
	signer *Signer
	file   *fileSink // nil without a file
	remote []*queue

	mu        sync.Mutex
	head      Head
	since     int    // records since the last checkpoint
	dropped   uint64 // events not chained since the last checkpoint
	fileBytes int64  // bytes in the current file, for rotation
	closed    bool
	line      []byte // the line being built (under mu)

	droppedTotal atomic.Uint64
}

// New opens the trail: it loads (or creates) the checkpoint key in cfg.Dir, opens the
// file and continues the chain from its last line (or from the head saved at the last
// rotation or close), starts the remote sinks (sending what the last run spilled first),
// and writes a "start" checkpoint.
func New(cfg Config) (*Trail, error) {
	if cfg.Dir == "" || cfg.Logger == nil {
		return nil, errors.New("audit: Config needs Dir and Logger")
	}
	if cfg.Keep <= 0 {
		cfg.Keep = 10
	}
	if cfg.Sync == "" {
		cfg.Sync = SyncAlways
	}
	if cfg.SyncInterval <= 0 {
		cfg.SyncInterval = DefaultSyncInterval
	}
	if cfg.Pulls == "" {
		cfg.Pulls = PullsManifests
	}
	if cfg.CheckpointEvery <= 0 {
		cfg.CheckpointEvery = DefaultCheckpointEvery
	}
	if cfg.MaxPending <= 0 {
		cfg.MaxPending = DefaultMaxPending
	}
	if cfg.Queue <= 0 {
		cfg.Queue = DefaultQueue
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Name == "" {
		cfg.Name = StateName(cfg.File)
	}
	switch cfg.Sync {
	case SyncAlways, SyncInterval:
	default:
		return nil, fmt.Errorf("audit: sync %q: use always or interval", cfg.Sync)
	}
	switch cfg.Pulls {
	case PullsAll, PullsManifests, PullsOff:
	default:
		return nil, fmt.Errorf("audit: pulls %q: use all, manifests or off", cfg.Pulls)
	}
	signer, err := LoadSigner(cfg.Dir)
	if err != nil {
		return nil, err
	}
	t := &Trail{cfg: cfg, log: cfg.Logger, signer: signer}
	headFile := t.headFile()
	head, ok, err := loadHead(headFile)
	if err != nil {
		cfg.Logger.Warn("audit: the saved chain head is unreadable; the chain continues from the file", "err", err)
	}
	if cfg.File != "" {
		f, fhead, fok, err := openFileSink(cfg.File, cfg.Keep, headFile, cfg.SyncInterval, cfg.Logger)
		if err != nil {
			return nil, err
		}
		if fok {
			head, ok = fhead, true
		}
		f.last = head
		f.durable = head.Seq
		f.onRecover = func() { t.checkpoint("recovered") }
		t.file = f
		t.fileBytes = f.size
	}
	t.head = head
	if !ok && head.Seq == 0 {
		cfg.Logger.Info("audit: starting a new chain", "file", cfg.File)
	}
	for _, r := range cfg.Remotes {
		t.remote = append(t.remote, newQueue(r, cfg.Queue, filepath.Join(cfg.Dir, "spill", cfg.Name+"."+r.Name()+".jsonl"), cfg.Logger))
	}
	if t.file != nil {
		t.file.start()
	}
	for _, q := range t.remote {
		q.start()
	}
	if err := t.checkpoint("start"); err != nil && cfg.FailClosed {
		t.log.Error("audit: the start checkpoint could not be written; writes are refused until it can", "err", err)
	}
	return t, nil
}

// StateName is the name a trail writing to file keeps its state under (Config.Name).
func StateName(file string) string {
	if file == "" || file == "-" {
		return "trail"
	}
	return filepath.Base(file)
}

func (t *Trail) headFile() string { return filepath.Join(t.cfg.Dir, t.cfg.Name+".head.json") }

// Emit records an event that is not a request: a token issued, a configuration reloaded,
// a garbage collection. It returns once the record is as durable as its kind must be
// (see SyncMode); an error means it could not be written (with FailClosed the caller
// should not acknowledge what it records).
func (t *Trail) Emit(_ context.Context, ev Event) error {
	if ev.Time.IsZero() {
		ev.Time = t.cfg.Now()
	}
	return t.emit(&ev)
}

// errDropped is returned for an event that could not join the chain.
var errDropped = errors.New("audit: record dropped: the audit log cannot be written and the queue is full")

// bodies are buffers for encoding events, reused: recording a pull allocates nothing.
var bodies = sync.Pool{New: func() any { b := make([]byte, 0, 1024); return &b }}

func (t *Trail) emit(ev *Event) error {
	ev.Time = ev.Time.UTC()
	bp := bodies.Get().(*[]byte)
	defer bodies.Put(bp)
	body, err := appendEvent((*bp)[:0], ev)
	*bp = body[:0]
	if err != nil {
		return fmt.Errorf("audit: encoding: %w", err)
	}
	t.mu.Lock()
	if t.closed {
		t.mu.Unlock()
		return errors.New("audit: trail closed")
	}
	if t.file != nil && t.file.queuedBytes() > t.cfg.MaxPending {
		t.dropped++
		t.mu.Unlock()
		if n := t.droppedTotal.Add(1); n == 1 || n%1000 == 0 {
			t.log.Error("audit records dropped: the audit log cannot be written and the queue is full",
				"dropped_total", n)
		}
		return errDropped
	}
	if t.file != nil && t.cfg.MaxSize > 0 && t.fileBytes > 0 && t.fileBytes+int64(len(body))+112 > t.cfg.MaxSize {
		t.checkpointLocked("rotation")
		t.file.enqueueOp(opRotate)
		t.fileBytes = 0
	}
	var head Head
	t.line, head = t.head.appendLine(t.line[:0], body)
	t.appendLocked(t.line, head)
	t.since++
	if t.since >= t.cfg.CheckpointEvery {
		t.checkpointLocked("interval")
	}
	t.mu.Unlock()
	if t.file != nil && t.cfg.Sync == SyncAlways && ev.Kind.durable() {
		return t.file.sync(head.Seq)
	}
	return nil
}

// appendLocked hands a line to every sink, in chain order; each keeps its own copy.
func (t *Trail) appendLocked(line []byte, head Head) {
	t.head = head
	if t.file != nil {
		t.file.enqueue(line, head)
		t.fileBytes += int64(len(line))
	}
	for _, q := range t.remote {
		q.put(bytes.Clone(line))
	}
}

// checkpointLocked appends a signed checkpoint of the chain's head.
func (t *Trail) checkpointLocked(reason string) Head {
	line, head := t.signer.checkpointLine(t.head, t.cfg.Now(), reason, t.cfg.CheckpointEvery, t.dropped)
	t.appendLocked(line, head)
	t.since, t.dropped = 0, 0
	return head
}

// checkpoint writes a checkpoint now and waits for it to be durable.
func (t *Trail) checkpoint(reason string) error {
	t.mu.Lock()
	if t.closed {
		t.mu.Unlock()
		return nil
	}
	head := t.checkpointLocked(reason)
	t.mu.Unlock()
	if t.file != nil {
		return t.file.sync(head.Seq)
	}
	return nil
}

// Ready implements gateway.WriteGate: with FailClosed, an error while the audit log
// cannot be written. The message is what a client refused a push reads.
func (t *Trail) Ready() error {
	if !t.cfg.FailClosed {
		return nil
	}
	return t.Healthy()
}

// Healthy reports whether the audit log can be written now (for /readyz), whatever the
// failure mode.
func (t *Trail) Healthy() error {
	if t.file == nil {
		return nil
	}
	if err := t.file.failure(); err != nil {
		return fmt.Errorf("the audit log cannot be written (%v): pushes and deletes are refused until it can; pulls continue", err)
	}
	return nil
}

// Name is "audit log", for the reload log lines (Trail is a server.Reloader).
func (t *Trail) Name() string { return "audit log" }

// Run does nothing until ctx ends: the trail's writers run from New to Close.
func (t *Trail) Run(ctx context.Context) { <-ctx.Done() }

// Reload is SIGHUP's: the file is closed with a checkpoint and opened again, for an
// external logrotate that has renamed it.
func (t *Trail) Reload(_ context.Context) error {
	if t.file == nil || t.file.path == "" {
		return nil
	}
	t.mu.Lock()
	if t.closed {
		t.mu.Unlock()
		return nil
	}
	head := t.checkpointLocked("reopen")
	t.file.enqueueOp(opReopen)
	t.fileBytes = 0 // the new file's size is known once it is open; rotation counts from 0
	t.mu.Unlock()
	return t.file.sync(head.Seq)
}

// Close writes a "shutdown" checkpoint, writes out the file, and gives every remote sink
// until ctx ends to deliver its queue; what is left is written to a spill file that the
// next New sends first.
func (t *Trail) Close(ctx context.Context) error {
	t.mu.Lock()
	if t.closed {
		t.mu.Unlock()
		return nil
	}
	t.checkpointLocked("shutdown")
	t.closed = true
	t.mu.Unlock()
	var errs []error
	if t.file != nil {
		errs = append(errs, t.file.close())
	}
	for _, q := range t.remote {
		errs = append(errs, q.close(ctx))
	}
	if t.file == nil {
		// No file to read the head from next time: keep it beside the key.
		if err := saveHead(t.headFile(), t.head); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
