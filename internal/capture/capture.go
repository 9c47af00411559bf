// Package capture owns the one http.ResponseWriter that in-process sub-requests are
// answered into: the gateway's catalog walk (pages of the backend's catalog) and the web
// UI (requests through the pipeline as the signed-in user) read an answer whole, up to a
// cap, once the handler returns.
package capture

import (
	"bytes"
	"errors"
	"net/http"
)

// ErrTooLarge is what Write returns once the body would pass the cap.
var ErrTooLarge = errors.New("capture: answer too large")

// Writer keeps an answer's status, headers and body, up to Max bytes of body; a
// handler writing more gets ErrTooLarge and Overflow reports it. The zero value is not
// usable: use New.
type Writer struct {
	header   http.Header
	status   int
	body     bytes.Buffer
	max      int
	overflow bool
}

// New returns a Writer keeping at most max bytes of body.
func New(max int) *Writer { return &Writer{header: http.Header{}, max: max} }

// Header is the answer's header map.
func (w *Writer) Header() http.Header { return w.header }

// WriteHeader records the first final status; informational ones (1xx) are ignored.
func (w *Writer) WriteHeader(code int) {
	if w.status == 0 && code >= 200 {
		w.status = code
	}
}

// Write appends to the body, refusing what would pass the cap.
func (w *Writer) Write(p []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	if w.body.Len()+len(p) > w.max {
		w.overflow = true
		return 0, ErrTooLarge
	}
	return w.body.Write(p)
}

// Flush is a no-op: the body is read once the handler returns.
func (w *Writer) Flush() {}

// Status is the answer's status: 200 when the handler set none.
func (w *Writer) Status() int {
	if w.status == 0 {
		return http.StatusOK
	}
	return w.status
}

// Body is what was kept of the body.
func (w *Writer) Body() []byte { return w.body.Bytes() }

// Overflow reports whether the handler wrote more than the cap.
func (w *Writer) Overflow() bool { return w.overflow }
