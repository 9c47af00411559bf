package gateway

import "context"

// Auditor records one event per request: the audit trail's hook. It is called
// synchronously once the handlers below it have produced the response, before the
// pipeline returns to net/http, with the request's final RequestScope (principal, route,
// decision, refusal, statuses, bytes): the same facts the access log reads. An error is
// logged; it cannot change a response that has already been written.
type Auditor interface {
	Audit(ctx context.Context, s *RequestScope) error
}
