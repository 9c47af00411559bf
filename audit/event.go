package audit

import (
	"crypto/sha256"
	"encoding/hex"
	"time"

	"github.com/portcullis/portcullis/access"
	"github.com/portcullis/portcullis/internal/reload"
)

// SchemaVersion is the record format's version, the "v" of every line. It changes when
// a field changes meaning or goes away; fields may be added within a version, so readers
// ignore fields they do not know.
const SchemaVersion = 1

// Kind names what an event records.
type Kind string

// The kinds of event.
const (
	// KindPull: a manifest read (GET or HEAD), or with PullsAll any read of a repository
	// (blobs, tags, referrers).
	KindPull Kind = "pull"
	// KindPush: a manifest put, or a blob upload completed (the final PUT, a monolithic
	// POST, a cross-repository mount). Upload starts and PATCHes are not recorded on their
	// own: they are parts of the push their completion records.
	KindPush Kind = "push"
	// KindDelete: a manifest, tag or blob deleted.
	KindDelete Kind = "delete"
	// KindCatalog: the catalog listed, or docker search answered.
	KindCatalog Kind = "catalog"
	// KindDenied: the policy refused the access a request needed.
	KindDenied Kind = "denied"
	// KindLoginFailed: credentials that did not verify; Account names the account they
	// claimed (never the password).
	KindLoginFailed Kind = "login_failed"
	// KindTokenIssued: the token endpoint issued a token; Asked and Granted are its scopes.
	KindTokenIssued Kind = "token_issued"
	// KindConfigReloaded: a configuration file was reloaded (Config names which, Files
	// their new SHA-256), or failed to (Error).
	KindConfigReloaded Kind = "config_reloaded"
	// KindGC: `gateway gc --delete` removed content; GC says what.
	KindGC Kind = "gc"
	// KindCheckpoint: a signed checkpoint of the chain (see Checkpoint); not an Event.
	KindCheckpoint Kind = "checkpoint"
)

// Decisions, as Event.Decision writes them.
const (
	DecisionAllowed = "allowed"
	DecisionDenied  = "denied"
)

// Event is one audit record before it joins the chain: the line is this, as JSON, with
// "v", "seq" and "prev" in front. Empty fields are left out of the line. Every string is
// written by encoding/json, which escapes quotes, control characters and line breaks, so
// what a client sends (a user name, an agent, a path) can neither end a line nor forge a
// field.
type Event struct {
	// Time is when it happened, written in RFC 3339 in UTC with nanoseconds: for a request,
	// when the gateway received it.
	Time time.Time `json:"time"`
	Kind Kind      `json:"kind"`
	// RequestID is the request's X-Request-Id.
	RequestID string `json:"request_id,omitempty"`
	// ClientIP is the client's address after --trusted-proxy handling; UserAgent as sent.
	ClientIP  string `json:"client_ip,omitempty"`
	UserAgent string `json:"user_agent,omitempty"`
	// User is the authenticated principal; "" for anonymous. Auth is how it authenticated
	// (anonymous, basic, bearer, mtls), or for a failed login how it tried.
	User string `json:"user,omitempty"`
	Auth string `json:"auth,omitempty"`
	// Account is the account credentials that did not verify claimed (login_failed).
	Account string `json:"account,omitempty"`
	// Repository, Actions (what the request needed on it) and Reference (a tag or a digest;
	// the digest mounted, for a mount), and From, the source of a cross-repository mount.
	Repository string   `json:"repository,omitempty"`
	Actions    []string `json:"actions,omitempty"`
	Reference  string   `json:"reference,omitempty"`
	From       string   `json:"from,omitempty"`
	// Digest is the content's digest as the backend answered it (Docker-Content-Digest):
	// for a manifest push, the digest the tag now points to.
	Digest string `json:"digest,omitempty"`
	// MediaType is a manifest's media type (sent with a push, answered to a pull).
	MediaType string `json:"media_type,omitempty"`
	// Method and Path are the request's; the query is never recorded (it can carry tokens).
	Method string `json:"method,omitempty"`
	Path   string `json:"path,omitempty"`
	// Decision is the policy's (DecisionAllowed or DecisionDenied), Reason why.
	Decision string `json:"decision,omitempty"`
	Reason   string `json:"reason,omitempty"`
	// Outcome is the gateway's (gateway.Outcome), Status the HTTP status sent.
	Outcome string `json:"outcome,omitempty"`
	Status  int    `json:"status,omitempty"`
	// BytesIn and BytesOut are the body bytes received and sent; DurationMS how long the
	// request took, in milliseconds.
	BytesIn    int64   `json:"bytes_in,omitempty"`
	BytesOut   int64   `json:"bytes_out,omitempty"`
	DurationMS float64 `json:"duration_ms,omitempty"`

	// Asked and Granted are a token's scopes (token_issued).
	Asked   []access.Resource `json:"asked,omitempty"`
	Granted []access.Resource `json:"granted,omitempty"`
	// Config names a reloaded configuration (htpasswd, groups, policy, certificate), Files
	// its files with their new SHA-256, Error why the reload failed (config_reloaded).
	Config string     `json:"config,omitempty"`
	Files  []FileHash `json:"files,omitempty"`
	Error  string     `json:"error,omitempty"`
	// GC is what a garbage collection removed (gc).
	GC *GCSummary `json:"gc,omitempty"`
}

// FileHash is a file and the SHA-256 of its content, in hex.
type FileHash struct {
	Path   string `json:"path"`
	SHA256 string `json:"sha256"`
}

// GCSummary is what `gateway gc --delete` removed.
type GCSummary struct {
	Untagged           bool  `json:"untagged,omitempty"`
	ManifestsRemoved   int   `json:"manifests_removed"`
	BlobsRemoved       int   `json:"blobs_removed"`
	BytesRemoved       int64 `json:"bytes_removed"`
	UploadsRemoved     int   `json:"uploads_removed"`
	UploadBytesRemoved int64 `json:"upload_bytes_removed"`
	Repositories       int   `json:"repositories"`
}

// durable reports whether an event of kind k must be on disk before the request it
// records is answered (SyncAlways): everything but reads and failed logins, which go
// with the next batch: a password guesser sends them by the thousand, and each one must
// not cost an fsync.
func (k Kind) durable() bool {
	return k != KindPull && k != KindCatalog && k != KindLoginFailed
}

// acknowledgesWrite reports whether answering the request recorded by an event of kind k
// with status tells the client a write happened: a push or delete that succeeded.
func acknowledgesWrite(k Kind, status int) bool {
	return (k == KindPush || k == KindDelete) && status < 400
}

// ReloadEvent is the config_reloaded event of a reload attempt: which configuration, its
// files with the SHA-256 of what was read, and the error when the attempt failed (the
// last good version then stays in force).
func ReloadEvent(rp reload.Report) Event {
	ev := Event{Kind: KindConfigReloaded, Config: rp.Name}
	for _, f := range rp.Files {
		fh := FileHash{Path: f.Path}
		if f.SHA256 != ([sha256.Size]byte{}) {
			fh.SHA256 = hex.EncodeToString(f.SHA256[:])
		}
		ev.Files = append(ev.Files, fh)
	}
	if rp.Err != nil {
		ev.Error = rp.Err.Error()
	}
	return ev
}
