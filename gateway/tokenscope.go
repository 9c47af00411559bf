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
	if rt.Kind == KindSearch {
		need = searchScope
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

// searchScope is what docker asks a token for before docker search (moby's search with an
// identity token: registry:catalog:search); a token granting registry:catalog:* covers it
// too. The search itself is then decided like the catalog (registry:catalog:* from the
// policy) and filtered by pull, so the token adds nothing to narrow.
var searchScope = []access.Resource{{Type: access.TypeRegistry, Name: "catalog", Actions: []string{"search"}}}

// withinToken is the policy's decision narrowed to what the principal's token grants
// (Principal.Limit): a request needs both (issue 10, item 4).
func withinToken(p access.Principal, rt Route, d access.Decision) access.Decision {
	if p.Limit == nil || rt.Kind == KindSearch {
		return d
	}
	return d.Within(*p.Limit)
}
