package audit

import (
	"context"

	"github.com/portcullis/portcullis/gateway"
)

var _ gateway.TokenObserver = (*Trail)(nil)

// ObserveToken implements gateway.TokenObserver: a token issued is token_issued (the
// scopes asked and granted), credentials refused or throttled at the token endpoint are
// login_failed naming the account they claimed; a request without credentials, a
// malformed one and a technical failure are not recorded (the operational log has them).
func (t *Trail) ObserveToken(ctx context.Context, ev gateway.TokenEvent) {
	e := Event{Time: ev.Time, RequestID: ev.ID, UserAgent: ev.UserAgent, Path: gateway.TokenPath,
		Asked: ev.Asked, Granted: ev.Granted, Reason: ev.Reason, Outcome: string(ev.Outcome), Status: ev.Status}
	if ev.ClientIP.IsValid() {
		e.ClientIP = ev.ClientIP.String()
	}
	switch {
	case ev.Outcome == gateway.TokenIssued:
		e.Kind, e.User, e.Auth = KindTokenIssued, ev.Principal.Name, ev.Principal.Method
	case (ev.Outcome == gateway.TokenRefused || ev.Outcome == gateway.TokenThrottled) && ev.Account != "":
		e.Kind, e.Account, e.Auth = KindLoginFailed, ev.Account, ev.Grant
	default:
		return
	}
	_ = t.emit(&e)
}
