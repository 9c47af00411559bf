// Package ui owns the gateway's web pages under /ui/ (issue 15): sign-in with the same
// users as the registry API (a Login: htpasswd passwords, or a trusted issuer's identity
// token), a signed session cookie, CSRF protection, and server-rendered html/template
// pages listing what the signed-in user may pull, the tags and manifests of a
// repository, a delete where the policy grants it, and the audit trail for those the
// policy lets read it. Its templates, stylesheet and script are embedded; every response
// carries a strict Content-Security-Policy.
//
// It holds no registry data and decides nothing itself: every page is built from requests
// to the gateway pipeline (an http.Handler) made as the signed-in user
// (gateway.WithPrincipal), so the same policy judges them, and the same metrics and audit
// trail count them, as requests from docker. It asks the Authorizer only whether to show
// a button (delete) or a link (audit); the pipeline refuses anyway.
//
// It leaves to others: checking passwords and tokens (auth, token: behind Login), the
// policy (policy, behind gateway.Authorizer), the registry (never imported), the audit
// trail's format and verification (audit), and listeners and TLS (server, cmd/gateway).
package ui
