package gateway

import (
	"context"
	"slices"

	"github.com/portcullis/portcullis/access"
)

// CredentialsSession is Record.Credentials for a request whose principal came with its
// context (WithPrincipal): the web UI's requests on behalf of a signed-in user.
const CredentialsSession = "session"

type principalKey struct{}

// WithPrincipal returns ctx carrying p as an already-authenticated principal: the
// pipeline's authenticate stage takes it instead of asking the Authenticator (or any
// wrapper of it: client certificates, bearer tokens, the bearer challenge). It is how
// in-process code, the web UI (issue 15), makes requests as a user it has signed in
// itself, so the same policy, metrics and audit trail judge and count them. Only code in
// the same process can set a context: nothing a client sends (no header, no cookie) does.
//
// The principal's Limit is dropped: a token's access claim is not a session's, so the
// policy alone decides what such a request may do.
func WithPrincipal(ctx context.Context, p access.Principal) context.Context {
	p.Limit = nil
	p.Groups = slices.Clone(p.Groups)
	if p.Groups == nil {
		p.Groups = []string{}
	}
	return context.WithValue(ctx, principalKey{}, p)
}

// principalFrom returns the principal WithPrincipal put in ctx.
func principalFrom(ctx context.Context) (access.Principal, bool) {
	p, ok := ctx.Value(principalKey{}).(access.Principal)
	return p, ok
}
