package notify

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/portcullis/portcullis/gateway"
)

// Config configures a Notifier.
type Config struct {
	Endpoints []Endpoint
	// Backend answers the HEAD that gives a pushed blob's size: the gateway's backend
	// (in-process registry or upstream). Nil sends blob events without a size.
	Backend http.Handler
	// Source is the node events say they come from: Addr is this host's name and port
	// (as registry:2 gives it), InstanceID is made up at New when empty.
	Source Source
	// Queue bounds each endpoint's queue, in events. Default 10000.
	Queue int
	// SpillDir holds the events not delivered by Close, sent at the next New
	// (DATA/audit/spill). Empty: they are dropped, and counted.
	SpillDir string
	// Logger receives delivery failures. Required.
	Logger *slog.Logger
}

// Notifier turns requests into registry:2 events and sends them to its endpoints. It is
// a gateway.Observer, safe for concurrent use.
type Notifier struct {
	cfg       Config
	log       *slog.Logger
	endpoints []*endpoint
	in        chan pending
	done      chan struct{}
	dropped   atomic.Uint64
}

var _ gateway.Observer = (*Notifier)(nil)

// New starts the endpoints (each first sending what the last run spilled).
func New(cfg Config) (*Notifier, error) {
	if cfg.Logger == nil {
		return nil, errors.New("notify: Config needs a Logger")
	}
	if cfg.Queue <= 0 {
		cfg.Queue = 10000
	}
	if cfg.Source.InstanceID == "" {
		cfg.Source.InstanceID = newID()
	}
	n := &Notifier{cfg: cfg, log: cfg.Logger, in: make(chan pending, cfg.Queue), done: make(chan struct{})}
	for _, e := range cfg.Endpoints {
		if e.Name == "" || e.URL == "" {
			return nil, errors.New("notify: every endpoint needs a name and a URL")
		}
		n.endpoints = append(n.endpoints, newEndpoint(e, cfg.Queue, cfg.SpillDir, cfg.Logger))
	}
	for _, ep := range n.endpoints {
		ep.q.Start()
	}
	go n.dispatch()
	return n, nil
}

// Observe implements gateway.Observer: it queues the event registry:2 would send for the
// request (a manifest or blob pushed, pulled, mounted or deleted), and returns at once.
func (n *Notifier) Observe(_ context.Context, rec gateway.Record) {
	if len(n.endpoints) == 0 {
		return
	}
	p, ok := eventOf(&rec, n.cfg.Source)
	if !ok {
		return
	}
	select {
	case n.in <- p:
	default:
		if c := n.dropped.Add(1); c == 1 || c%1000 == 0 {
			n.log.Error("notifications: events are being dropped: the dispatcher is not keeping up", "dropped_total", c)
		}
	}
}

// dispatch completes events (a pushed blob's size) and hands them to the endpoints, in
// the order they came.
func (n *Notifier) dispatch() {
	defer close(n.done)
	for p := range n.in {
		if p.lookup {
			if size := n.blobSize(p.ev.Target.Repository, p.ev.Target.Digest); size >= 0 {
				p.ev.Target.Size, p.ev.Target.Length = size, size
			}
		}
		for _, ep := range n.endpoints {
			if ep.wants(&p.ev) {
				ep.q.Put(p.ev)
			}
		}
	}
}

// blobSize asks the backend for a blob's size (HEAD), -1 when it cannot say.
func (n *Notifier) blobSize(repo, digest string) int64 {
	if n.cfg.Backend == nil || digest == "" {
		return -1
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodHead, "/v2/"+repo+"/blobs/"+digest, nil)
	if err != nil {
		return -1
	}
	req.RemoteAddr = "127.0.0.1:0"
	w := &headWriter{h: http.Header{}}
	n.cfg.Backend.ServeHTTP(w, req)
	if w.status != http.StatusOK {
		n.log.Warn("notifications: cannot read a pushed blob's size from the backend", "repository", repo,
			"digest", digest, "status", w.status)
		return -1
	}
	size, err := strconv.ParseInt(w.h.Get("Content-Length"), 10, 64)
	if err != nil {
		return -1
	}
	return size
}

// headWriter keeps a HEAD's status and headers.
type headWriter struct {
	h      http.Header
	status int
}

func (w *headWriter) Header() http.Header { return w.h }
func (w *headWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
}
func (w *headWriter) Write(b []byte) (int, error) {
	w.WriteHeader(http.StatusOK)
	return len(b), nil
}

// Close stops taking events, and gives the endpoints until ctx ends to deliver their
// queues; what is left is spilled (see Config.SpillDir).
func (n *Notifier) Close(ctx context.Context) error {
	close(n.in)
	<-n.done
	var errs []error
	for _, ep := range n.endpoints {
		errs = append(errs, ep.close(ctx))
	}
	return errors.Join(errs...)
}

// Stats counts one endpoint's events.
type Stats struct {
	Endpoint                string
	Sent, Dropped, Failures uint64
	Queued                  int
}

// Stats returns each endpoint's counters.
func (n *Notifier) Stats() []Stats {
	var out []Stats
	for _, ep := range n.endpoints {
		st := ep.q.Stats()
		out = append(out, Stats{Endpoint: ep.cfg.Name, Sent: st.Delivered, Dropped: st.Dropped,
			Failures: st.Failures, Queued: st.Queued})
	}
	return out
}
