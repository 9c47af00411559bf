// Package gateway owns the request pipeline that stands in front of a registry: it reads
// every request once (Classify: endpoint, repository, actions), refuses anything the
// backend could read differently (escapes, dot segments, "//", names outside the spec
// grammar), asks an Authenticator who is calling and an Authorizer what they may do,
// serves the catalog and docker search filtered to what the caller may pull, and forwards
// exactly the path it judged to a backend: an in-process http.Handler (NewInProcess) or a
// URL through httputil.ReverseProxy (NewUpstream). Every request gets one RequestScope
// (id, client address, principal, route, decision, statuses, bytes) that the access log
// and an optional Auditor read.
//
// It leaves to others: how credentials are checked (auth), how policy decides (policy),
// the registry itself (registry; never imported here), certificates (certs), and
// listeners, TLS, HTTP/2, HTTPS redirects and HSTS (server).
package gateway
