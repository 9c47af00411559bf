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

// AllowAuthenticated is the Authorizer to use until a policy is configured: any
// authenticated principal may do anything, the anonymous principal nothing.
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
// repository exists. A mount whose source the caller may not pull is neither: mount and
// from are stripped and the request goes on as a plain upload start.
func (g *gateway) authorize(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := ScopeFrom(r.Context())
		rt := s.route
		if rt.Kind == KindBase { // authenticate required a principal; nothing else to ask
			next.ServeHTTP(w, r)
			return
		}
		in := access.Input{
			Principal: s.principal,
			Request: access.Request{
				Method:    r.Method,
				Path:      rt.Path,
				ClientIP:  s.clientStr,
				UserAgent: r.UserAgent(),
			},
			Access: rt.Access,
		}
		d, err := g.authz.Authorize(r.Context(), in)
		if err != nil {
			g.internalError(w, r, s, "authorization error", err)
			return
		}
		s.decision, s.decided = d, true
		need := rt.Access
		if rt.Kind == KindUploads {
			need = rt.Access[:1] // the target; the mount source is optional
		}
		if res, action, ok := firstMissing(d, need); !ok {
			g.deny(w, r, s, res, action)
			return
		}
		if rt.Kind == KindUploads && (rt.MountFrom == "" || !d.Allows(rt.Access[1])) {
			r = withoutMount(r, s)
		}
		next.ServeHTTP(w, r)
	})
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

func (g *gateway) deny(w http.ResponseWriter, r *http.Request, s *RequestScope, res access.Resource, action string) {
	what := "the catalog"
	if res.Type == access.TypeRepository {
		what = "repository " + res.Name
	}
	msg := "requested access to " + what + " (" + action + ") is denied"
	s.denied = "denied: " + res.Type + ":" + res.Name + ":" + action
	if s.decision.Reason != "" {
		s.denied += ": " + s.decision.Reason
	}
	if s.principal.IsAnonymous() {
		g.challenge(w, r, "authentication required: "+msg)
		return
	}
	errcode.Write(w, r, errcode.New(errcode.Denied, msg))
}

// withoutMount returns r without the mount and from query parameters, and records in the
// scope that the upload goes on without a mount. Other parameters are kept.
func withoutMount(r *http.Request, s *RequestScope) *http.Request {
	q, err := url.ParseQuery(r.URL.RawQuery) // Classify parsed it already
	if err != nil || (!q.Has("mount") && !q.Has("from")) {
		return r
	}
	q.Del("mount")
	q.Del("from")
	r2 := r.Clone(r.Context())
	r2.URL.RawQuery = q.Encode()
	r2.RequestURI = r2.URL.RequestURI()
	if s.route.MountFrom != "" {
		s.decision.Reason += "; mount from " + s.route.MountFrom + " dropped: no pull access"
	}
	s.route.MountFrom, s.route.Reference = "", ""
	s.route.Access = s.route.Access[:1]
	return r2
}
