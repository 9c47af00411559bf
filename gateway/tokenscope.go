package gateway

import (
	"github.com/portcullis/portcullis/access"
)

// beyondToken refuses a request the principal's token does not cover: its access claim
// (Principal.Limit) lacks something the request needs. That is a 401 with
// error="insufficient_scope" and the scope, so the client fetches a token that covers it
// (RFC 6750 3.1; what distribution answers), not a 403: the policy was not even asked.
func beyondToken(p access.Principal, rt Route, need []access.Resource) *refusal {
	if p.Limit == nil {
		return nil
	}
	res, action, ok := firstMissing(*p.Limit, need)
	if ok {
		return nil
	}
	what := "the catalog"
	if res.Type == access.TypeRepository {
		what = "repository " + res.Name
	}
	return unauthenticated("insufficient scope: the token does not grant "+res.Type+":"+res.Name+":"+action,
		"authentication required: the token does not grant access to "+what+" ("+action+")",
		Challenge{Access: rt.Access, Error: ChallengeInsufficientScope})
}

// badCredentialsReason is the log's reason for credentials that did not verify: what
// the authenticator found wrong (never what the credentials held).
func badCredentialsReason(err error) string {
	if msg := err.Error(); msg != access.ErrBadCredentials.Error() {
		return "bad credentials: " + msg
	}
	return "bad credentials"
}
