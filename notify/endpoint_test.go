package notify

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/portcullis/portcullis/access"
	"github.com/portcullis/portcullis/gateway"
)

const testDigest = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

// record is the Record of a forwarded request.
func record(method string, kind gateway.Kind, ref string, status int) gateway.Record {
	return gateway.Record{ID: "req-1", Start: time.Unix(1, 0), Method: method, ClientIP: netip.MustParseAddr("192.0.2.1"),
		Proto: "https", Host: "registry.example", UserAgent: "ua", Outcome: gateway.OutcomeForwarded, Status: status,
		Route:     gateway.Route{Kind: kind, Name: "team/app", Reference: ref},
		Principal: access.Principal{Name: "alice", Method: access.MethodBasic},
		Digest:    testDigest, MediaType: "application/vnd.oci.image.manifest.v1+json", ContentLength: 42, BytesIn: 42}
}

// sink receives envelopes; it answers status (200 unless set).
type sink struct {
	mu     sync.Mutex
	events []Event
	status int
	hits   int
}

func (s *sink) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.hits++
	if s.status != 0 {
		w.WriteHeader(s.status)
		return
	}
	var env Envelope
	body, _ := io.ReadAll(r.Body)
	if err := json.Unmarshal(body, &env); err != nil || r.Header.Get("X-Token") != "t" {
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	s.events = append(s.events, env.Events...)
}

func (s *sink) snapshot() (int, []Event, int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.events), append([]Event(nil), s.events...), s.hits
}

func TestIgnoreRulesAndEvents(t *testing.T) {
	s := &sink{}
	srv := httptest.NewServer(s)
	defer srv.Close()
	n, err := New(Config{Endpoints: []Endpoint{{Name: "e", URL: srv.URL, Headers: http.Header{"X-Token": {"t"}},
		IgnoredActions: []string{ActionPull}, IgnoredMediaTypes: []string{"application/vnd.oci.image.index.v1+json"}}},
		Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	idx := record("PUT", gateway.KindManifest, "v2", 201)
	idx.MediaType = "application/vnd.oci.image.index.v1+json"
	for _, rec := range []gateway.Record{
		record("PUT", gateway.KindManifest, "v1", 201), // push, tag v1
		record("GET", gateway.KindManifest, "v1", 200), // pull: ignored
		idx, // an index: ignored media type
		record("PUT", gateway.KindManifest, "v1", 400),          // failed: no event
		record("DELETE", gateway.KindManifest, testDigest, 202), // delete by digest
		record("PATCH", gateway.KindUpload, "", 202),            // a chunk: no event
	} {
		n.Observe(t.Context(), rec)
	}
	if err := n.Close(t.Context()); err != nil {
		t.Fatal(err)
	}
	_, evs, _ := s.snapshot()
	if len(evs) != 2 {
		t.Fatalf("events %+v, want the push and the delete", evs)
	}
	push, del := evs[0], evs[1]
	if push.Action != ActionPush || push.Target.Tag != "v1" || push.Target.Digest != testDigest || push.Target.Size != 42 ||
		push.Target.Length != 42 || push.Target.URL != "https://registry.example/v2/team/app/manifests/"+testDigest ||
		push.Actor.Name != "alice" || push.Request.Addr != "192.0.2.1" || push.Request.Method != "PUT" {
		t.Errorf("push event %+v", push)
	}
	if del.Action != ActionDelete || del.Target.Digest != testDigest || del.Target.Size != 0 || del.Target.Tag != "" {
		t.Errorf("delete event %+v", del)
	}
}

// TestBackoffAndSpill: an endpoint that fails is retried, backing off after Threshold
// failures; what it has not taken by Close is spilled and sent by the next Notifier.
func TestBackoffAndSpill(t *testing.T) {
	s := &sink{status: http.StatusServiceUnavailable}
	srv := httptest.NewServer(s)
	defer srv.Close()
	spill := t.TempDir()
	cfg := Config{Endpoints: []Endpoint{{Name: "e", URL: srv.URL, Headers: http.Header{"X-Token": {"t"}}, Threshold: 2, Backoff: time.Hour}},
		SpillDir: spill, Logger: slog.New(slog.DiscardHandler)}
	n, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		n.Observe(t.Context(), record("PUT", gateway.KindManifest, "v1", 201))
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, _, hits := s.snapshot(); hits >= 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no retries")
		}
		time.Sleep(5 * time.Millisecond)
	}
	// Now in its hour of backoff: Close gives up at once and spills.
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := n.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if _, _, hits := s.snapshot(); hits != 2 {
		t.Errorf("%d attempts; after Threshold 2 failures the endpoint must wait Backoff", hits)
	}
	s.mu.Lock()
	s.status = 0
	s.mu.Unlock()
	n2, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := n2.Close(t.Context()); err != nil {
		t.Fatal(err)
	}
	if got, _, _ := s.snapshot(); got != 3 {
		t.Errorf("%d events arrived after the restart, want the 3 spilled", got)
	}
}
