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

type grantKey struct{}

func withGrant(ctx context.Context, p access.Principal, rt Route) context.Context {
	return context.WithValue(ctx, grantKey{}, &Grant{Subject: p.Name, Access: rt.Access})
}

// GrantOf returns the grant of the request ctx belongs to; false for a request the
// pipeline did not judge (a backend used on its own).
func GrantOf(ctx context.Context) (Grant, bool) {
	g, ok := ctx.Value(grantKey{}).(*Grant)
	if !ok {
		return Grant{}, false
	}
	return *g, true
}
