// Package audit owns the audit trail: the events (one JSON line each, with a schema
// version), the hash chain that links every line to the one before it across files and
// rotations, the checkpoints signed with an Ed25519 key kept apart from the log, the
// sinks that carry the lines (a file with size rotation and reopen on SIGHUP, or stdout;
// syslog RFC 5424 over UDP, TCP or TLS; an HTTP webhook), and reading the trail back:
// Verify names the first bad line, Query filters records.
//
// A Trail is a gateway.Observer: each request's gateway.Record becomes at most one event
// (pull, push, delete, catalog, denied, login_failed; see Trail.Observe for the mapping).
// Events that are not requests (a token issued, a configuration file reloaded, a garbage
// collection) come in through Trail.Emit.
//
// What it guarantees, and how:
//
//   - Nothing lost. The record of a write or a denial is written and fsynced to the file
//     before Observe returns (SyncAlways), which is before the client reads its answer:
//     Observe runs on the request's goroutine before the pipeline returns to net/http, and
//     the gateway holds a write's answer back until then. Pull and failed-login records
//     are written in batches, within SyncInterval. When the file cannot be written and
//     FailClosed is set, the Trail is a gateway.WriteGate whose Ready refuses writes (503)
//     until the file takes lines again, and a write whose record could not be kept is not
//     acknowledged (the response is aborted). Remote sinks never slow a request: they
//     queue, then drop with a counter and a log line; at Close their queues are delivered or
//     spilled to a file that is sent at the next start.
//   - Tamper evidence. Every line carries its sequence number and the SHA-256 of the line
//     before it ("prev"); every CheckpointEvery records, at each rotation or reopen, at start
//     and at Close, a checkpoint line signs the chain's head. Verify detects an edited,
//     deleted, reordered or inserted line by the chain, and a chain recomputed after an edit
//     by the checkpoint signatures, which need the private key.
//
// It leaves to others: what a request was (package gateway builds the Record), the
// registry:2 notification envelope (package notify), and reading flags (cmd/gateway).
package audit
