package notify

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"path/filepath"
	"slices"
	"time"

	"github.com/portcullis/portcullis/internal/spool"
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

// endpoint delivers events to one Endpoint, in order, from a spool.
type endpoint struct {
	cfg    Endpoint
	client *http.Client
	q      *spool.Queue[Event]
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
	ep := &endpoint{cfg: e, client: &http.Client{Timeout: e.Timeout, Transport: e.Transport}}
	spill := ""
	if spillDir != "" {
		spill = filepath.Join(spillDir, "notify-"+e.Name+".jsonl")
	}
	ep.q = spool.New(spool.Config[Event]{
		What:      "notification endpoint " + e.Name,
		Size:      queue,
		MaxBatch:  maxBatch,
		Deliver:   ep.post,
		Wait:      ep.wait,
		SpillFile: spill,
		Encode:    func(ev Event) []byte { b, _ := json.Marshal(ev); return b },
		Decode:    func(b []byte) (Event, bool) { var ev Event; return ev, json.Unmarshal(b, &ev) == nil },
		Logger:    log.With("endpoint", e.Name),
	})
	return ep
}

// wait is registry:2's retrying sink: after Threshold failures in a row, Backoff between
// attempts (a short pause before that).
func (ep *endpoint) wait(n int) time.Duration {
	if n >= ep.cfg.Threshold {
		return ep.cfg.Backoff
	}
	return 50 * time.Millisecond
}

// wants reports whether the endpoint takes the event (ignore rules).
func (ep *endpoint) wants(ev *Event) bool {
	return !slices.Contains(ep.cfg.IgnoredActions, ev.Action) &&
		(ev.Target.MediaType == "" || !slices.Contains(ep.cfg.IgnoredMediaTypes, ev.Target.MediaType))
}

// post sends one envelope.
func (ep *endpoint) post(ctx context.Context, evs []Event) error {
	body, err := json.MarshalIndent(Envelope{Events: evs}, "", "   ")
	if err != nil {
		return &spool.Rejected{Err: err}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, ep.cfg.URL, bytes.NewReader(body))
	if err != nil {
		return &spool.Rejected{Err: err}
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

// close delivers what is queued until ctx ends and spills the rest.
func (ep *endpoint) close(ctx context.Context) error {
	err := ep.q.Close(ctx)
	ep.client.CloseIdleConnections()
	return err
}
