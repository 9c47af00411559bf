// Package health owns the operations listener's two probes: /healthz, the process is up
// and serving (liveness: restart it when this fails), and /readyz, the gateway can do its
// job (readiness: send it traffic): each named Check passes, run concurrently with a
// time limit. Both answer JSON, 200 or 503, and never say more than a check's name and
// its error (the listener is private, but the answers may end up in a dashboard).
//
// It leaves to others what each check looks at (cmd/gateway wires the backend, the
// certificate, users and policy, the audit trail) and where the handlers are served
// (server's operations listener).
package health
