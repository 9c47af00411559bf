// Package access holds the plain values that cross the walls between the gateway, the
// policy engine and the token issuer: who is asking (Principal), what they ask for
// (Resource, with actions, as in the Docker registry token spec's access claim), about which
// request (Request), and what was granted (Decision). It depends on the standard library
// only and knows nothing of HTTP handlers, Rego or tokens.
package access

import (
	"errors"
	"slices"
)

// Actions on a repository resource, as in the Docker token spec.
const (
	Pull   = "pull"
	Push   = "push"
	Delete = "delete"
	// All is the wildcard action ("*"): it grants every action on the resource.
	All = "*"
)

// Resource types, as in the Docker token spec.
const (
	TypeRepository = "repository"
	// TypeRegistry with name "catalog" and action "*" is the catalog listing.
	TypeRegistry = "registry"
)

// Resource is one resource and the actions asked for (or granted) on it.
type Resource struct {
	Type    string   `json:"type"`
	Name    string   `json:"name"`
	Actions []string `json:"actions"`
}

// Authentication methods a Principal can carry.
const (
	MethodAnonymous = "anonymous"
	MethodBasic     = "basic"
	MethodBearer    = "bearer"
	MethodMTLS      = "mtls"
)

// Principal is the authenticated caller; the zero value is not valid, use Anonymous.
type Principal struct {
	// Name is the user name; empty for the anonymous principal.
	Name string `json:"name"`
	// Groups the principal belongs to (from the groups file or token claims).
	Groups []string `json:"groups"`
	// Method is how the principal authenticated: one of the Method* constants.
	Method string `json:"method"`
	// Claims are the verified token claims, for bearer principals.
	Claims map[string]any `json:"claims,omitempty"`
	// Limit, when set, is the most the principal's credentials allow whatever the policy
	// grants: a registry access token's access claim (issue 10). Nil when the credentials
	// carry no limit (a password, a client certificate, an identity token): the policy
	// alone decides. The policy never sees it; the gateway applies it (see Within).
	Limit *Decision `json:"-"`
}

// Anonymous is the principal of a request that carries no credentials.
func Anonymous() Principal { return Principal{Method: MethodAnonymous, Groups: []string{}} }

// IsAnonymous reports whether p carries no identity.
func (p Principal) IsAnonymous() bool { return p.Method == MethodAnonymous || p.Method == "" }

// Request is what the policy may know of the HTTP request.
type Request struct {
	Method    string `json:"method"`
	Path      string `json:"path"`
	ClientIP  string `json:"client_ip"`
	UserAgent string `json:"user_agent"`
}

// Input is everything one authorization decision is made on.
type Input struct {
	Principal Principal  `json:"principal"`
	Request   Request    `json:"request"`
	Access    []Resource `json:"access"`
}

// Decision is the outcome: the actions granted on each resource asked for (possibly fewer
// than asked), and a reason for the audit log.
type Decision struct {
	Granted []Resource `json:"granted"`
	Reason  string     `json:"reason,omitempty"`
}

// Allows reports whether every action of want is granted on want's resource.
func (d Decision) Allows(want Resource) bool {
	for _, a := range want.Actions {
		if !d.allowsAction(want.Type, want.Name, a) {
			return false
		}
	}
	return true
}

// AllowsAll reports whether every resource in wants is allowed.
func (d Decision) AllowsAll(wants []Resource) bool {
	for _, w := range wants {
		if !d.Allows(w) {
			return false
		}
	}
	return true
}

func (d Decision) allowsAction(typ, name, action string) bool {
	for _, g := range d.Granted {
		if g.Type == typ && g.Name == name &&
			(slices.Contains(g.Actions, action) || slices.Contains(g.Actions, All)) {
			return true
		}
	}
	return false
}

// ErrBadCredentials is returned by an authenticator when the request carries credentials
// that do not verify. It is never a technical failure: those are other errors.
var ErrBadCredentials = errors.New("bad credentials")

// BadCredentialsError is an ErrBadCredentials that names the account the credentials
// claimed (the user of a Basic header, the subject of a token), so refusals can be
// attributed and failed logins counted per account. Account is what the client sent and
// may be anything, a mistyped password included: escape it wherever it is written, and
// never treat it as verified.
type BadCredentialsError struct {
	Account string
	Err     error // what was wrong, for the log
}

func (e *BadCredentialsError) Error() string {
	if e.Err == nil {
		return ErrBadCredentials.Error()
	}
	return e.Err.Error()
}

// Is makes errors.Is(err, ErrBadCredentials) true.
func (e *BadCredentialsError) Is(target error) bool { return target == ErrBadCredentials }

func (e *BadCredentialsError) Unwrap() error { return e.Err }

// ClaimedAccount returns the account a BadCredentialsError in err's chain names, or "".
func ClaimedAccount(err error) string {
	var e *BadCredentialsError
	if errors.As(err, &e) {
		return e.Account
	}
	return ""
}
