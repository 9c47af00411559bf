package notify

import (
	"crypto/rand"
	"fmt"
	"net/http"
	"time"

	"github.com/portcullis/portcullis/gateway"
	"github.com/portcullis/portcullis/reference"
)

// EnvelopeMediaType is the Content-Type of every request to an endpoint.
const EnvelopeMediaType = "application/vnd.docker.distribution.events.v1+json"

// Actions, as registry:2 names them.
const (
	ActionPush   = "push"
	ActionPull   = "pull"
	ActionDelete = "delete"
	ActionMount  = "mount"
)

// blobMediaType is what registry:2 gives a blob's descriptor.
const blobMediaType = "application/octet-stream"

// Envelope is the body of a request to an endpoint.
type Envelope struct {
	Events []Event `json:"events,omitempty"`
}

// Event is one registry event, field for field as registry:2 2.8 encodes it.
type Event struct {
	ID        string    `json:"id,omitempty"`
	Timestamp time.Time `json:"timestamp,omitempty"`
	Action    string    `json:"action,omitempty"`
	Target    Target    `json:"target,omitempty"`
	Request   Request   `json:"request,omitempty"`
	Actor     Actor     `json:"actor,omitempty"`
	Source    Source    `json:"source,omitempty"`
}

// Target is what the event is about.
type Target struct {
	MediaType      string `json:"mediaType,omitempty"`
	Size           int64  `json:"size,omitempty"`
	Digest         string `json:"digest,omitempty"`
	Length         int64  `json:"length,omitempty"`
	Repository     string `json:"repository,omitempty"`
	FromRepository string `json:"fromRepository,omitempty"`
	URL            string `json:"url,omitempty"`
	Tag            string `json:"tag,omitempty"`
}

// Request is the request that caused the event.
type Request struct {
	ID        string `json:"id"`
	Addr      string `json:"addr,omitempty"`
	Host      string `json:"host,omitempty"`
	Method    string `json:"method"`
	UserAgent string `json:"useragent"`
}

// Actor is who caused it: the authenticated principal.
type Actor struct {
	Name string `json:"name,omitempty"`
}

// Source is the node that sent it.
type Source struct {
	Addr       string `json:"addr,omitempty"`
	InstanceID string `json:"instanceID,omitempty"`
}

// pending is an event on its way to the endpoints; lookup says its size must first be
// asked of the backend.
type pending struct {
	ev     Event
	lookup bool
}

// eventOf builds the event registry:2 would send for a request, if any. Only what
// succeeded is an event, as registry:2 dispatches after the storage call returns.
func eventOf(rec *gateway.Record, src Source) (pending, bool) {
	if rec.Outcome != gateway.OutcomeForwarded {
		return pending{}, false
	}
	rt := rec.Route
	p := pending{ev: Event{
		ID:        newID(),
		Timestamp: rec.Start.Add(rec.Duration).UTC(),
		Target:    Target{Repository: rt.Name},
		Request: Request{ID: rec.ID, Host: rec.Host, Method: rec.Method, UserAgent: rec.UserAgent,
			Addr: addr(rec)},
		Actor:  Actor{Name: actor(rec)},
		Source: src,
	}}
	t := &p.ev.Target
	read := rec.Method == http.MethodGet || rec.Method == http.MethodHead
	isTag := reference.ValidTag(rt.Reference)
	switch {
	case rt.Kind == gateway.KindManifest && read && rec.Status == http.StatusOK:
		p.ev.Action = ActionPull
		t.MediaType, t.Digest = rec.MediaType, rec.Digest
		t.Size = sizeOf(rec)
		if isTag {
			t.Tag = rt.Reference
		}
		if t.Digest == "" && !isTag {
			t.Digest = rt.Reference
		}
		t.URL = objectURL(rec, "manifests", t.Digest)
	case rt.Kind == gateway.KindManifest && rec.Method == http.MethodPut && rec.Status == http.StatusCreated:
		p.ev.Action = ActionPush
		t.MediaType, t.Digest, t.Size = rec.MediaType, rec.Digest, rec.BytesIn
		if isTag {
			t.Tag = rt.Reference
		}
		t.URL = objectURL(rec, "manifests", t.Digest)
	case rt.Kind == gateway.KindManifest && rec.Method == http.MethodDelete && rec.Status == http.StatusAccepted:
		p.ev.Action = ActionDelete
		if isTag {
			t.Tag = rt.Reference
		} else {
			t.Digest = rt.Reference
		}
	case rt.Kind == gateway.KindBlob && read && (rec.Status == http.StatusOK || rec.Status == http.StatusPartialContent):
		p.ev.Action = ActionPull
		t.MediaType, t.Digest = blobMediaType, rt.Reference
		if rec.Status == http.StatusOK && rec.ContentLength >= 0 {
			t.Size = rec.ContentLength
		} else {
			p.lookup = true // a range: the blob's size is not what was sent
		}
		t.URL = objectURL(rec, "blobs", t.Digest)
	case rt.Kind == gateway.KindBlob && rec.Method == http.MethodDelete && rec.Status == http.StatusAccepted:
		p.ev.Action = ActionDelete
		t.Digest = rt.Reference
	case rt.Kind == gateway.KindUpload && rec.Method == http.MethodPut && rec.Status == http.StatusCreated,
		rt.Kind == gateway.KindUploads && rec.Method == http.MethodPost && rec.Status == http.StatusCreated:
		p.ev.Action = ActionPush
		t.MediaType, t.Digest = blobMediaType, rec.Digest
		switch {
		case rt.MountFrom != "":
			p.ev.Action, t.FromRepository = ActionMount, rt.MountFrom
			if t.Digest == "" {
				t.Digest = rt.Reference
			}
			p.lookup = true
		case rt.Kind == gateway.KindUploads:
			t.Size = rec.BytesIn // a monolithic upload: the body is the blob
		default:
			p.lookup = true // chunks came in earlier requests
		}
		t.URL = objectURL(rec, "blobs", t.Digest)
	default:
		return pending{}, false
	}
	if p.ev.Action != ActionDelete {
		t.Length = t.Size
	}
	return p, t.Digest != "" || t.Tag != ""
}

// sizeOf is the size of a manifest served: its Content-Length (a HEAD sends no body).
func sizeOf(rec *gateway.Record) int64 {
	if rec.ContentLength >= 0 {
		return rec.ContentLength
	}
	return rec.BytesOut
}

func addr(rec *gateway.Record) string {
	if rec.ClientIP.IsValid() {
		return rec.ClientIP.String()
	}
	return ""
}

func actor(rec *gateway.Record) string {
	if rec.Principal.IsAnonymous() {
		return ""
	}
	return rec.Principal.Name
}

// objectURL is the client-facing URL of a manifest or blob by digest, as registry:2 builds it.
func objectURL(rec *gateway.Record, kind, digest string) string {
	if digest == "" {
		return ""
	}
	proto := rec.Proto
	if proto == "" {
		proto = "http"
	}
	return proto + "://" + rec.Host + "/v2/" + rec.Route.Name + "/" + kind + "/" + digest
}

// newID is a random UUID (version 4), as registry:2's event ids are.
func newID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}
