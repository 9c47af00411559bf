package audit

import (
	"context"
	"log/slog"
	"net/http"

	"github.com/portcullis/portcullis/gateway"
)

var (
	_ gateway.Observer  = (*Trail)(nil)
	_ gateway.WriteGate = (*Trail)(nil)
)

// Observe implements gateway.Observer: it records a request as at most one event.
//
//   - denied by the policy: denied (always, whatever Pulls says);
//   - credentials that did not verify, or were not tried because the login throttle refused
//     (outcome throttled): login_failed, naming the account claimed; a request without
//     credentials that needs them (docker's first, anonymous try) is not recorded;
//   - the catalog or docker search answered: catalog;
//   - forwarded: a manifest GET or HEAD is a pull (unless PullsOff); a blob, tags or
//     referrers read is a pull with PullsAll; a manifest PUT, an upload's final PUT, and a
//     POST that completes an upload (monolithic, or a mount) are a push; the start of an
//     upload (202), its PATCHes, status and cancel are not recorded on their own; a
//     manifest or blob DELETE is a delete;
//   - refused as malformed, and technical failures: not recorded (the operational log
//     has them; no access took place).
//
// With SyncAlways it returns once the record is durable. With FailClosed, when the record
// of a write the client is about to be told succeeded cannot be written, it aborts the
// response (panics with http.ErrAbortHandler, which net/http answers by closing the
// stream before the held-back answer is sent): no acknowledged write lacks its record.
func (t *Trail) Observe(ctx context.Context, rec gateway.Record) {
	kind, ok := t.kindOf(&rec)
	if !ok {
		return
	}
	ev := eventOf(kind, &rec)
	err := t.emit(&ev)
	if err != nil && t.cfg.FailClosed && acknowledgesWrite(kind, rec.Status) {
		t.log.LogAttrs(ctx, slog.LevelError, "write not acknowledged: its audit record could not be written",
			slog.String("request_id", rec.ID), slog.String("kind", string(kind)),
			slog.String("repository", rec.Route.Name), slog.Any("err", err))
		panic(http.ErrAbortHandler)
	}
}

// kindOf is the event kind a request is recorded as; ok is false when it is not.
func (t *Trail) kindOf(rec *gateway.Record) (Kind, bool) {
	switch rec.Outcome {
	case gateway.OutcomeDenied:
		return KindDenied, true
	case gateway.OutcomeUnauthenticated, gateway.OutcomeThrottled:
		return KindLoginFailed, rec.Account != ""
	case gateway.OutcomeServed:
		return KindCatalog, true
	case gateway.OutcomeForwarded:
	default:
		return "", false
	}
	read := rec.Method == http.MethodGet || rec.Method == http.MethodHead
	switch rec.Route.Kind {
	case gateway.KindManifest:
		switch {
		case read:
			return KindPull, t.cfg.Pulls != PullsOff
		case rec.Method == http.MethodPut:
			return KindPush, true
		case rec.Method == http.MethodDelete:
			return KindDelete, true
		}
	case gateway.KindBlob:
		switch {
		case read:
			return KindPull, t.cfg.Pulls == PullsAll
		case rec.Method == http.MethodDelete:
			return KindDelete, true
		}
	case gateway.KindTags, gateway.KindReferrers:
		return KindPull, read && t.cfg.Pulls == PullsAll
	case gateway.KindUploads:
		// 202 starts an upload, to be completed by a PUT; anything else ends it here (a
		// monolithic upload or a mount created the blob, or it failed).
		return KindPush, rec.Method == http.MethodPost && rec.Status != http.StatusAccepted
	case gateway.KindUpload:
		return KindPush, rec.Method == http.MethodPut
	}
	return "", false
}

// eventOf builds the event of a request.
func eventOf(kind Kind, rec *gateway.Record) Event {
	ev := Event{
		Time:       rec.Start,
		Kind:       kind,
		RequestID:  rec.ID,
		UserAgent:  rec.UserAgent,
		Repository: rec.Route.Name,
		Actions:    rec.Route.Actions(),
		Reference:  rec.Route.Reference,
		From:       rec.Route.MountFrom,
		Digest:     rec.Digest,
		Method:     rec.Method,
		Path:       rec.Path,
		Reason:     rec.Reason,
		Outcome:    string(rec.Outcome),
		Status:     rec.Status,
		BytesIn:    rec.BytesIn,
		BytesOut:   rec.BytesOut,
		DurationMS: float64(rec.Duration.Microseconds()) / 1000,
	}
	if rec.ClientIP.IsValid() {
		ev.ClientIP = rec.ClientIP.String()
	}
	if p := rec.Principal; !p.IsAnonymous() {
		ev.User, ev.Auth = p.Name, p.Method
	} else {
		ev.Auth = "anonymous"
	}
	switch {
	case kind == KindLoginFailed:
		ev.Account = rec.Account
		if rec.Credentials != "" {
			ev.Auth = rec.Credentials
		}
	case rec.Outcome == gateway.OutcomeDenied:
		ev.Decision = DecisionDenied
	case rec.Decided:
		ev.Decision = DecisionAllowed
	}
	if rec.Route.Kind == gateway.KindManifest && (kind == KindPull || kind == KindPush) && rec.Status < 400 {
		ev.MediaType = rec.MediaType // not an error's application/json
	}
	return ev
}
