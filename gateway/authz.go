package gateway

import (
	"context"
	"net/http"
	"net/url"

	"github.com/portcullis/portcullis/access"
	"github.com/portcullis/portcullis/errcode"
)

// Authorizer decides what a principal may do. A decision grants a subset of what was
// asked; an error is a failure to decide, which the gateway treats as a refusal (500).
type Authorizer interface {
	Authorize(ctx context.Context, in access.Input) (access.Decision, error)
}

// AllowAuthenticated is an Authorizer for tests and embedding: any authenticated
// principal may do anything, the anonymous principal nothing. The gateway command uses
// the policy package (its built-in default policy unless one is configured).
type AllowAuthenticated struct{}

var _ Authorizer = AllowAuthenticated{}

// Authorize implements Authorizer.
func (AllowAuthenticated) Authorize(_ context.Context, in access.Input) (access.Decision, error) {
	if in.Principal.IsAnonymous() {
		return access.Decision{Reason: "anonymous access is not allowed"}, nil
	}
	return access.Decision{Granted: in.Access, Reason: "authenticated"}, nil
}

// authorize asks the Authorizer for the route's access and fails closed: an error is a
// 500, a missing grant a refusal, 403 DENIED for an authenticated principal and 401 with
// the challenge for the anonymous one (who might do better with credentials). The
// message names the repository and action asked for, the same whether or not the
// repository exists. The source of a mount is not required (see mountAllowed).
func (g *gateway) authorize(r *http.Request, req access.Request, p access.Principal, rt Route) (access.Decision, *refusal) {
	need := rt.Access
	if rt.Kind == KindUploads {
		need = rt.Access[:1] // the target; the mount source is optional
	}
	if ref := beyondToken(p, rt, need); ref != nil { // tokenscope.go
		return access.Decision{}, ref
	}
	d, err := g.authz.Authorize(r.Context(), access.Input{Principal: p, Request: req, Access: rt.Access})
	if err != nil {
		return d, &refusal{outcome: OutcomeFailed, reason: "authorization error", err: internalError(), cause: err}
	}
	d = withinToken(p, rt, d) // a token's access claim AND the policy in force now
	res, action, ok := firstMissing(d, need)
	if ok {
		return d, nil
	}
	what := "the catalog"
	if res.Type == access.TypeRepository {
		what = "repository " + res.Name
	}
	msg := "requested access to " + what + " (" + action + ") is denied"
	reason := "denied: " + res.Type + ":" + res.Name + ":" + action
	if d.Reason != "" {
		reason += ": " + d.Reason
	}
	ref := &refusal{outcome: OutcomeDenied, reason: reason, err: errcode.New(errcode.Denied, msg)}
	if p.IsAnonymous() {
		ref.err = errcode.New(errcode.Unauthorized, "authentication required: "+msg)
		ref.challenge = &Challenge{Access: rt.Access}
	}
	return d, ref
}

// firstMissing finds a resource and action in need that d does not grant.
func firstMissing(d access.Decision, need []access.Resource) (access.Resource, string, bool) {
	if len(need) == 0 { // nothing asked is not "everything granted": fail closed
		return access.Resource{}, "", false
	}
	for _, res := range need {
		for _, a := range res.Actions {
			if !d.Allows(access.Resource{Type: res.Type, Name: res.Name, Actions: []string{a}}) {
				return res, a, false
			}
		}
	}
	return access.Resource{}, "", true
}

// mountAllowed reports whether an upload start may go to the backend as it is: it is a
// mount (one mount and one from, see withMount) whose source the caller may pull. Any
// other upload start carrying mount or from goes on without them.
func mountAllowed(rt Route, d access.Decision) bool {
	return rt.MountFrom != "" && d.Allows(rt.Access[1])
}

// withoutMount returns the route and request of a plain upload start: the mount and from
// query parameters removed (other parameters kept) and the route's mount and its pull on
// the source dropped. r is returned as it is when it carries neither.
func withoutMount(rt Route, r *http.Request) (Route, *http.Request) {
	rt.MountFrom, rt.Reference = "", ""
	rt.Access = rt.Access[:1]
	q, err := url.ParseQuery(r.URL.RawQuery) // Classify parsed it already
	if err != nil || (!q.Has("mount") && !q.Has("from")) {
		return rt, r
	}
	q.Del("mount")
	q.Del("from")
	r2 := r.Clone(r.Context())
	r2.URL.RawQuery = q.Encode()
	r2.RequestURI = r2.URL.RequestURI()
	return rt, r2
}
