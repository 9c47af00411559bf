package gateway

import (
	"mime"
	"net/http"
	"strings"
)

// Headers the gateway sets or refuses to pass on.
const (
	headerAPIVersion = "Docker-Distribution-Api-Version"
	apiVersion       = "registry/2.0"
	headerRequestID  = "X-Request-Id"
	// headerNoSniff tells browsers to take every answer for the Content-Type it names.
	headerNoSniff = "X-Content-Type-Options"
)

// credentialHeaders are the client's credentials: the gateway consumed them, and the
// backend never sees them.
var credentialHeaders = [...]string{"Authorization", "Proxy-Authorization", "Cookie"}

// forwardingHeaders are what a client may send to pose as a proxy, or to make a backend
// framework read another URL or method than the one the gateway judged (a POST authorized
// as push must not run as a DELETE behind a framework that honours method overrides); they
// are dropped, and the X-Forwarded-* ones set again from what the gateway established.
var forwardingHeaders = [...]string{
	"Forwarded", "X-Forwarded-For", "X-Forwarded-Host", "X-Forwarded-Proto", "X-Forwarded-Port",
	"X-Forwarded-Prefix", "X-Forwarded-Server", "X-Forwarded-Ssl", "X-Real-Ip", "X-Original-Url", "X-Rewrite-Url",
	"X-Http-Method-Override", "X-Http-Method", "X-Method-Override",
}

// prepareOutbound strips the client's credentials and forwarding headers from h and sets
// X-Forwarded-For/-Proto/-Host and X-Request-Id from what the gateway established about
// the client, so the backend builds client-facing URLs and sees the same client address
// as the log.
func prepareOutbound(h http.Header, c *clientInfo) {
	for _, k := range credentialHeaders {
		h.Del(k)
	}
	for _, k := range forwardingHeaders {
		h.Del(k)
	}
	var keys [4]string
	vals := make([]string, 0, len(keys)) // one allocation for the values, not one each
	set := func(k, v string) {
		keys[len(vals)] = k
		vals = append(vals, v)
	}
	if xff := c.forwardedFor(); xff != "" {
		set("X-Forwarded-For", xff)
	}
	set("X-Forwarded-Proto", c.proto)
	if c.host != "" {
		set("X-Forwarded-Host", c.host)
	}
	if c.id != "" {
		set(headerRequestID, c.id)
	}
	setHeaders(h, vals, keys[:len(vals)]...)
}

// setHeaders sets each of keys, which must be in canonical form, to the value at its index
// in vals, as h.Set would, but over vals' backing array instead of a slice allocated for
// each: the full slice expressions keep an Add to one header from writing into the next,
// as http.Header.Clone does with its shared array.
func setHeaders(h http.Header, vals []string, keys ...string) {
	for i, k := range keys {
		h[k] = vals[i : i+1 : i+1]
	}
}

// neutralizeActiveContent replaces a Content-Type a browser would render as a document
// (HTML, SVG, XML, scripts) with application/octet-stream. The registry API never serves
// documents, but a backend may pass on what a client pushed (issue 12: a manifest whose
// mediaType was text/html came back as a page, script included, from the registry's
// origin). It keeps text/plain and every application/ type that is not XML, script or PDF.
// An answer without a Content-Type gets application/octet-stream too: net/http would
// otherwise sniff one from the first bytes of the body, which the client pushed.
func neutralizeActiveContent(h http.Header, status int) {
	ct := h.Get("Content-Type")
	if ct == "" {
		if status != http.StatusNoContent && status != http.StatusNotModified {
			h.Set("Content-Type", "application/octet-stream")
		}
		return
	}
	t, _, err := mime.ParseMediaType(ct)
	if err == nil && inertType(t) {
		return
	}
	h.Set("Content-Type", "application/octet-stream")
}

func inertType(t string) bool {
	if t == "text/plain" {
		return true
	}
	if !strings.HasPrefix(t, "application/") || strings.HasSuffix(t, "+xml") {
		return false
	}
	switch t {
	case "application/xml", "application/javascript", "application/ecmascript",
		"application/x-javascript", "application/pdf":
		return false
	}
	return true
}
