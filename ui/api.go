package ui

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/portcullis/portcullis/access"
	"github.com/portcullis/portcullis/gateway"
	"github.com/portcullis/portcullis/internal/capture"
)

// maxBody caps what is read of one answer of the pipeline: a manifest (the spec's
// 4 MiB), an image config, a page of tags or referrers.
const maxBody = 4 << 20

// errNotFound is the registry's 404, or a 403/401 for a user who may not pull: the
// pages answer both alike so that they reveal nothing.
var errNotFound = errors.New("not found")

// errDenied is a 403 for a write (delete).
var errDenied = errors.New("denied")

// api makes requests to the pipeline as the signed-in user.
type api struct {
	pipeline http.Handler
	orig     *http.Request // the browser's request: its addresses and user agent
	p        access.Principal
}

func (u *ui) api(r *http.Request, s session) *api {
	return &api{pipeline: u.cfg.Pipeline, orig: r, p: s.principal()}
}

// answer is one response of the pipeline, read whole (up to maxBody).
type answer struct {
	status int
	header http.Header
	body   []byte
}

// do sends method path?query through the pipeline with the user's principal in the
// context, with the browser's peer address, forwarding headers and user agent, so the
// pipeline judges the client as it would judge the browser itself.
func (a *api) do(ctx context.Context, method, path string, query url.Values, accept string) (answer, error) {
	u := &url.URL{Path: path}
	if query != nil {
		u.RawQuery = query.Encode()
	}
	r, err := http.NewRequestWithContext(gateway.WithPrincipal(ctx, a.p), method, u.String(), nil)
	if err != nil {
		return answer{}, err
	}
	r.RequestURI = u.RequestURI()
	r.Host, r.RemoteAddr, r.TLS = a.orig.Host, a.orig.RemoteAddr, a.orig.TLS
	r.Proto, r.ProtoMajor, r.ProtoMinor = a.orig.Proto, a.orig.ProtoMajor, a.orig.ProtoMinor
	for _, h := range []string{"User-Agent", "X-Forwarded-For", "X-Forwarded-Proto", "X-Forwarded-Host", "Forwarded"} {
		if v := a.orig.Header.Values(h); len(v) > 0 {
			r.Header[h] = v
		}
	}
	if accept != "" {
		r.Header.Set("Accept", accept)
	}
	r.Body = http.NoBody
	w := capture.New(maxBody)
	a.pipeline.ServeHTTP(w, r)
	if w.Overflow() {
		return answer{}, fmt.Errorf("%s %s: answer larger than %d bytes", method, path, maxBody)
	}
	return answer{status: w.Status(), header: w.Header(), body: w.Body()}, nil
}

// getJSON GETs path and decodes a 200's body into v. 401, 403 and 404 are errNotFound.
func (a *api) getJSON(ctx context.Context, path string, query url.Values, accept string, v any) (answer, error) {
	ans, err := a.do(ctx, http.MethodGet, path, query, accept)
	if err != nil {
		return ans, err
	}
	switch ans.status {
	case http.StatusOK:
	case http.StatusNotFound, http.StatusForbidden, http.StatusUnauthorized, http.StatusBadRequest:
		return ans, errNotFound
	default:
		return ans, fmt.Errorf("GET %s: status %d: %s", path, ans.status, snippet(ans.body))
	}
	if err := json.Unmarshal(ans.body, v); err != nil {
		return ans, fmt.Errorf("GET %s: decoding: %w", path, err)
	}
	return ans, nil
}

func snippet(b []byte) string {
	if len(b) > 200 {
		b = b[:200]
	}
	return strconv.Quote(string(b))
}

// catalog reads one page of the repositories the user may pull, after last; next is
// the last name of the page when there are more.
func (a *api) catalog(ctx context.Context, n int, last string) (names []string, more bool, err error) {
	q := url.Values{"n": {strconv.Itoa(n)}}
	if last != "" {
		q.Set("last", last)
	}
	var body struct {
		Repositories []string `json:"repositories"`
	}
	ans, err := a.getJSON(ctx, "/v2/_catalog", q, "", &body)
	if errors.Is(err, errNotFound) {
		return nil, false, nil // no catalog access: nothing to list
	}
	if err != nil {
		return nil, false, err
	}
	return body.Repositories, strings.Contains(ans.header.Get("Link"), `rel="next"`), nil
}

// tags lists a repository's tags (errNotFound for a repository the user may not pull).
func (a *api) tags(ctx context.Context, name string) ([]string, error) {
	var all []string
	last := ""
	for {
		q := url.Values{"n": {"1000"}}
		if last != "" {
			q.Set("last", last)
		}
		var body struct {
			Tags []string `json:"tags"`
		}
		ans, err := a.getJSON(ctx, "/v2/"+name+"/tags/list", q, "", &body)
		if err != nil {
			return nil, err
		}
		all = append(all, body.Tags...)
		if len(body.Tags) == 0 || !strings.Contains(ans.header.Get("Link"), `rel="next"`) || len(all) >= maxTags {
			return all, nil
		}
		last = body.Tags[len(body.Tags)-1]
	}
}

// maxTags bounds the tags one repository page shows.
const maxTags = 5000

// manifestAccept is every manifest media type the pages can show.
var manifestAccept = strings.Join([]string{
	mtOCIIndex, mtOCIManifest, mtDockerList, mtDockerManifest,
}, ", ")

// manifest GETs a manifest by tag or digest: its bytes, media type and digest.
func (a *api) manifest(ctx context.Context, name, ref string) (raw []byte, mediaType, digest string, err error) {
	ans, err := a.do(ctx, http.MethodGet, "/v2/"+name+"/manifests/"+ref, nil, manifestAccept)
	if err != nil {
		return nil, "", "", err
	}
	switch ans.status {
	case http.StatusOK:
	case http.StatusNotFound, http.StatusForbidden, http.StatusUnauthorized, http.StatusBadRequest:
		return nil, "", "", errNotFound
	default:
		return nil, "", "", fmt.Errorf("GET manifest %s:%s: status %d", name, ref, ans.status)
	}
	return ans.body, ans.header.Get("Content-Type"), ans.header.Get("Docker-Content-Digest"), nil
}

// blob GETs a (small) blob, an image config.
func (a *api) blob(ctx context.Context, name, digest string, v any) error {
	_, err := a.getJSON(ctx, "/v2/"+name+"/blobs/"+digest, nil, "", v)
	return err
}

// referrers lists the manifests that refer to digest (the OCI referrers API).
func (a *api) referrers(ctx context.Context, name, digest string) ([]descriptor, error) {
	var idx struct {
		Manifests []descriptor `json:"manifests"`
	}
	_, err := a.getJSON(ctx, "/v2/"+name+"/referrers/"+digest, nil, mtOCIIndex, &idx)
	if errors.Is(err, errNotFound) {
		return nil, nil // a backend without the referrers API
	}
	return idx.Manifests, err
}

// deleteManifest DELETEs a tag or a manifest.
func (a *api) deleteManifest(ctx context.Context, name, ref string) error {
	ans, err := a.do(ctx, http.MethodDelete, "/v2/"+name+"/manifests/"+ref, nil, "")
	if err != nil {
		return err
	}
	switch {
	case ans.status == http.StatusAccepted || ans.status == http.StatusOK || ans.status == http.StatusNoContent:
		return nil
	case ans.status == http.StatusForbidden || ans.status == http.StatusUnauthorized:
		return errDenied
	case ans.status == http.StatusNotFound:
		return errNotFound
	}
	return fmt.Errorf("DELETE %s:%s: status %d: %s", name, ref, ans.status, snippet(ans.body))
}
