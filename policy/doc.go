// Package policy decides authorization with Open Policy Agent: it compiles a Rego policy
// once per load (PrepareForEval), evaluates it per request on plain values (access.Input ->
// access.Decision), reloads it on change keeping the last good one, and runs its Rego tests.
//
// It owns the policy contract, the built-in default policy, policy loading and hot reload.
// It leaves to others: classifying requests into resources (gateway), who the principal is
// and which groups they hold (auth), turning a decision into a 401/403 or a filtered catalog
// (gateway), when files changed and what a failed reload keeps (internal/reload), and
// signals (package server calls Reloader.Reload on SIGHUP).
//
// # Contract
//
// A policy is one or more Rego v1 modules; the serving rules live in package
// portcullis.authz. The input is access.Input as JSON:
//
//	{
//	  "principal": {"name": "alice", "groups": ["dev"], "method": "basic", "claims": {...}},
//	  "request":   {"method": "PUT", "path": "/v2/team/app/manifests/v1",
//	                "client_ip": "10.0.0.7", "user_agent": "docker/27"},
//	  "access":    [{"type": "repository", "name": "team/app", "actions": ["pull", "push"]}]
//	}
//
// principal.method is one of "anonymous", "basic", "bearer", "mtls"; principal.name is ""
// for anonymous; groups is always an array; claims is present only when non-empty. The
// access list is shaped as the Docker token spec's access claim: a cross-repository mount
// asks for push (and pull) on the target and pull on the source; the catalog asks for
// {"type": "registry", "name": "catalog", "actions": ["*"]}.
//
// The policy answers with:
//
//   - granted (required): a set of {"type", "name", "actions": [...]} objects. Several
//     objects for one resource add up; "*" grants every action.
//   - denied (optional): the same shape; removed from what was granted ("*" removes all).
//     It lets a policy say "never" once instead of guarding every grant.
//   - reason (optional): a string, or a set of strings (joined with "; "), for the audit log.
//
// The engine intersects granted minus denied with what was asked, so a policy can never
// grant more than the request asked for, and returns access.Decision. The same answer
// serves the gateway's per-request check and the token issuer's scope intersection.
//
// When the policy gives no reason, the engine writes one naming (up to five) scopes that
// were not granted.
//
// # Speed
//
// A policy is parsed, compiled and prepared once per load; a request costs one Eval. The
// input is built as an ast.Value directly, without a JSON round trip, and holds only the
// parts the policy reads (a policy that never mentions input.request.path does not get
// it). Decisions are cached per Engine (one policy generation, so a reload needs no
// invalidation) in a bounded LRU keyed by those same parts, so all the blob requests of
// one pull are one evaluation. Access lists longer than a few resources (catalog pages)
// are not cached, and a policy calling a non-deterministic builtin (time.now_ns, http.send,
// rand.intn, ...) is evaluated on every request.
package policy
