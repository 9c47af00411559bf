package gateway

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/portcullis/portcullis/access"
)

// credentialTransport sets the Authorization the upstream is shown for each request from
// the request's grant (UpstreamOptions.Credentials).
type credentialTransport struct {
	next  http.RoundTripper
	creds func(ctx context.Context, granted []access.Resource, subject string) (string, error)
}

var errNoGrant = errors.New("request carries no grant from the pipeline; not forwarded with credentials")

// RoundTrip sets the header on the outbound request, which httputil.ReverseProxy made as
// a deep copy of the client's (Rewrite's pr.Out), so nothing another goroutine reads
// changes. A request without a grant, or whose credentials cannot be made, is not sent.
func (c *credentialTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	g, ok := GrantOf(req.Context())
	if !ok {
		return nil, errNoGrant
	}
	v, err := c.creds(req.Context(), g.Access, g.Subject)
	if err != nil {
		return nil, fmt.Errorf("upstream credentials: %w", err)
	}
	req.Header.Set("Authorization", v)
	return c.next.RoundTrip(req)
}
