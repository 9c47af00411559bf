// Package notify sends registry:2's notifications: the webhook events that CI triggers,
// replication tools and scanners already consume from a distribution registry. Each
// configured endpoint (registry:2's notifications.endpoints: url, headers, timeout,
// threshold, backoff, ignoredmediatypes, ignore) receives POSTs of the envelope
// application/vnd.docker.distribution.events.v1+json, events with action, target
// (mediaType, size, digest, length, repository, url, tag), request, actor and source, as
// registry:2 2.8 writes them, so those consumers work unchanged in front of the bundled
// registry or in sidecar mode. The actor is the authenticated principal.
//
// A Notifier is a gateway.Observer: a request's Record becomes the event registry:2 would
// have sent for it (see Notifier.Observe). What the Record cannot say, the size of a blob
// whose upload was completed by a PUT, is asked of the backend (a HEAD) on the
// notifier's own goroutine, never on the request's. Nothing is sent from the request
// path: events are queued per endpoint (bounded: a full queue drops and counts), sent in
// order, retried after failures (waiting Backoff after Threshold failures in a row), and
// at Close what is left is spilled to a file that the next start sends first.
//
// Where it differs from registry:2: deleting a manifest by digest sends one delete
// event; registry:2 also sends a tag delete event for each tag that pointed at it, which
// the gateway does not know without asking before the delete. Events carry the client's
// address without its port.
//
// It leaves to others: what a request was (gateway), the audit trail (audit).
package notify
