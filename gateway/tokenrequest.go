package gateway

import (
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/portcullis/portcullis/access"
)

// Limits of a token request: a form body holds at most a refresh token (about 1.5 KiB)
// and scopes; and a client asks for a few resources (a pull asks one, a mount two).
const (
	maxTokenBody   = 64 << 10
	maxTokenScopes = 32
)

// Grant types of the token endpoint.
const (
	grantBasic    = "basic"         // GET: a Basic header, or none (anonymous)
	grantPassword = "password"      // POST (OAuth2 resource owner password)
	grantRefresh  = "refresh_token" // POST (OAuth2 refresh token)
)

// tokenRequest is one request to the token endpoint, read the same way for the Docker
// GET flow (query parameters, Basic credentials) and the OAuth2 POST flow (a form).
type tokenRequest struct {
	grant    string
	service  string
	scopes   []access.Resource // merged: one entry per resource, its actions in order of first mention
	account  string            // GET: the account the client says it logs in as
	clientID string
	offline  bool   // a refresh token is wanted
	username string // password grant
	password string
	refresh  string // refresh_token grant
}

// tokenError is a refusal of a token request: the HTTP status, the OAuth2 error code
// (RFC 6749 5.2) and a message for the client.
type tokenError struct {
	status  int
	code    string
	message string
}

func badTokenRequest(code, format string, args ...any) *tokenError {
	return &tokenError{status: http.StatusBadRequest, code: code, message: fmt.Sprintf(format, args...)}
}

// parseTokenRequest reads a GET (Docker registry token spec: service, repeated scope,
// account, client_id, offline_token) or POST (OAuth2 form: grant_type, client_id,
// service, space-separated scope, access_type, username/password or refresh_token).
// Single-valued parameters given twice are refused, as OAuth2 requires, so two readers
// cannot disagree about which one counts.
func parseTokenRequest(r *http.Request) (tokenRequest, *tokenError) {
	var q url.Values
	var req tokenRequest
	switch r.Method {
	case http.MethodGet:
		var err error
		if q, err = url.ParseQuery(r.URL.RawQuery); err != nil {
			return req, badTokenRequest("invalid_request", "malformed query")
		}
		req.grant = grantBasic
	case http.MethodPost:
		ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
		if ct != "application/x-www-form-urlencoded" {
			return req, badTokenRequest("invalid_request", "POST a form (application/x-www-form-urlencoded)")
		}
		body, err := io.ReadAll(io.LimitReader(r.Body, maxTokenBody+1))
		if err != nil {
			return req, badTokenRequest("invalid_request", "reading the form failed")
		}
		if len(body) > maxTokenBody {
			return req, badTokenRequest("invalid_request", "form larger than 64 KiB")
		}
		if q, err = url.ParseQuery(string(body)); err != nil {
			return req, badTokenRequest("invalid_request", "malformed form")
		}
		if r.URL.RawQuery != "" {
			return req, badTokenRequest("invalid_request", "POST parameters belong in the form, not the query")
		}
	default:
		return req, &tokenError{status: http.StatusMethodNotAllowed, code: "invalid_request", message: "use GET or POST"}
	}
	one := func(name string) (string, *tokenError) {
		if len(q[name]) > 1 {
			return "", badTokenRequest("invalid_request", "parameter %s given more than once", name)
		}
		return q.Get(name), nil
	}
	var e *tokenError
	for _, f := range []struct {
		name string
		dst  *string
	}{{"service", &req.service}, {"client_id", &req.clientID}, {"account", &req.account},
		{"username", &req.username}, {"password", &req.password}, {"refresh_token", &req.refresh}} {
		if *f.dst, e = one(f.name); e != nil {
			return req, e
		}
	}
	if r.Method == http.MethodPost {
		grant, e := one("grant_type")
		if e != nil {
			return req, e
		}
		switch grant {
		case grantPassword:
			if req.username == "" {
				return req, badTokenRequest("invalid_request", "grant_type=password needs username and password")
			}
		case grantRefresh:
			if req.refresh == "" {
				return req, badTokenRequest("invalid_request", "grant_type=refresh_token needs refresh_token")
			}
		case "":
			return req, badTokenRequest("invalid_request", "grant_type is required (password or refresh_token)")
		default:
			return req, badTokenRequest("unsupported_grant_type", "grant_type %q: use password or refresh_token", grant)
		}
		req.grant = grant
		if req.clientID == "" {
			return req, badTokenRequest("invalid_request", "client_id is required")
		}
		accessType, e := one("access_type")
		if e != nil {
			return req, e
		}
		req.offline = accessType == "offline"
	} else {
		if req.username != "" || req.password != "" || req.refresh != "" || q.Has("grant_type") {
			return req, badTokenRequest("invalid_request", "credentials go in the Authorization header, or in a POSTed form")
		}
		offline, e := one("offline_token")
		if e != nil {
			return req, e
		}
		req.offline = offline == "true"
	}
	scopes, e := parseScopeParams(q["scope"])
	if e != nil {
		return req, e
	}
	req.scopes = scopes
	return req, nil
}

// parseScopeParams reads every scope parameter (each may hold several, space-separated,
// as OAuth2 writes them) and merges repeated resources, so the policy is asked once per
// resource.
func parseScopeParams(values []string) ([]access.Resource, *tokenError) {
	var out []access.Resource
	n := 0
	for _, v := range values {
		rs, err := access.ParseScopes(v)
		if err != nil {
			return nil, badTokenRequest("invalid_scope", "%v", err)
		}
		for _, r := range rs {
			if n++; n > maxTokenScopes {
				return nil, badTokenRequest("invalid_scope", "more than %d scopes", maxTokenScopes)
			}
			i := slices.IndexFunc(out, func(o access.Resource) bool { return o.Type == r.Type && o.Name == r.Name })
			if i < 0 {
				out = append(out, access.Resource{Type: r.Type, Name: r.Name, Actions: slices.Clone(r.Actions)})
				continue
			}
			for _, a := range r.Actions {
				if !slices.Contains(out[i].Actions, a) {
					out[i].Actions = append(out[i].Actions, a)
				}
			}
		}
	}
	return out, nil
}

// scopeString is the space-separated scope list of a grant, as OAuth2's scope answer.
func scopeString(rs []access.Resource) string {
	parts := make([]string, len(rs))
	for i, r := range rs {
		parts[i] = r.Scope()
	}
	return strings.Join(parts, " ")
}
