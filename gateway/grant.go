package gateway

import (
	"context"

	"github.com/portcullis/portcullis/access"
)

// Grant is what the gateway allowed one request: who (Subject, the principal's name, ""
// for anonymous) and exactly which access (the route's, after a mount the caller may not
// make was dropped; none for the base route /v2/). It travels with the request to the
// backend, read through GrantOf, so that an upstream backend can present the upstream
// registry proof of the judgement (--upstream-auth token, UpstreamOptions.Credentials).
// The catalog's own requests to the backend carry registry:catalog:*.
type Grant struct {
	Subject string
	Access  []access.Resource
}

// setGrant records what the pipeline allowed the request of c, in the client value its
// context already carries (withClient). Called once per request, after judging and
// before the backend is called.
func (c *clientInfo) setGrant(p access.Principal, rt Route) {
	c.grant, c.granted = Grant{Subject: p.Name, Access: rt.Access}, true
}

// GrantOf returns the grant of the request ctx belongs to; false for a request the
// pipeline did not judge (a backend used on its own, or one not judged yet).
func GrantOf(ctx context.Context) (Grant, bool) {
	c, ok := ctx.Value(clientKey{}).(*clientInfo)
	if !ok || !c.granted {
		return Grant{}, false
	}
	return c.grant, true
}
