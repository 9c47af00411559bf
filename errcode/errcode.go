// Package errcode owns the error envelope of the OCI distribution spec:
// {"errors":[{"code","message","detail"}]} served as application/json, and the one table
// that pairs each code with its HTTP status. The bundled registry and the gateway both
// write every client-visible error through it, so a client reads the same shape whichever
// layer refused the request. It depends on the standard library only.
package errcode

import (
	"encoding/json"
	"net/http"
)

// Code is an error code from the distribution spec (plus UNKNOWN and UNAVAILABLE, which
// registries commonly send and clients understand).
type Code string

// The codes of the OCI distribution spec, section "Error Codes".
const (
	BlobUnknown         Code = "BLOB_UNKNOWN"
	BlobUploadInvalid   Code = "BLOB_UPLOAD_INVALID"
	BlobUploadUnknown   Code = "BLOB_UPLOAD_UNKNOWN"
	DigestInvalid       Code = "DIGEST_INVALID"
	ManifestBlobUnknown Code = "MANIFEST_BLOB_UNKNOWN"
	ManifestInvalid     Code = "MANIFEST_INVALID"
	ManifestUnknown     Code = "MANIFEST_UNKNOWN"
	NameInvalid         Code = "NAME_INVALID"
	NameUnknown         Code = "NAME_UNKNOWN"
	SizeInvalid         Code = "SIZE_INVALID"
	Unauthorized        Code = "UNAUTHORIZED"
	Denied              Code = "DENIED"
	Unsupported         Code = "UNSUPPORTED"
	TooManyRequests     Code = "TOOMANYREQUESTS"
	RangeInvalid        Code = "RANGE_INVALID"
	Unavailable         Code = "UNAVAILABLE"
	Unknown             Code = "UNKNOWN"
)

// statusOf is the default HTTP status of each code. It follows distribution's errcode
// registrations so that clients written against registry:2 see the statuses they expect.
var statusOf = map[Code]int{
	BlobUnknown:         http.StatusNotFound,
	BlobUploadInvalid:   http.StatusBadRequest,
	BlobUploadUnknown:   http.StatusNotFound,
	DigestInvalid:       http.StatusBadRequest,
	ManifestBlobUnknown: http.StatusNotFound,
	ManifestInvalid:     http.StatusBadRequest,
	ManifestUnknown:     http.StatusNotFound,
	NameInvalid:         http.StatusBadRequest,
	NameUnknown:         http.StatusNotFound,
	SizeInvalid:         http.StatusBadRequest,
	Unauthorized:        http.StatusUnauthorized,
	Denied:              http.StatusForbidden,
	Unsupported:         http.StatusMethodNotAllowed,
	TooManyRequests:     http.StatusTooManyRequests,
	RangeInvalid:        http.StatusRequestedRangeNotSatisfiable,
	Unavailable:         http.StatusServiceUnavailable,
	Unknown:             http.StatusInternalServerError,
}

// Status is the HTTP status the code is served with by default; UNKNOWN's 500 for a code
// that is not in the table.
func (c Code) Status() int {
	if s, ok := statusOf[c]; ok {
		return s
	}
	return http.StatusInternalServerError
}

// Error is one entry of the envelope. Status, when non-zero, overrides the code's default
// status (a gateway answers UNAVAILABLE with 502 or 504, say). Err is the cause for the
// log; it is never sent to the client.
type Error struct {
	Code    Code   `json:"code"`
	Message string `json:"message"`
	Detail  any    `json:"detail,omitempty"`
	Status  int    `json:"-"`
	Err     error  `json:"-"`
}

// New returns an Error with the code's default status.
func New(code Code, message string) *Error { return &Error{Code: code, Message: message} }

// WithStatus returns a copy of e served with status.
func (e *Error) WithStatus(status int) *Error { c := *e; c.Status = status; return &c }

// WithDetail returns a copy of e with detail.
func (e *Error) WithDetail(detail any) *Error { c := *e; c.Detail = detail; return &c }

// Wrap returns a copy of e that records err for the log.
func (e *Error) Wrap(err error) *Error { c := *e; c.Err = err; return &c }

func (e *Error) Error() string {
	s := string(e.Code) + ": " + e.Message
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

func (e *Error) Unwrap() error { return e.Err }

// HTTPStatus is the status e is served with.
func (e *Error) HTTPStatus() int {
	if e.Status != 0 {
		return e.Status
	}
	return e.Code.Status()
}

type envelope struct {
	Errors []*Error `json:"errors"`
}

// Write serves errs as one envelope with the first error's status. A HEAD request gets the
// headers and status only, as the spec requires of HEAD responses.
func Write(w http.ResponseWriter, r *http.Request, errs ...*Error) {
	if len(errs) == 0 {
		errs = []*Error{New(Unknown, "unknown error")}
	}
	body, _ := json.Marshal(envelope{Errors: errs}) // plain strings and caller-built details
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Del("Content-Length")
	status := errs[0].HTTPStatus()
	if r != nil && r.Method == http.MethodHead {
		w.WriteHeader(status)
		return
	}
	body = append(body, '\n')
	w.WriteHeader(status)
	_, _ = w.Write(body)
}
