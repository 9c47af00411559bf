// Package gateway owns the request pipeline that stands in front of a registry. Its
// ServeHTTP reads top to bottom: it reads every request once (Classify: endpoint,
// repository, actions, read by distspec as the bundled registry reads them) and refuses
// anything a backend could read differently (escapes, dot segments, "//", names outside
// the spec grammar, form bodies); asks an Authenticator who is calling and an Authorizer
// what they may do, and an optional Admitter whether it may start now (UploadLimit caps
// uploads in flight per principal and in total, admit.go); serves the catalog and docker search filtered to what the caller may
// pull; and forwards exactly the path it judged to a backend: an in-process http.Handler
// (NewInProcess) or a URL through httputil.ReverseProxy (NewUpstream). When a request has been answered, one immutable
// Record (who, what, decision, outcome, status, bytes) goes to the access log and to
// every Observer (metrics, the audit trail), so they all count the same facts.
//
// In token mode (issue 10) it also serves the Docker registry token endpoint and the JWKS
// (NewTokenEndpoint), answers 401s with the bearer challenge (BearerChallenge), allows a
// bearer principal no more than its token's access claim (a request beyond it is a 401
// with error="insufficient_scope"), and hands a backend what it granted each request
// (GrantOf), which NewUpstream can present to the upstream as a token of its own.
//
// It leaves to others: how credentials are checked (auth), how tokens are signed and
// verified (token, behind the TokenIssuer interface), how policy decides (policy),
// the registry itself (registry; never imported here), and listeners, TLS, redirects and
// certificates (server, certs).
package gateway
