package gateway

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/portcullis/portcullis/access"
	"github.com/portcullis/portcullis/errcode"
	"github.com/portcullis/portcullis/internal/capture"
	"github.com/portcullis/portcullis/reference"
)

// maxCatalogBody caps what is read of one backend catalog page (1000 names of 255 bytes
// fit with room to spare).
const maxCatalogBody = 2 << 20

// walkCatalog calls yield with every repository the caller may pull, in the backend's
// order, starting after last, until yield returns false or the backend has no more. It
// pages the backend's /v2/_catalog with gateway-internal requests that carry no client
// credentials, and asks the Authorizer once per page for principal p; req describes the
// client's request to the policy.
//
// want is how many names the caller means to take (0: unknown). When a backend page
// shows fewer names than that, the next page is sized from the share shown so far, up to
// catalogMaxN: a caller who may pull one repository in ten costs two backend pages, not
// ten, and a backend may walk its whole storage for every page (registry:2 does; issue
// 15's benchmark).
func (g *gateway) walkCatalog(r *http.Request, req access.Request, p access.Principal, last string, batch, want int, yield func(string) bool) error {
	read, shown := 0, 0
	for {
		if err := r.Context().Err(); err != nil {
			return err
		}
		names, more, err := g.backendCatalog(r, last, batch)
		if err != nil {
			return err
		}
		if len(names) == 0 {
			return nil
		}
		if names[len(names)-1] <= last {
			return errors.New("backend catalog did not advance past " + strconv.Quote(last))
		}
		visible, err := g.pullable(r, req, p, names)
		if err != nil {
			return err
		}
		for _, name := range visible {
			if !yield(name) {
				return nil
			}
		}
		if !more {
			return nil
		}
		last = names[len(names)-1]
		read, shown = read+len(names), shown+len(visible)
		if want > shown {
			// The names still wanted at the share shown so far, and a quarter more.
			est := (want - shown) * read / max(shown, 1) * 5 / 4
			batch = min(max(batch, est), catalogMaxN)
		}
	}
}

// backendCatalog reads one page of the backend's catalog. The sub-request carries the
// caller's context, so the backend sees the caller's request id and addresses.
func (g *gateway) backendCatalog(r *http.Request, last string, n int) ([]string, bool, error) {
	q := url.Values{"n": {strconv.Itoa(n)}}
	if last != "" {
		q.Set("last", last)
	}
	req, err := http.NewRequestWithContext(r.Context(), http.MethodGet, "/v2/_catalog?"+q.Encode(), nil)
	if err != nil {
		return nil, false, fmt.Errorf("building catalog request: %w", err)
	}
	req.Host, req.RemoteAddr = r.Host, r.RemoteAddr
	req.Body = http.NoBody // as net/http gives handlers: never nil
	bw := capture.New(maxCatalogBody)
	g.backend.ServeHTTP(bw, req)
	if bw.Status() != http.StatusOK {
		return nil, false, fmt.Errorf("backend catalog answered %d", bw.Status())
	}
	if bw.Overflow() {
		return nil, false, errors.New("backend catalog page too large")
	}
	var body catalogBody
	if err := json.Unmarshal(bw.Body(), &body); err != nil {
		return nil, false, fmt.Errorf("decoding backend catalog: %w", err)
	}
	more := strings.Contains(bw.Header().Get("Link"), `rel="next"`)
	return body.Repositories, more, nil
}

// pullable returns the names p may pull, asking the Authorizer once for all. Names
// outside the grammar are never shown.
func (g *gateway) pullable(r *http.Request, req access.Request, p access.Principal, names []string) ([]string, error) {
	in := access.Input{Principal: p, Request: req}
	for _, n := range names {
		if reference.ValidName(n) {
			in.Access = append(in.Access, repoResource(n, access.Pull))
		}
	}
	if len(in.Access) == 0 {
		return nil, nil
	}
	d, err := g.authz.Authorize(r.Context(), in)
	if err != nil {
		return nil, fmt.Errorf("authorizing catalog names: %w", err)
	}
	var out []string
	for _, res := range in.Access {
		if d.Allows(res) {
			out = append(out, res.Name)
		}
	}
	return out, nil
}

// catalogError answers a failed walk (answerError: 499 when the client left).
func (g *gateway) catalogError(w http.ResponseWriter, r *http.Request, err error) {
	answerError(w, r, g.log, "catalog failed",
		errcode.New(errcode.Unavailable, "catalog unavailable").WithStatus(http.StatusBadGateway), err)
}
