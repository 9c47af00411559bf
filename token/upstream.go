package token

import (
	"context"
	"strings"
	"time"

	"github.com/portcullis/portcullis/access"
)

// Upstream token lifetimes: a token is minted for a few minutes and reused for the same
// subject and access while it has more than upstreamReuse left, so a pull of many blobs
// costs one signature, and a token is never sent with less than a minute to live
// (distribution checks it when a request starts, with 60 s of leeway).
const (
	upstreamTTL   = 3 * time.Minute
	upstreamReuse = time.Minute
)

type upstreamToken struct {
	header string
	until  time.Time
}

// UpstreamAuthorization is the Authorization value the gateway presents to an upstream
// registry configured with `auth: token` for one forwarded request: a short-lived access
// token minted for subject with exactly the access the gateway granted that request.
// The registry, trusting the token CA, then accepts only what the gateway judged: these
// tokens carry x5c whatever Config.X5C says.
func (s *Service) UpstreamAuthorization(_ context.Context, granted []access.Resource, subject string) (string, error) {
	var b strings.Builder
	b.WriteString(subject)
	for _, r := range granted {
		b.WriteByte(0)
		b.WriteString(r.Scope())
	}
	key := b.String()
	now := s.now()
	if t, ok := s.upstream.Get(key); ok && now.Add(upstreamReuse).Before(t.until) {
		return t.header, nil
	}
	p := access.Principal{Name: subject, Method: access.MethodBasic}
	if subject == "" {
		p = access.Anonymous()
	}
	tok, issued, err := s.mint(p, granted, upstreamTTL, true) // the registry verifies it: x5c
	if err != nil {
		return "", err
	}
	h := "Bearer " + tok
	s.upstream.Add(key, upstreamToken{header: h, until: issued.Add(upstreamTTL)})
	return h, nil
}
